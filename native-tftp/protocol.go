//go:build linux

package main

// TFTP on the wire, as far as the data phase needs it: the opcodes a transfer socket sees (RFC 1350
// §5), ERROR packets, and the RFC 2347 options the engine negotiated. Requests are parsed and options
// negotiated in the engine (app/engines/tftp/packet.ts, negotiate.ts); this side only checks what it
// is handed.

import "fmt"

const (
	opData  = 3
	opAck   = 4
	opError = 5

	errIllegal    = 4 // RFC 1350 "Illegal TFTP operation"; EDK2 answers an OACK it rejects with it
	errUnknownTID = 5

	minBlksize    = 8     // RFC 2348
	maxBlksize    = 65464 // RFC 2348
	maxWindowsize = 65535 // RFC 7440
)

// option is one negotiated RFC 2347 option, as the engine echoed it in the OACK.
type option struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type negotiated struct {
	Blksize    int      `json:"blksize"`
	Windowsize int      `json:"windowsize"`
	Oack       []option `json:"oack"`
}

// valid says whether the negotiated sizes are ones a transfer can run with.
func (n negotiated) valid() bool {
	return n.Blksize >= minBlksize && n.Blksize <= maxBlksize && n.Windowsize >= 1 && n.Windowsize <= maxWindowsize
}

// optionsText lists the options sent, for the log and reason when a client rejects them
// ("blksize=1468 tsize=1000", as transfer.ts writes it).
func optionsText(options []option) string {
	text := ""
	for i, o := range options {
		if i > 0 {
			text += " "
		}
		text += o.Name + "=" + o.Value
	}
	return text
}

func errorPacket(code int, text string) []byte {
	return append(append([]byte{0, opError, byte(code >> 8), byte(code)}, text...), 0)
}

// opcode of a datagram of at least 4 bytes.
func opcode(packet []byte) int { return int(packet[0])<<8 | int(packet[1]) }

// wireBlock is the u16 block number of an ACK (it wraps past 65535; the transfer maps it back to the
// absolute block).
func wireBlock(packet []byte) int64 { return int64(packet[2])<<8 | int64(packet[3]) }

// decodeError reads an ERROR packet of at least 4 bytes: its code and its message, sanitised.
func decodeError(packet []byte) (int, string) {
	text := packet[4:]
	for i, c := range text {
		if c == 0 {
			text = text[:i]
			break
		}
	}
	return int(packet[2])<<8 | int(packet[3]), sanitise(text)
}

// dataHeader writes the DATA header of `block` into a packet buffer (the u16 wraps to 0 past 65535).
func dataHeader(packet []byte, block int64) {
	packet[0], packet[1] = 0, opData
	packet[2], packet[3] = byte(block>>8), byte(block)
}

// sanitise mirrors sanitiseName in packet.ts (latin1 text, control characters escaped, 128 max).
func sanitise(text []byte) string {
	out := make([]rune, 0, len(text))
	for _, c := range text {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			out = append(out, []rune(fmt.Sprintf(`\x%02x`, c))...)
		} else {
			out = append(out, rune(c))
		}
		if len(out) >= 128 {
			return string(out[:128]) + "…"
		}
	}
	return string(out)
}
