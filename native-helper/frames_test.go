package main

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const goldenDir = "../test/fixtures/helper-frames"

func goldens() map[string][]byte {
	return map[string][]byte{
		"hello.bin":     EncodeFrame(THello, []byte("pxe-desk-helper/1")),
		"bind.bin":      EncodeBind(Bind{Iface: "eth0", Ports: []RolePort{{RoleDhcp, 67}, {RolePxe, 4011}}}),
		"bound.bin":     EncodeBound(2, []RolePort{{RoleDhcp, 67}, {RolePxe, 4011}}),
		"dgram-in.bin":  EncodeDgramIn(Dgram{Role: RoleDhcp, Ifindex: 2, SrcPort: 68, Dst: bcast, Payload: []byte{1, 2, 3}}),
		"dgram-out.bin": EncodeDgramOut(Dgram{Role: RoleDhcp, Dst: bcast, DstPort: 68, Payload: []byte{2, 1, 6}}),
		"error.bin":     EncodeError(EPortInUse, true, "bind udp port 67 on eth0: address already in use"),
		"bye.bin":       EncodeFrame(TBye, nil),
	}
}

// UPDATE_GOLDEN=1 go test rewrites the shared fixtures (then the TS test must still pass).
func TestGoldenFrames(t *testing.T) {
	for name, want := range goldens() {
		p := filepath.Join(goldenDir, name)
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
			t.Errorf("%s: encoder drifted from golden\n got %x\nwant %x", name, want, got)
		}
		f, err := ReadFrame(bytes.NewReader(got))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch f.Type {
		case TBind:
			b, err := DecodeBind(f.Body)
			if err != nil || b.Iface != "eth0" || len(b.Ports) != 2 || b.Ports[1].Port != 4011 {
				t.Errorf("bind decoded to %+v %v", b, err)
			}
		case TDgramOut:
			d, err := DecodeDgramOut(f.Body)
			if err != nil || d.DstPort != 68 || d.Dst != bcast || !bytes.Equal(d.Payload, []byte{2, 1, 6}) {
				t.Errorf("dgram-out decoded to %+v %v", d, err)
			}
		}
	}
}

