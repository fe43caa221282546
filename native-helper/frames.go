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

// MaxFrame bounds a frame: a 65507-byte UDP payload plus the largest header, so a peer cannot make the
// helper allocate without limit.
const ProtocolVersion, MaxFrame = 1, 65507 + 64

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

// Dgram is one relayed datagram: dgram-in carries Ifindex, Src:SrcPort and Dst, the header destination
// (e.g. 255.255.255.255); dgram-out carries Dst:DstPort.
type Dgram struct {
	Role             byte
	Ifindex          uint32
	Src, Dst         [4]byte
	SrcPort, DstPort uint16
	Payload          []byte
}

// ReadFrame reads one frame; any structural problem is ErrMalformed (EOF passes through as io.EOF).
func ReadFrame(r io.Reader) (Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
		return Frame{}, io.EOF
	} else if err != nil {
		return Frame{}, ErrMalformed
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n < 2 || n > MaxFrame {
		return Frame{}, ErrMalformed
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil || buf[0] != ProtocolVersion || buf[1] < THello || buf[1] > TBye {
		return Frame{}, ErrMalformed
	}
	return Frame{Type: buf[1], Body: buf[2:]}, nil
}

func EncodeFrame(t byte, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 6+len(body)), uint32(2+len(body)))
	return append(append(out, ProtocolVersion, t), body...)
}

func validRole(r byte) bool { return r >= RoleDhcp && r <= RolePxe }

func DecodeBind(b []byte) (Bind, error) {
	if len(b) < 2 || b[0] == 0 || b[0] > 15 || len(b) < 2+int(b[0]) {
		return Bind{}, ErrMalformed
	}
	l := int(b[0])
	bd := Bind{Iface: string(b[1 : 1+l])}
	n, rest := int(b[1+l]), b[2+l:]
	if n == 0 || len(rest) != 3*n {
		return Bind{}, ErrMalformed
	}
	for ; len(rest) > 0; rest = rest[3:] {
		rp := RolePort{Role: rest[0], Port: binary.BigEndian.Uint16(rest[1:3])}
		if !validRole(rp.Role) {
			return Bind{}, ErrMalformed
		}
		bd.Ports = append(bd.Ports, rp)
	}
	return bd, nil
}

func EncodeBound(ifindex uint32, ports []RolePort) []byte {
	b := append(binary.BigEndian.AppendUint32(nil, ifindex), byte(len(ports)))
	for _, p := range ports {
		b = binary.BigEndian.AppendUint16(append(b, p.Role), p.Port)
	}
	return EncodeFrame(TBound, b)
}

func EncodeDgramIn(d Dgram) []byte {
	b := binary.BigEndian.AppendUint32([]byte{d.Role}, d.Ifindex)
	b = binary.BigEndian.AppendUint16(append(b, d.Src[:]...), d.SrcPort)
	return EncodeFrame(TDgramIn, append(append(b, d.Dst[:]...), d.Payload...))
}

func DecodeDgramOut(b []byte) (Dgram, error) {
	if len(b) < 7 || !validRole(b[0]) {
		return Dgram{}, ErrMalformed
	}
	return Dgram{Role: b[0], Dst: *(*[4]byte)(b[1:5]), DstPort: binary.BigEndian.Uint16(b[5:7]), Payload: b[7:]}, nil
}

func EncodeError(code byte, fatal bool, msg string) []byte {
	body := []byte{code, 0}
	if fatal {
		body[1] = 1
	}
	return EncodeFrame(TError, append(body, msg...))
}
