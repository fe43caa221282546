// Frame contract between the helper and app/transport/frames.ts (keep both files mirrored).
//
// Every frame: u32 big-endian length L (of what follows), u8 protocol version, u8 type, body (L-2 bytes).
// Golden frames in test/fixtures/helper-frames/ are decoded by both test suites.
package main

import (
	"encoding/binary"
	"errors"
	"io"
)

const (
	ProtocolVersion = 1
	// MaxFrame bounds a frame: a 65507-byte UDP payload plus the largest header, so a peer cannot make
	// the helper allocate without limit.
	MaxFrame = 65507 + 64
)

// Frame types.
const (
	THello    = 1 // helper -> app, first frame; body: utf-8 agent string
	TBind     = 2 // app -> helper, once; body: u8 ifname len, ifname, u8 n, n x (u8 role, u16 port)
	TBound    = 3 // helper -> app; body: u32 ifindex, u8 n, n x (u8 role, u16 port)
	TDgramIn  = 4 // helper -> app; body: u8 role, u32 ifindex, src ip[4], u16 src port, dst ip[4], payload
	TDgramOut = 5 // app -> helper; body: u8 role, dst ip[4], u16 dst port, payload
	TError    = 6 // either way; body: u8 code, u8 fatal (1 = helper exits), utf-8 message
	TBye      = 7 // app -> helper: close sockets and exit; empty body
)

// Roles (the TS Channel names): dhcp 67; dhcp-client 68, receive-only except the probe's own
// DISCOVER/RELEASE; tftp 69, never sends; pxe 4011.
const RoleDhcp, RoleDhcpClient, RoleTftp, RolePxe = 1, 2, 3, 4

// WellKnownPort per role.
var WellKnownPort = map[byte]uint16{RoleDhcp: 67, RoleDhcpClient: 68, RoleTftp: 69, RolePxe: 4011}

// Error codes.
const EMalformed, EPortInUse, EPermission, EIfaceMissing, EIfaceDown, ESendRefused, EIO, EBadPort = 1, 2, 3, 4, 5, 6, 7, 8

var ErrMalformed = errors.New("malformed frame")

type Frame struct {
	Type byte
	Body []byte
}

type RolePort struct {
	Role byte
	Port uint16
}

type Bind struct {
	Iface string
	Ports []RolePort
}

type DgramIn struct {
	Role    byte
	Ifindex uint32
	Src     [4]byte
	SrcPort uint16
	Dst     [4]byte
	Payload []byte
}

type DgramOut struct {
	Role    byte
	Dst     [4]byte
	DstPort uint16
	Payload []byte
}

// ReadFrame reads one frame; any structural problem is ErrMalformed (EOF passes through as io.EOF).
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		if err == io.EOF {
			return Frame{}, io.EOF
		}
		return Frame{}, ErrMalformed
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 2 || n > MaxFrame {
		return Frame{}, ErrMalformed
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Frame{}, ErrMalformed
	}
	if buf[0] != ProtocolVersion || buf[1] < THello || buf[1] > TBye {
		return Frame{}, ErrMalformed
	}
	return Frame{Type: buf[1], Body: buf[2:]}, nil
}

func EncodeFrame(t byte, body []byte) []byte {
	out := make([]byte, 6+len(body))
	binary.BigEndian.PutUint32(out, uint32(2+len(body)))
	out[4] = ProtocolVersion
	out[5] = t
	copy(out[6:], body)
	return out
}

func validRole(r byte) bool { return r >= RoleDhcp && r <= RolePxe }

func DecodeBind(b []byte) (Bind, error) {
	if len(b) < 2 {
		return Bind{}, ErrMalformed
	}
	l := int(b[0])
	if l == 0 || l > 15 || len(b) < 1+l+1 {
		return Bind{}, ErrMalformed
	}
	bd := Bind{Iface: string(b[1 : 1+l])}
	n := int(b[1+l])
	rest := b[2+l:]
	if n == 0 || len(rest) != 3*n {
		return Bind{}, ErrMalformed
	}
	for i := 0; i < n; i++ {
		rp := RolePort{Role: rest[3*i], Port: binary.BigEndian.Uint16(rest[3*i+1:])}
		if !validRole(rp.Role) {
			return Bind{}, ErrMalformed
		}
		bd.Ports = append(bd.Ports, rp)
	}
	return bd, nil
}

func EncodeBound(ifindex uint32, ports []RolePort) []byte {
	b := make([]byte, 4, 5+3*len(ports))
	binary.BigEndian.PutUint32(b, ifindex)
	b = append(b, byte(len(ports)))
	for _, p := range ports {
		b = append(b, p.Role, byte(p.Port>>8), byte(p.Port))
	}
	return EncodeFrame(TBound, b)
}

func EncodeDgramIn(d DgramIn) []byte {
	b := make([]byte, 15, 15+len(d.Payload))
	b[0] = d.Role
	binary.BigEndian.PutUint32(b[1:], d.Ifindex)
	copy(b[5:9], d.Src[:])
	binary.BigEndian.PutUint16(b[9:], d.SrcPort)
	copy(b[11:15], d.Dst[:])
	return EncodeFrame(TDgramIn, append(b, d.Payload...))
}

func DecodeDgramOut(b []byte) (DgramOut, error) {
	if len(b) < 7 || !validRole(b[0]) {
		return DgramOut{}, ErrMalformed
	}
	d := DgramOut{Role: b[0], DstPort: binary.BigEndian.Uint16(b[5:7]), Payload: b[7:]}
	copy(d.Dst[:], b[1:5])
	return d, nil
}

func EncodeError(code byte, fatal bool, msg string) []byte {
	f := byte(0)
	if fatal {
		f = 1
	}
	return EncodeFrame(TError, append([]byte{code, f}, msg...))
}
