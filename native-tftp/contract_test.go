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
	"time"
)

// The worker contract under golden lines shared with test/unit/tftp-worker-protocol.test.ts: the
// messages this pump writes are encoded here and must match byte for byte (UPDATE_GOLDEN=1 rewrites
// them; the TypeScript test must then still pass); the commands the engine writes are encoded there
// and must decode here with no field left over.
const contractDir = "../test/fixtures/worker-protocol"

func int64p(v int64) *int64 { return &v }

// fromPumpGoldens encodes each message kind the pump writes, through the pump's own send (and the
// transfer's own failure and event code where the values are deterministic).
func fromPumpGoldens(t *testing.T) map[string][]byte {
	t.Helper()
	encode := func(write func(p *pump)) []byte {
		var out bytes.Buffer
		p := newPump([4]byte{127, 0, 0, 1}, time.Hour, &out)
		write(p)
		return out.Bytes()
	}
	transferAt := func(p *pump, base int64) *transfer {
		tr := &transfer{p: p, id: "tftp-7", blksize: 512, size: 1000}
		tr.base.Store(base)
		return tr
	}
	return map[string][]byte{
		"from-event-start.json": encode(func(p *pump) {
			p.send(eventMsg{Kind: kindEvent, ID: "tftp-7", Type: "start"})
		}),
		"from-event-progress.json": encode(func(p *pump) {
			p.send(eventMsg{Kind: kindEvent, ID: "tftp-7", Type: "progress", Bytes: 512, Rate: int64p(1024000)})
		}),
		"from-event-done.json": encode(func(p *pump) {
			p.send(eventMsg{Kind: kindEvent, ID: "tftp-7", Type: "done", Bytes: 1000, Rate: int64p(2000000)})
		}),
		"from-event-done-probe.json": encode(func(p *pump) {
			p.send(eventMsg{Kind: kindEvent, ID: "tftp-7", Type: "done", Bytes: 0, Rate: int64p(0),
				Extra: map[string]any{"probe": true, "clientCode": 8}})
		}),
		"from-event-failed.json": encode(func(p *pump) {
			tr := transferAt(p, 2)
			tr.emit(*tr.failed(failClientSilent, "client stopped acknowledging at block 2"))
		}),
		"from-event-failed-oack.json": encode(func(p *pump) {
			tr := transferAt(p, 0)
			tr.emit(*tr.failed(failOptionRefused,
				"client rejected the option reply (error 4: bad option); options sent: blksize=1468"))
		}),
		"from-event-failed-unsent.json": encode(func(p *pump) {
			transferAt(p, 1).emit(ending{kind: "failed", reason: "cannot open transfer socket: address in use",
				failure: &failure{Code: failInternal}})
		}),
		"from-refused.json": encode(func(p *pump) { p.send(refused("tftp-8", "cannot open (ENOENT)")) }),
		"from-stale.json":   encode(func(p *pump) { p.send(stale("tftp-9")) }),
		"from-closed.json":  encode(func(p *pump) { p.send(closed("tftp-7", 3, 1, 0)) }),
		"from-opened.json":  encode(func(p *pump) { p.send(opened(2)) }),
		"from-log.json": encode(func(p *pump) {
			p.send(logLine("debug", "client ended transfer after OACK",
				map[string]any{"code": 8, "message": "tsize probe", "options": "tsize=1000"}))
		}),
		"from-stopped.json": encode(func(p *pump) { p.send(stopped()) }),
	}
}

// toPumpGoldens is what each command the engine writes must decode to.
func toPumpGoldens() map[string]toPump {
	file := toPump{Kind: kindStart, ID: "tftp-1", Key: "10.0.0.5:2070", File: "ipxe.efi",
		Path: "/srv/netboot/ipxe.efi", Identity: &identity{Dev: 2049, Ino: 131074, Size: 1000, MtimeMs: 1700000000000.5},
		Neg: negotiated{Blksize: 1468, Windowsize: 4, Oack: []option{{"blksize", "1468"}, {"tsize", "1000"},
			{"windowsize", "4"}}},
		Oack:         []byte("\x00\x06blksize\x001468\x00tsize\x001000\x00windowsize\x004\x00"),
		RetransmitMs: 1000, MaxRetries: 5}
	file.Client.Address, file.Client.Port = "10.0.0.5", 2070
	data := toPump{Kind: kindStart, ID: "tftp-2", Key: "10.0.0.6:1024", File: "menu.ipxe",
		Data: []byte("#!ipxe\nchain http://10.0.0.1/boot.ipxe\n"), Neg: negotiated{Blksize: 512, Windowsize: 1,
			Oack: []option{}}, RetransmitMs: 2000, MaxRetries: 3}
	data.Client.Address, data.Client.Port = "10.0.0.6", 1024
	member := toPump{Kind: kindStart, ID: "tftp-3", Key: "10.0.0.7:3000", File: "isos/ubuntu.iso/casper/vmlinuz",
		Path:     "/srv/netboot/isos/ubuntu.iso",
		Identity: &identity{Dev: 2049, Ino: 131075, Size: 8388608, MtimeMs: 1700000000000},
		Extents:  []extent{{Offset: 1048576, Length: 2048}, {Offset: 0, Length: 1000, Sparse: true}},
		Neg:      negotiated{Blksize: 512, Windowsize: 1, Oack: []option{{"tsize", "3048"}}},
		Oack:     []byte("\x00\x06tsize\x003048\x00"), RetransmitMs: 1000, MaxRetries: 5}
	member.Client.Address, member.Client.Port = "10.0.0.7", 3000
	return map[string]toPump{
		"to-start-file.json":   file,
		"to-start-member.json": member,
		"to-start-data.json":   data,
		"to-resend.json":       {Kind: kindResend, ID: "tftp-1"},
		"to-supersede.json":    {Kind: kindSupersede, ID: "tftp-1"},
		"to-stop.json":         {Kind: kindStop},
	}
}

