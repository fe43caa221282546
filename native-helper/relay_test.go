package main

import (
	"bytes"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// The relay decodes the app's frames in its stdin buffer (splitFrames), not with ReadFrame: both must
// see the same frames and the same malformed streams, including streams of several frames and frames
// cut anywhere. A stream ReadFrame ends with ErrMalformed either fails splitFrames or leaves a partial
// frame, which the relay treats as malformed when stdin ends.
func TestSplitFramesIsReadFrame(t *testing.T) {
	rng := rand.New(rand.NewSource(17))
	var seeds [][]byte
	for _, b := range goldens() {
		seeds = append(seeds, b)
	}
	for i := 0; i < 20000; i++ {
		var b []byte
		for n := rng.Intn(4); n >= 0; n-- {
			s := append([]byte{}, seeds[rng.Intn(len(seeds))]...)
			switch rng.Intn(4) {
			case 0: // cut short
				s = s[:rng.Intn(len(s)+1)]
			case 1: // a bit flipped
				s[rng.Intn(len(s))] ^= byte(1 + rng.Intn(255))
			case 2: // random bytes
				s = make([]byte, rng.Intn(40))
				rng.Read(s)
			}
			b = append(b, s...)
		}
		var want []Frame
		r := bytes.NewReader(b)
		f, werr := ReadFrame(r)
		for ; werr == nil; f, werr = ReadFrame(r) {
			want = append(want, f)
		}
		var got []Frame
		p, gerr := splitFrames(b, func(t byte, body []byte) { got = append(got, Frame{t, append([]byte{}, body...)}) })
		if len(got) != len(want) {
			t.Fatalf("stream %x: splitFrames saw %d frames, ReadFrame %d", b, len(got), len(want))
		}
		for j := range got {
			if got[j].Type != want[j].Type || !bytes.Equal(got[j].Body, want[j].Body) {
				t.Fatalf("stream %x: frame %d differs: %+v vs %+v", b, j, got[j], want[j])
			}
		}
		if malformed := gerr != nil || p != len(b); malformed != (werr == ErrMalformed) {
			t.Fatalf("stream %x: splitFrames err %v, %d of %d bytes; ReadFrame ended with %v", b, gerr, p, len(b), werr)
		}
	}
}

// The relay writes dgram-in frames straight into its output buffer; they must be EncodeDgramIn's bytes.
func TestAppendDgramInIsEncodeDgramIn(t *testing.T) {
	rng := rand.New(rand.NewSource(18))
	for i := 0; i < 1000; i++ {
		d := Dgram{Role: byte(rng.Intn(5)), Ifindex: rng.Uint32(), SrcPort: uint16(rng.Intn(65536)), Payload: make([]byte, rng.Intn(1500))}
		rng.Read(d.Src[:])
		rng.Read(d.Dst[:])
		rng.Read(d.Payload)
		prefix := []byte("earlier frames")
		if got, want := appendDgramIn(prefix, d), append([]byte("earlier frames"), EncodeDgramIn(d)...); !bytes.Equal(got, want) {
			t.Fatalf("%+v:\n got %x\nwant %x", d, got, want)
		}
	}
}

// stdin a regular file (epoll refuses it): the relay reads it directly and still handles every frame,
// then exits at its end.
func TestHelperReadsStdinFromAFile(t *testing.T) {
	in := EncodeBind(Bind{"lo", []RolePort{{RolePxe, 40160}}})
	in = append(in, EncodeDgramOut(Dgram{Role: RolePxe, Dst: [4]byte{127, 0, 0, 1}, DstPort: 40161, Payload: []byte("x")})...)
	p := filepath.Join(t.TempDir(), "frames")
	if err := os.WriteFile(p, in, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"PXE_DESK_HELPER_TEST_MAIN=1"}
	cmd.Stdin = f
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer time.AfterFunc(10*time.Second, func() { _ = cmd.Process.Kill() }).Stop()
	_ = cmd.Wait()
	out := stdout.Bytes()
	var types []byte
	r := bytes.NewReader(out)
	for fr, err := ReadFrame(r); err == nil; fr, err = ReadFrame(r) {
		types = append(types, fr.Type)
	}
	if cmd.ProcessState.ExitCode() != 0 || !bytes.Equal(types, []byte{THello, TBound, TError}) {
		t.Fatalf("exit %d, frames %v", cmd.ProcessState.ExitCode(), types)
	}
}

// A frame the app's writes split anywhere (here byte by byte) is handled once whole, and a datagram
// that arrives meanwhile is relayed at once: a partial frame never blocks the loop.
func TestHelperWaitsForAFrameInPieces(t *testing.T) {
	client, cport := loopbackSocket(t)
	stdin, stdout := startBound(t, Bind{"lo", []RolePort{{RolePxe, 40170}}})
	frames := frameStream(stdout, 4)
	next := func() Frame {
		select {
		case f := <-frames:
			return f
		case <-time.After(5 * time.Second):
			t.Fatal("no frame from the helper")
		}
		return Frame{}
	}
	reply := EncodeDgramOut(Dgram{Role: RolePxe, Dst: [4]byte{127, 0, 0, 1}, DstPort: cport, Payload: []byte("reply")})
	_, _ = stdin.Write(reply[:3])
	if err := syscall.Sendto(client, []byte("request"), 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 40170}); err != nil {
		t.Fatal(err)
	}
	if f := next(); f.Type != TDgramIn || !bytes.HasSuffix(f.Body, []byte("request")) {
		t.Fatalf("want the request relayed, got %+v", f)
	}
	for _, c := range reply[3:] {
		time.Sleep(time.Millisecond)
		_, _ = stdin.Write([]byte{c})
	}
	_ = syscall.SetsockoptTimeval(client, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &syscall.Timeval{Sec: 5})
	buf := make([]byte, 100)
	n, _, err := syscall.Recvfrom(client, buf, 0)
	for err == syscall.EINTR {
		n, _, err = syscall.Recvfrom(client, buf, 0)
	}
	if err != nil || string(buf[:n]) != "reply" {
		t.Fatalf("reply: %v, want \"reply\"", err)
	}
	select {
	case f, ok := <-frames:
		if ok {
			t.Fatalf("unexpected frame %+v", f)
		}
	case <-time.After(50 * time.Millisecond):
	}
}
