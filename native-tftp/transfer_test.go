//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math/rand"
	"net"
	"strings"
	"testing"
	"time"
)

// newTestPump runs a pump on 127.0.0.1 whose messages arrive on the returned channel; commands go in
// as JSON lines through the returned writer.
func newTestPump(t *testing.T) (io.WriteCloser, <-chan map[string]any) {
	t.Helper()
	outR, outW := io.Pipe()
	inR, inW := io.Pipe()
	p := newPump([4]byte{127, 0, 0, 1}, time.Hour, outW)
	done := make(chan struct{})
	go func() { p.serve(inR); close(done) }()
	messages := make(chan map[string]any, 1024)
	go func() {
		lines := bufio.NewScanner(outR)
		for lines.Scan() {
			var m map[string]any
			if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
				t.Errorf("pump wrote a line that is not JSON: %q", lines.Text())
			}
			messages <- m
		}
	}()
	t.Cleanup(func() {
		inW.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("pump did not end after stdin closed")
		}
		outW.Close()
	})
	return inW, messages
}

func command(t *testing.T, in io.Writer, m map[string]any) {
	t.Helper()
	b, _ := json.Marshal(m)
	if _, err := in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, messages <-chan map[string]any, kind string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-messages:
			if m["kind"] == kind {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q message", kind)
		}
	}
}

// wantFailure checks a failed event's structured failure (the engine reads it, never the reason text).
func wantFailure(t *testing.T, e map[string]any, code string, block int) {
	t.Helper()
	f, ok := e["failure"].(map[string]any)
	if !ok || f["code"] != code || f["block"] != float64(block) {
		t.Fatalf("failure %v, want code %q at block %d", e["failure"], code, block)
	}
}

func client(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func start(id string, c *net.UDPConn, data []byte, blksize, windowsize int) map[string]any {
	return map[string]any{"kind": "start", "id": id, "key": id, "file": "f",
		"client": map[string]any{"address": "127.0.0.1", "port": c.LocalAddr().(*net.UDPAddr).Port},
		"data":   data, "neg": map[string]any{"blksize": blksize, "windowsize": windowsize, "oack": []any{}},
		"retransmitMs": 200, "maxRetries": 2}
}

func read(t *testing.T, c *net.UDPConn) ([]byte, *net.UDPAddr) {
	t.Helper()
	buf := make([]byte, 70000)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n], from
}

func ack(c *net.UDPConn, to *net.UDPAddr, block int) {
	c.WriteToUDP([]byte{0, opAck, byte(block >> 8), byte(block)}, to)
}