func TestMalformed(t *testing.T) {
	cases := map[string][]byte{
		"short length": {0, 0},
		"zero length":  {0, 0, 0, 0},
		"oversized":    {0x7f, 0, 0, 0, 1, 1},
		"bad version":  {0, 0, 0, 2, 9, 1},
		"bad type":     {0, 0, 0, 2, 1, 99},
		"truncated":    {0, 0, 0, 10, 1, 5, 1},
	}
	for name, b := range cases {
		if _, err := ReadFrame(bytes.NewReader(b)); err != ErrMalformed {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if _, err := ReadFrame(bytes.NewReader(nil)); err != io.EOF {
		t.Errorf("empty: %v", err)
	}
	for _, b := range [][]byte{{}, {0, 0}, {16, 'a'}, {4, 'e', 't', 'h', '0', 1, 9, 0, 67}, {4, 'e', 't', 'h', '0', 2, 1, 0, 67}} {
		if _, err := DecodeBind(b); err == nil {
			t.Errorf("bind %x accepted", b)
		}
	}
	if _, err := DecodeDgramOut([]byte{1, 255, 255, 255, 255, 0}); err == nil {
		t.Error("short dgram-out accepted")
	}
}

func TestPortAllowList(t *testing.T) {
	for _, c := range []struct {
		role byte
		port uint16
		ok   bool
	}{{RoleDhcp, 67, true}, {RolePxe, 4011, true}, {RoleTftp, 69, true}, {RoleDhcpClient, 68, true},
		{RoleDhcp, 69, false}, {RoleTftp, 22, false}, {RoleDhcp, 1023, false}, {RoleDhcp, 1067, true}, {9, 67, false}} {
		if PortAllowed(c.role, c.port) != c.ok {
			t.Errorf("role %d port %d: want %v", c.role, c.port, c.ok)
		}
	}
}

func dhcpPacket(op, msgType byte, ciaddr, giaddr [4]byte) []byte {
	p := make([]byte, 244)
	p[0] = op
	copy(p[12:], ciaddr[:])
	copy(p[24:], giaddr[:])
	copy(p[236:], []byte{0x63, 0x82, 0x53, 0x63, 53, 1, msgType, 255})
	return append(p, 0)
}

func TestReplyRules(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRules(67, func() time.Time { return now })
	client := [4]byte{10, 0, 0, 5}
	relay := [4]byte{10, 1, 0, 1}
	stranger := [4]byte{10, 0, 0, 9}
	out := func(role byte, ip [4]byte, port uint16, p []byte) Dgram {
		return Dgram{Role: role, Dst: ip, DstPort: port, Payload: p}
	}
	offer := dhcpPacket(2, 2, zeroIP, zeroIP)
	if !r.Allowed(out(RoleDhcp, bcast, 68, offer)) {
		t.Error("broadcast :68 from 67 refused")
	}
	if r.Allowed(out(RoleDhcp, client, 68, offer)) || r.Allowed(out(RoleDhcp, relay, 67, offer)) {
		t.Error("unicast before any request allowed")
	}
	r.Seen(RoleDhcp, relay, 67, dhcpPacket(1, 1, client, relay))
	if !r.Allowed(out(RoleDhcp, client, 68, offer)) || !r.Allowed(out(RoleDhcp, relay, 67, offer)) {
		t.Error("ciaddr:68 / giaddr:67 refused after request")
	}
	if r.Allowed(out(RoleDhcp, stranger, 68, offer)) || r.Allowed(out(RoleDhcp, client, 69, offer)) || r.Allowed(out(RoleDhcp, bcast, 67, offer)) {
		t.Error("other destinations allowed from 67")
	}
	if r.Allowed(out(RolePxe, client, 68, offer)) {
		t.Error("pxe to unseen peer allowed")
	}
	r.Seen(RolePxe, client, 68, nil)
	if !r.Allowed(out(RolePxe, client, 68, offer)) || r.Allowed(out(RolePxe, client, 69, offer)) {
		t.Error("pxe peer rule")
	}
	r.Seen(RoleTftp, client, 2000, nil)
	if r.Allowed(out(RoleTftp, client, 2000, offer)) {
		t.Error("tftp role may never send")
	}
	if !r.Allowed(out(RoleDhcpClient, bcast, 67, dhcpPacket(1, 1, zeroIP, zeroIP))) || !r.Allowed(out(RoleDhcpClient, bcast, 67, dhcpPacket(1, 7, zeroIP, zeroIP))) {
		t.Error("probe DISCOVER/RELEASE refused")
	}
	if r.Allowed(out(RoleDhcpClient, bcast, 67, dhcpPacket(1, 3, zeroIP, zeroIP))) || r.Allowed(out(RoleDhcpClient, relay, 67, dhcpPacket(1, 1, zeroIP, zeroIP))) || r.Allowed(out(RoleDhcpClient, bcast, 67, dhcpPacket(2, 1, zeroIP, zeroIP))) {
		t.Error("68 may send only DISCOVER/RELEASE broadcasts")
	}
	now = now.Add(RecentWindow + time.Second)
	if r.Allowed(out(RoleDhcp, client, 68, offer)) || r.Allowed(out(RolePxe, client, 68, offer)) {
		t.Error("stale peers still allowed")
	}
	hp := NewRules(1067, func() time.Time { return now })
	if !hp.Allowed(out(RoleDhcp, bcast, 1068, offer)) || hp.Allowed(out(RoleDhcp, bcast, 68, offer)) {
		t.Error("test-port pair 1067/1068")
	}
}

// Random, truncated, oversized byte streams: the reader must return an error or a frame, never panic,
// and the decoders must never panic on any body.
func TestFuzzFrames(t *testing.T) {
	rng := rand.New(rand.NewSource(6))
	g := goldens()
	var seeds [][]byte
	for _, b := range g {
		seeds = append(seeds, b)
	}
	for i := 0; i < 20000; i++ {
		var b []byte
		switch i % 3 {
		case 0:
			b = make([]byte, rng.Intn(64))
			rng.Read(b)
		case 1:
			s := seeds[rng.Intn(len(seeds))]
			b = append([]byte{}, s[:rng.Intn(len(s)+1)]...)
		case 2:
			s := seeds[rng.Intn(len(seeds))]
			b = append([]byte{}, s...)
			b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
		}
		r := bytes.NewReader(b)
		for {
			f, err := ReadFrame(r)
			if err != nil {
				break
			}
			_, _ = DecodeBind(f.Body)
			if d, err := DecodeDgramOut(f.Body); err == nil {
				NewRules(67, time.Now).Allowed(d)
			}
		}
		dhcpMessageType(b)
	}
}

func FuzzReadFrame(f *testing.F) {
	for _, b := range goldens() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if fr, err := ReadFrame(bytes.NewReader(b)); err == nil {
			_, _ = DecodeBind(fr.Body)
			_, _ = DecodeDgramOut(fr.Body)
		}
	})
}

// Encoders for app -> helper frames: the helper itself only decodes these (TS encodes them).
func EncodeBind(bd Bind) []byte {
	b := []byte{byte(len(bd.Iface))}
	b = append(b, bd.Iface...)
	b = append(b, byte(len(bd.Ports)))
	for _, p := range bd.Ports {
		b = append(b, p.Role, byte(p.Port>>8), byte(p.Port))
	}
	return EncodeFrame(TBind, b)
}

func EncodeDgramOut(d Dgram) []byte {
	b := []byte{d.Role, d.Dst[0], d.Dst[1], d.Dst[2], d.Dst[3], byte(d.DstPort >> 8), byte(d.DstPort)}
	return EncodeFrame(TDgramOut, append(b, d.Payload...))
}

// A flood of distinct (spoofed) sources must not grow the peer memory without bound nor make each
// datagram cost more: the last MaxPeers..2*MaxPeers peers stay answerable, older ones are forgotten.
func TestReplyRulesBoundedUnderFlood(t *testing.T) {
	now := time.Unix(1000, 0)
	r := NewRules(67, func() time.Time { return now })
	ip := func(i int) [4]byte { return [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)} }
	allowed := func(i int) bool { return r.Allowed(Dgram{Role: RolePxe, Dst: ip(i), DstPort: 4011}) }
	const n = 10*MaxPeers + 17
	for i := 0; i < n; i++ {
		r.Seen(RolePxe, ip(i), 4011, nil)
		if len(r.seen) > MaxPeers || len(r.old) > MaxPeers {
			t.Fatalf("after %d peers: %d + %d remembered", i+1, len(r.seen), len(r.old))
		}
	}
	for i := n - MaxPeers; i < n; i++ {
		if !allowed(i) {
			t.Fatalf("peer %d of the last %d refused", i, MaxPeers)
		}
	}
	if allowed(0) || allowed(n-3*MaxPeers) {
		t.Error("a peer three generations old is still allowed")
	}
	now = now.Add(RecentWindow + time.Second)
	if allowed(n - 1) {
		t.Error("stale peer allowed")
	}
}
