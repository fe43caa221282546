package main

import (
	"encoding/binary"
	"sync"
	"time"
)

// Reply rules (DESIGN Clarifications). Pure: the socket code asks Allowed before every sendto.
//   from dhcp (67): to 255.255.255.255:<client port>; to a unicast address seen recently as the source
//                   or ciaddr of a request, :<client port>; to a giaddr seen recently, :<server port>.
//   from pxe (4011): only to an ip:port seen as a source on 4011 recently.
//   from tftp (69): never (transfers use the engine's own unprivileged ephemeral sockets).
//   from dhcp-client (68): only the probe's own BOOTREQUEST DISCOVER/RELEASE broadcast to :<server port>.
// "Recently" is RecentWindow. Client/server ports are 68/67 when dhcp is bound on 67, otherwise the
// bound dhcp port + 1 / the bound dhcp port (high-port tests mirror the 67/68 pair).

const RecentWindow = 120 * time.Second

type endpoint struct {
	ip   [4]byte
	port uint16
}

type Rules struct {
	mu         sync.Mutex // Seen runs on receive goroutines, Allowed on the frame loop
	ServerPort uint16
	ClientPort uint16
	now        func() time.Time
	clients    map[[4]byte]time.Time  // sources/ciaddrs of requests on dhcp
	relays     map[[4]byte]time.Time  // giaddrs of requests on dhcp
	pxePeers   map[endpoint]time.Time // sources on pxe
}

func NewRules(dhcpPort uint16, now func() time.Time) *Rules {
	return &Rules{ServerPort: dhcpPort, ClientPort: dhcpPort + 1, now: now,
		clients: map[[4]byte]time.Time{}, relays: map[[4]byte]time.Time{}, pxePeers: map[endpoint]time.Time{}}
}

var zeroIP = [4]byte{}
var bcast = [4]byte{255, 255, 255, 255}

// Seen records an incoming datagram.
func (r *Rules) Seen(role byte, src [4]byte, srcPort uint16, payload []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.now()
	switch role {
	case RoleDhcp:
		if src != zeroIP {
			r.clients[src] = t
		}
		if len(payload) >= 28 && payload[0] == 1 {
			var ci, gi [4]byte
			copy(ci[:], payload[12:16])
			copy(gi[:], payload[24:28])
			if ci != zeroIP {
				r.clients[ci] = t
			}
			if gi != zeroIP {
				r.relays[gi] = t
			}
		}
	case RolePxe:
		r.pxePeers[endpoint{src, srcPort}] = t
	}
	r.expire(t)
}

func (r *Rules) expire(t time.Time) {
	if len(r.clients)+len(r.relays)+len(r.pxePeers) >= 4096 {
		prune(r.clients, t)
		prune(r.relays, t)
		prune(r.pxePeers, t)
	}
}

func prune[K comparable](m map[K]time.Time, t time.Time) {
	for k, v := range m {
		if t.Sub(v) > RecentWindow {
			delete(m, k)
		}
	}
}

func (r *Rules) recent(seen time.Time, ok bool) bool {
	return ok && r.now().Sub(seen) <= RecentWindow
}

// Allowed says whether the helper may send this datagram.
func (r *Rules) Allowed(d DgramOut) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch d.Role {
	case RoleDhcp:
		if d.DstPort == r.ClientPort {
			if d.Dst == bcast {
				return true
			}
			t, ok := r.clients[d.Dst]
			return r.recent(t, ok)
		}
		if d.DstPort == r.ServerPort {
			t, ok := r.relays[d.Dst]
			return r.recent(t, ok)
		}
		return false
	case RolePxe:
		t, ok := r.pxePeers[endpoint{d.Dst, d.DstPort}]
		return r.recent(t, ok)
	case RoleDhcpClient:
		if d.Dst != bcast || d.DstPort != r.ServerPort {
			return false
		}
		mt := dhcpMessageType(d.Payload)
		return len(d.Payload) > 0 && d.Payload[0] == 1 && (mt == 1 || mt == 7)
	}
	return false
}

// dhcpMessageType returns option 53 (RFC 2132 §9.6) or 0.
func dhcpMessageType(p []byte) byte {
	if len(p) < 240 || binary.BigEndian.Uint32(p[236:240]) != 0x63825363 {
		return 0
	}
	for i := 240; i < len(p); {
		code := p[i]
		if code == 255 {
			return 0
		}
		if code == 0 {
			i++
			continue
		}
		if i+1 >= len(p) {
			return 0
		}
		l := int(p[i+1])
		if i+2+l > len(p) {
			return 0
		}
		if code == 53 && l == 1 {
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