// T15: at blksize 8, 70 000 blocks wrap the u16 block number to 0 and every byte still arrives in order.
func TestLockstepRolloverDeliversEveryByte(t *testing.T) {
	in, messages := newTestPump(t)
	c := client(t)
	data := make([]byte, 70000*8+3)
	rand.New(rand.NewSource(1)).Read(data)
	command(t, in, start("t1", c, data, 8, 1))
	var got []byte
	for block := 1; ; block++ {
		packet, from := read(t, c)
		if packet[1] != opData || int(packet[2])<<8|int(packet[3]) != block&0xffff {
			t.Fatalf("block %d: got header % x", block, packet[:4])
		}
		got = append(got, packet[4:]...)
		ack(c, from, block&0xffff)
		if len(packet) < 12 {
			break
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, not the %d sent", len(got), len(data))
	}
	done := next(t, messages, "event")
	for done["type"] != "done" {
		done = next(t, messages, "event")
	}
	if done["bytes"] != float64(len(data)) {
		t.Fatalf("done event says %v bytes", done["bytes"])
	}
	closed := next(t, messages, "closed")
	if closed["sent"] != float64(70001) {
		t.Fatalf("closed says %v packets sent", closed["sent"])
	}
}

// RFC 7440: a window of 4; an ACK short of the window end resends from the block after it; a
// duplicate ACK resends nothing (T12); a stranger gets ERROR 5 (T16).
func TestWindowGoBackNAndStranger(t *testing.T) {
	in, messages := newTestPump(t)
	c := client(t)
	data := bytes.Repeat([]byte("abcdefgh"), 10) // 10 blocks of 8, then an empty 11th
	m := start("w", c, data, 8, 4)
	m["retransmitMs"] = 10000 // only ACKs move this transfer: no timer resend inside the test
	command(t, in, m)
	var from *net.UDPAddr
	for want := 1; want <= 4; want++ {
		var packet []byte
		packet, from = read(t, c)
		if int(packet[3]) != want {
			t.Fatalf("window: got block %d, want %d", packet[3], want)
		}
	}
	stranger := client(t)
	ack(stranger, from, 1)
	if e, _ := read(t, stranger); e[1] != opError || e[3] != errUnknownTID {
		t.Fatalf("stranger got % x", e)
	}
	ack(c, from, 2) // blocks 3 and 4 "lost": the next window starts at 3
	for want := 3; want <= 6; want++ {
		if packet, _ := read(t, c); int(packet[3]) != want {
			t.Fatalf("after ACK 2: got block %d, want %d", packet[3], want)
		}
	}
	ack(c, from, 2) // old ACK: nothing is resent on it
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, _, err := c.ReadFromUDP(make([]byte, 100)); err == nil {
		t.Fatalf("a duplicate ACK made the pump send %d bytes", n)
	}
	ack(c, from, 6)
	for want := 7; want <= 10; want++ {
		read(t, c)
	}
	ack(c, from, 10)
	if last, _ := read(t, c); len(last) != 4 || last[3] != 11 {
		t.Fatalf("final block: % x", last)
	}
	ack(c, from, 11)
	for e := next(t, messages, "event"); e["type"] != "done"; e = next(t, messages, "event") {
	}
}

// A client that goes silent: DATA is resent on timeouts only, then the transfer fails with a reason.
func TestSilentClientFails(t *testing.T) {
	in, messages := newTestPump(t)
	c := client(t)
	// Two blocks: with only the final ACK missing it would count as done (T14).
	command(t, in, start("s", c, bytes.Repeat([]byte("x"), 600), 512, 1))
	for i := 0; i < 3; i++ { // the first send and maxRetries (2) resends
		if packet, _ := read(t, c); packet[3] != 1 {
			t.Fatalf("got % x", packet)
		}
	}
	e := next(t, messages, "event")
	for e["type"] != "failed" {
		e = next(t, messages, "event")
	}
	if !strings.Contains(e["reason"].(string), "stopped acknowledging at block 1") {
		t.Fatalf("reason %q", e["reason"])
	}
	wantFailure(t, e, failClientSilent, 1)
}

// T14's other side: a client that acknowledges the previous block again after every copy of the last
// one never received it, so running out of retries there is a failure, not a lost final ACK.
func TestLastBlockStillAskedForFails(t *testing.T) {
	in, messages := newTestPump(t)
	c := client(t)
	command(t, in, start("a", c, bytes.Repeat([]byte("x"), 600), 512, 1))
	_, from := read(t, c)
	ack(c, from, 1)
	for i := 0; i < 3; i++ { // the first send and maxRetries (2) resends, each answered with ACK 1
		if packet, _ := read(t, c); packet[3] != 2 {
			t.Fatalf("got % x", packet)
		}
		ack(c, from, 1)
	}
	e := next(t, messages, "event")
	for e["type"] != "failed" && e["type"] != "done" {
		e = next(t, messages, "event")
	}
	if e["type"] != "failed" || !strings.Contains(e["reason"].(string), "never received the last block (2)") {
		t.Fatalf("event %v", e)
	}
	wantFailure(t, e, failLastBlockUnacked, 2)
}

// Bad commands never stop the pump: they are logged; an unknown transfer's resend is "stale".
func TestBadCommandsAreLoggedAndIgnored(t *testing.T) {
	in, messages := newTestPump(t)
	in.Write([]byte("{not json\n"))
	if m := next(t, messages, "log"); m["level"] != "warn" {
		t.Fatalf("log %v", m)
	}
	command(t, in, map[string]any{"kind": "start", "id": "x", "client": map[string]any{"address": "nope", "port": 1}})
	if m := next(t, messages, "refused"); m["id"] != "x" {
		t.Fatalf("refused %v", m)
	}
	command(t, in, map[string]any{"kind": "resend", "id": "gone"})
	if m := next(t, messages, "stale"); m["id"] != "gone" {
		t.Fatalf("stale %v", m)
	}
	command(t, in, map[string]any{"kind": "stop"})
	next(t, messages, "stopped")
}

func TestSanitiseMatchesTheEngine(t *testing.T) {
	if got := sanitise([]byte("a\x1b[2Jb\x7f\xe9")); got != `a\x1b[2Jb\x7fé` {
		t.Fatalf("got %q", got)
	}
	if got := sanitise(bytes.Repeat([]byte("x"), 200)); got != strings.Repeat("x", 128)+"…" {
		t.Fatalf("long name: %q", got)
	}
}

// Stop and supersede end waiting transfers at once on both socket kinds: with a 10 s retransmit
// interval, only a wake-up (shutdown(2) for blocking sockets, a past deadline for polled ones) can
// end them within seconds.
func TestWakeEndsWaitsOnBothSocketKinds(t *testing.T) {
	in, messages := newTestPump(t)
	ids := []string{"a", "b", "c", "d", "e", "f"} // blockingSockets (4) blocking, then two polled
	for _, id := range ids {
		m := start(id, client(t), bytes.Repeat([]byte("x"), 2000), 512, 1)
		m["retransmitMs"] = 10000
		command(t, in, m)
		for e := next(t, messages, "event"); e["type"] != "start"; e = next(t, messages, "event") {
		}
	}
	began := time.Now()
	command(t, in, map[string]any{"kind": "supersede", "id": "f"}) // a polled one
	e := next(t, messages, "event")
	if e["id"] != "f" || e["type"] != "failed" || !strings.Contains(e["reason"].(string), "new request") {
		t.Fatalf("supersede: %v", e)
	}
	wantFailure(t, e, failSuperseded, 1)
	command(t, in, map[string]any{"kind": "supersede", "id": "a"}) // a blocking one
	if e := next(t, messages, "event"); e["id"] != "a" || e["type"] != "failed" {
		t.Fatalf("supersede: %v", e)
	}
	command(t, in, map[string]any{"kind": "stop"})
	next(t, messages, "stopped")
	if took := time.Since(began); took > 3*time.Second { // the timers say 10 s: only a wake-up is this quick
		t.Fatalf("waking six transfers took %v", took)
	}
}

// T17: a repeated RRQ (the engine sends "resend") gets the OACK again while it is unacknowledged, and
// the first DATA once the OACK was acknowledged; never a second session.
func TestResendAnswersWithWhatWasSentFirst(t *testing.T) {
	in, messages := newTestPump(t)
	c := client(t)
	m := start("r", c, bytes.Repeat([]byte("y"), 1000), 512, 1)
	m["oack"] = []byte("\x00\x06tsize\x001000\x00")
	m["retransmitMs"] = 10000 // no timer resends inside this test
	command(t, in, m)
	oack, from := read(t, c)
	command(t, in, map[string]any{"kind": "resend", "id": "r"})
	if again, port := read(t, c); !bytes.Equal(again, oack) || port.Port != from.Port {
		t.Fatalf("resend before ACK 0: % x from %v", again, port)
	}
	ack(c, from, 0)
	d1, _ := read(t, c)
	if d1[1] != opData || d1[3] != 1 {
		t.Fatalf("after ACK 0: % x", d1[:4])
	}
	time.Sleep(50 * time.Millisecond) // the pump files the first window right after sending it
	command(t, in, map[string]any{"kind": "resend", "id": "r"})
	if again, _ := read(t, c); !bytes.Equal(again, d1) {
		t.Fatalf("resend after ACK 0: % x", again[:4])
	}
	command(t, in, map[string]any{"kind": "stop"})
	next(t, messages, "stopped")
}

// A client ERROR ends the transfer with a code the engine branches on: ERROR 4 to the OACK is a
// refused option set (U8, block 0), any other ERROR to the OACK is a tsize probe (U6, done), and an
// ERROR during the data phase is client-error at the block awaited.
func TestClientErrorsCarryCodes(t *testing.T) {
	in, messages := newTestPump(t)
	final := func(id string) map[string]any {
		t.Helper()
		for e := next(t, messages, "event"); ; e = next(t, messages, "event") {
			if e["id"] == id && (e["type"] == "failed" || e["type"] == "done") {
				return e
			}
		}
	}
	withOack := func(id string, c *net.UDPConn) map[string]any {
		m := start(id, c, bytes.Repeat([]byte("z"), 1000), 512, 1)
		m["oack"] = []byte("\x00\x06tsize\x001000\x00")
		m["neg"].(map[string]any)["oack"] = []any{map[string]any{"name": "tsize", "value": "1000"}}
		m["retransmitMs"] = 10000
		return m
	}
	sendError := func(c *net.UDPConn, to *net.UDPAddr, code int, text string) {
		c.WriteToUDP(errorPacket(code, text), to)
	}

	refusing := client(t)
	command(t, in, withOack("u8", refusing))
	_, from := read(t, refusing)
	sendError(refusing, from, errIllegal, "Malformatted OACK packet")
	e := final("u8")
	if e["type"] != "failed" || !strings.Contains(e["reason"].(string), "options sent: tsize=1000") {
		t.Fatalf("U8: %v", e)
	}
	wantFailure(t, e, failOptionRefused, 0)

	probing := client(t)
	command(t, in, withOack("u6", probing))
	_, from = read(t, probing)
	sendError(probing, from, 8, "tsize only")
	if e := final("u6"); e["type"] != "done" || e["failure"] != nil || e["extra"].(map[string]any)["probe"] != true {
		t.Fatalf("U6: %v", e)
	}

	aborting := client(t)
	m := start("t18", aborting, bytes.Repeat([]byte("z"), 1000), 512, 1)
	m["retransmitMs"] = 10000
	command(t, in, m)
	_, from = read(t, aborting)
	ack(aborting, from, 1)
	read(t, aborting)
	sendError(aborting, from, 0, "disk full")
	e = final("t18")
	if e["type"] != "failed" || !strings.Contains(e["reason"].(string), "client aborted at block 2") {
		t.Fatalf("T18: %v", e)
	}
	wantFailure(t, e, failClientError, 2)
}
