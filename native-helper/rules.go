package main

import (
	"encoding/binary"
	"time"
)

// Reply rules (table in docs/helper.md, "Reply rules"). Pure: main asks Allowed before every
// sendto. No lock: the one relay goroutine (relay.go) calls both Seen and Allowed. Client/server ports
// are 68/67 when dhcp is bound on 67, otherwise the bound dhcp port + 1 / the bound dhcp port
// (high-port tests mirror the 67/68 pair).

// MaxPeers bounds one generation of remembered peers (Seen).
const RecentWindow, MaxPeers = 120 * time.Second, 4096

// peer is a destination a role may answer: {dhcp, client, client port}, {dhcp, relay, server port}
// or {pxe, source, source port}. One table keyed this way holds every rule that depends on the past.
type peer struct {
	role byte
	ip   [4]byte
	port uint16
}

type Rules struct {
	ServerPort uint16
	ClientPort uint16
	now        func() time.Time
	seen, old  map[peer]time.Time // two generations: see Seen
}

func NewRules(dhcpPort uint16, now func() time.Time) *Rules {
	return &Rules{ServerPort: dhcpPort, ClientPort: dhcpPort + 1, now: now, seen: map[peer]time.Time{}}
}

var zeroIP, bcast = [4]byte{}, [4]byte{255, 255, 255, 255}

// Seen records an incoming datagram.
func (r *Rules) Seen(role byte, src [4]byte, srcPort uint16, payload []byte) {
	t := r.now()
	// Bounded in memory and in work per datagram, even under a flood of spoofed sources: at MaxPeers
	// the current generation becomes the old one, and the one before is dropped whole.
	if len(r.seen) >= MaxPeers {
		r.seen, r.old = map[peer]time.Time{}, r.seen
	}
	add := func(p peer) {
		if p.ip != zeroIP {
			r.seen[p] = t
		}
	}
	switch role {
	case RoleDhcp:
		add(peer{RoleDhcp, src, r.ClientPort})
		if len(payload) >= 28 && payload[0] == 1 { // BOOTREQUEST: ciaddr at 12, giaddr at 24
			add(peer{RoleDhcp, *(*[4]byte)(payload[12:16]), r.ClientPort})
			add(peer{RoleDhcp, *(*[4]byte)(payload[24:28]), r.ServerPort})
		}
	case RolePxe:
		add(peer{RolePxe, src, srcPort})
	}
}

// Allowed says whether the helper may send this datagram.
func (r *Rules) Allowed(d Dgram) bool {
	switch d.Role {
	case RoleDhcp: // to 255.255.255.255:<client port>, or a client / relay seen recently (below)
		if d.Dst == bcast && d.DstPort == r.ClientPort {
			return true
		}
	case RoleDhcpClient: // only the probe's own BOOTREQUEST DISCOVER/RELEASE, broadcast to the servers
		// A message type means a full BOOTP header, so Payload[0] (op) exists.
		mt := dhcpMessageType(d.Payload)
		return (mt == 1 || mt == 7) && d.Payload[0] == 1 && d.Dst == bcast && d.DstPort == r.ServerPort
	case RolePxe: // only to an ip:port seen as a source on 4011 recently (below)
	default: // tftp never sends: transfers use the engine's own unprivileged ephemeral sockets
		return false
	}
	seen, ok := r.seen[peer{d.Role, d.Dst, d.DstPort}] // "recently" is RecentWindow
	if !ok {
		seen, ok = r.old[peer{d.Role, d.Dst, d.DstPort}]
	}
	return ok && r.now().Sub(seen) <= RecentWindow
}

// dhcpMessageType returns option 53 (RFC 2132 §9.6) of a BOOTP packet with the magic cookie, or 0.
func dhcpMessageType(p []byte) byte {
	if len(p) < 240 || binary.BigEndian.Uint32(p[236:240]) != 0x63825363 {
		return 0
	}
	for i := 240; i+1 < len(p) && p[i] != 255; {
		if p[i] == 0 { // pad
			i++
			continue
		}
		l := int(p[i+1])
		if p[i] == 53 && l == 1 && i+2 < len(p) {
			return p[i+2]
		}
		i += 2 + l
	}
	return 0
}

// PortAllowed: the role's well-known port, or any unprivileged port >= 1024 (tests; needs no privilege,
// so allowing it grants nothing).
func PortAllowed(role byte, port uint16) bool {
	return validRole(role) && (port == WellKnownPort[role] || port >= 1024)
}
