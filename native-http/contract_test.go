//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The body contract under golden lines shared with test/unit/http-body-protocol.test.ts: the messages
// this side writes are encoded here and must match byte for byte (UPDATE_GOLDEN=1 rewrites them; the
// TypeScript test must then still pass); the commands the engine writes are encoded there and must
// decode here with no field left over.
const contractDir = "../test/fixtures/http-body-protocol"

func fromGoldens() map[string][]byte {
	return map[string][]byte{
		"from-progress.json": encodeMessage(fromBodies{T: "progress", ID: 7, Bytes: 524288}),
		"from-done.json":     encodeMessage(fromBodies{T: "done", ID: 7, Bytes: 1048576}),
		"from-failed.json": encodeMessage(fromBodies{T: "failed", ID: 7, Bytes: 65536, Code: failAborted,
			Reason: "client closed the connection before the transfer completed"}),
		"from-failed-read.json": encodeMessage(fromBodies{T: "failed", ID: 8, Bytes: 0, Code: failReadError,
			Reason: "the file changed after it was checked"}),
	}
}

func TestGoldenMessagesFromThisSide(t *testing.T) {
	for name, got := range fromGoldens() {
		path := filepath.Join(contractDir, name)
		if os.Getenv("UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (UPDATE_GOLDEN=1 writes it)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s drifted:\n got %s\nwant %s", name, got, want)
		}
	}
}

func TestGoldenCommandsFromTheEngineDecode(t *testing.T) {
	names, _ := filepath.Glob(filepath.Join(contractDir, "to-*.json"))
	if len(names) < 3 {
		t.Fatalf("want the engine's goldens (conn, body, close), found %v", names)
	}
	kinds := map[string]bool{}
	for _, path := range names {
		line, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decodeOrder(bytes.TrimRight(line, "\n"))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		kinds[m.T] = true
		// Re-encoded, it says the same: no field the engine sends is lost here.
		again, _ := json.Marshal(m)
		var a, b map[string]any
		json.Unmarshal(line, &a)
		json.Unmarshal(again, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: decoded as %s", filepath.Base(path), again)
		}
	}
	for _, k := range []string{"conn", "body", "close"} {
		if !kinds[k] {
			t.Errorf("no golden for %q", k)
		}
	}
}

func TestProtocolGolden(t *testing.T) {
	var p struct {
		Version      int      `json:"version"`
		FailureCodes []string `json:"failureCodes"`
	}
	raw, err := os.ReadFile(filepath.Join(contractDir, "protocol.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	codes := append([]string(nil), failureCodes...)
	sort.Strings(codes)
	sort.Strings(p.FailureCodes)
	if p.Version != Protocol || strings.Join(codes, ",") != strings.Join(p.FailureCodes, ",") {
		t.Errorf("protocol.json says %+v; this side speaks %d with %v", p, Protocol, codes)
	}
}

func TestBadCommandsAreRefused(t *testing.T) {
	for _, line := range []string{
		`{"t":"body","conn":1,"id":2,"path":"/x","identity":{"size":10},"pieces":[[5,6]]}`, // past the end
		`{"t":"body","conn":1,"id":2,"path":"/x","identity":{"size":10},"pieces":[[-2,1]]}`,
		`{"t":"body","conn":1,"id":2,"path":"/x","identity":{"size":10},"pieces":[[0,0]]}`,
		`{"t":"body","conn":1,"id":2,"path":"","identity":{"size":10},"pieces":[]}`,
		`{"t":"conn","conn":0}`,
		`{"t":"conn","conn":1,"extra":true}`,
		`{"t":"launch"}`,
		`not json`,
	} {
		if _, err := decodeOrder([]byte(line)); err == nil {
			t.Errorf("accepted %s", line)
		}
	}
}
