//go:build linux

package main

// The body contract (app/engines/http/body-protocol.ts), version 1, under golden lines in
// test/fixtures/http-body-protocol/ shared with test/unit/http-body-protocol.test.ts. A change of
// shape bumps Protocol here and HTTP_BODY_PROTOCOL there.

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Protocol is the contract version; the engine passes its own with --protocol and a mismatch exits 2.
const Protocol = 1

// Failure codes a body reports: a subset of the engine's TransferFailureCode, so the engine maps nothing.
const (
	failAborted   = "aborted"    // the client went away, or the engine closed the connection
	failReadError = "read-error" // the file could not be opened or read, changed identity, or shrank
	failInternal  = "internal"   // an order this side cannot carry out (no such connection, bad pieces)
)

var failureCodes = []string{failAborted, failReadError, failInternal}

// identity is the file version the engine confined and stat'ed (fs.Stats numbers); a descriptor is used
// only for that version. A field the engine could not state exactly (an inode past 2^53) is absent.
type identity struct {
	Dev  *float64 `json:"dev,omitempty"`
	Ino  *float64 `json:"ino,omitempty"`
	Size int64    `json:"size"`
}

// toBodies is every command the engine sends, decoded strictly (an unknown field is a contract drift).
type toBodies struct {
	T    string `json:"t"`
	Conn int64  `json:"conn"`
	// body only
	ID       int64      `json:"id,omitempty"`
	Path     string     `json:"path,omitempty"`
	Identity *identity  `json:"identity,omitempty"`
	Pieces   [][2]int64 `json:"pieces,omitempty"`
	// Head is the response head (status line and headers, ASCII) to send before the pieces, when the
	// engine leaves that to this side too; absent when the engine wrote it itself.
	Head string `json:"head,omitempty"`
}

// fromBodies is every message this side sends.
type fromBodies struct {
	T      string `json:"t"`
	ID     int64  `json:"id"`
	Bytes  int64  `json:"bytes"`
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func decodeOrder(line []byte) (*toBodies, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var m toBodies
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("undecodable command: %v", err)
	}
	switch m.T {
	case "conn", "close":
		if m.Conn <= 0 {
			return nil, fmt.Errorf("%s without a connection number", m.T)
		}
	case "body":
		if m.Conn <= 0 || m.ID <= 0 || m.Path == "" || m.Identity == nil {
			return nil, fmt.Errorf("body needs conn, id, path and identity")
		}
		for _, p := range m.Pieces {
			// [at, length]: at < 0 sends length zero bytes (a sparse extent of an ISO member).
			if p[1] <= 0 || p[0] < -1 || (p[0] >= 0 && p[0]+p[1] > m.Identity.Size) {
				return nil, fmt.Errorf("piece %v outside the file", p)
			}
		}
	default:
		return nil, fmt.Errorf("unknown command %q", m.T)
	}
	return &m, nil
}

func encodeMessage(m fromBodies) []byte {
	b, _ := json.Marshal(m) // plain struct of strings and numbers: cannot fail
	return append(b, '\n')
}