func TestContractGoldensFromPump(t *testing.T) {
	for name, want := range fromPumpGoldens(t) {
		p := filepath.Join(contractDir, name)
		if os.Getenv("UPDATE_GOLDEN") == "1" {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the pump's encoding drifted from the golden\n pump   %s golden %s", name, want, got)
		}
		// Each golden is one line, and every field in it is one the pump's message types know.
		if bytes.Count(got, []byte("\n")) != 1 || !bytes.HasSuffix(got, []byte("\n")) {
			t.Errorf("%s: not one line", name)
		}
		var kind struct{ Kind string }
		json.Unmarshal(got, &kind)
		target := map[string]any{kindEvent: &eventMsg{}, kindRefused: &refusedMsg{}, kindStale: &staleMsg{},
			kindClosed: &closedMsg{}, kindOpened: &openedMsg{}, kindLog: &logMsg{}, kindStopped: &stoppedMsg{}}[kind.Kind]
		if target == nil {
			t.Errorf("%s: unknown kind %q", name, kind.Kind)
			continue
		}
		strictDecode(t, name, got, target)
	}
}

func TestContractGoldensToPump(t *testing.T) {
	for name, want := range toPumpGoldens() {
		line, err := os.ReadFile(filepath.Join(contractDir, name))
		if err != nil {
			t.Fatal(err)
		}
		var got toPump
		strictDecode(t, name, line, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decoded to\n%+v\nwant\n%+v", name, got, want)
		}
	}
}

// strictDecode fails on a field the Go type does not have: the engine added something the pump ignores.
func strictDecode(t *testing.T, name string, line []byte, target any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(line))
	d.DisallowUnknownFields()
	if err := d.Decode(target); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

// Every kind each way has a golden, and every golden is checked here; the version and the failure
// codes are the TypeScript side's.
func TestContractCoversEveryKindAndVersion(t *testing.T) {
	entries, err := os.ReadDir(contractDir)
	if err != nil {
		t.Fatal(err)
	}
	from, to := fromPumpGoldens(t), toPumpGoldens()
	kinds := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if _, ok := from[name]; ok {
			var k struct{ Kind string }
			json.Unmarshal(from[name], &k)
			kinds[k.Kind] = true
		} else if m, ok := to[name]; ok {
			kinds[m.Kind] = true
		} else if name != "protocol.json" {
			t.Errorf("golden %s is not checked by the Go test", name)
		}
	}
	for _, k := range []string{kindStart, kindResend, kindSupersede, kindStop, kindEvent, kindRefused, kindStale,
		kindClosed, kindOpened, kindLog, kindStopped} {
		if !kinds[k] {
			t.Errorf("no golden for kind %q", k)
		}
	}
	raw, err := os.ReadFile(filepath.Join(contractDir, "protocol.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Version      int      `json:"version"`
		FailureCodes []string `json:"failureCodes"`
	}
	strictDecode(t, "protocol.json", raw, &meta)
	if meta.Version != Protocol {
		t.Errorf("protocol.json says version %d, the pump speaks %d", meta.Version, Protocol)
	}
	ours := []string{failClientSilent, failLastBlockUnacked, failClientError, failOptionRefused, failReadError,
		failSuperseded, failInternal}
	theirs := append([]string(nil), meta.FailureCodes...)
	sort.Strings(ours)
	sort.Strings(theirs)
	if strings.Join(ours, ",") != strings.Join(theirs, ",") {
		t.Errorf("failure codes: pump %v, engine %v", ours, theirs)
	}
}
