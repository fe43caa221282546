package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary re-executes itself as the helper (no separate build step needed).
func TestMain(m *testing.M) {
	if os.Getenv("PXE_DESK_HELPER_TEST_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(t *testing.T, input []byte) ([]Frame, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"PXE_DESK_HELPER_TEST_MAIN=1"}
	cmd.Stdin = bytes.NewReader(input)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper did not exit")
	}
	var frames []Frame
	r := bytes.NewReader(stdout.Bytes())
	for {
		f, err := ReadFrame(r)
		if err != nil {
			break
		}
		frames = append(frames, f)
	}
	return frames, cmd.ProcessState.ExitCode()
}

func expectFatal(t *testing.T, input []byte, code byte) {
	t.Helper()
	frames, exit := runHelper(t, input)
	if exit != 2 || len(frames) != 2 || frames[0].Type != THello || frames[1].Type != TError || frames[1].Body[0] != code || frames[1].Body[1] != 1 {
		t.Fatalf("want hello + fatal error %d, exit 2; got %d frames, exit %d: %+v", code, len(frames), exit, frames)
	}
}

func TestHelperExitsOnStdinClose(t *testing.T) {
	frames, exit := runHelper(t, nil)
	if exit != 0 || len(frames) != 1 || frames[0].Type != THello {
		t.Fatalf("got %+v exit %d", frames, exit)
	}
}

func TestHelperFailsClosed(t *testing.T) {
	// Wrong order: datagram-out before bind.
	expectFatal(t, EncodeDgramOut(Dgram{Role: RoleDhcp, Dst: bcast, DstPort: 68, Payload: []byte{1}}), EMalformed)
	// Garbage and truncation.
	expectFatal(t, []byte{0, 0, 0, 3, 1, 2}, EMalformed)
	expectFatal(t, []byte{0xff, 0xff, 0xff, 0xff}, EMalformed)
	// Port outside the allow-list, interface missing.
	expectFatal(t, EncodeBind(Bind{"lo", []RolePort{{RoleTftp, 22}}}), EBadPort)
	expectFatal(t, EncodeBind(Bind{"nosuchif0", []RolePort{{RoleDhcp, 1067}}}), EIfaceMissing)
}

func TestHelperBindsAndRefusesUnlistedSends(t *testing.T) {
	in := EncodeBind(Bind{"lo", []RolePort{{RolePxe, 40110}}})
	in = append(in, EncodeDgramOut(Dgram{Role: RolePxe, Dst: [4]byte{127, 0, 0, 1}, DstPort: 40111, Payload: []byte("x")})...)
	in = append(in, EncodeDgramOut(Dgram{Role: RoleTftp, Dst: [4]byte{127, 0, 0, 1}, DstPort: 40111, Payload: []byte("x")})...)
	in = append(in, EncodeFrame(TBye, nil)...)
	frames, exit := runHelper(t, in)
	if exit != 0 || len(frames) != 4 || frames[1].Type != TBound || frames[2].Type != TError || frames[2].Body[0] != ESendRefused || frames[3].Body[0] != ESendRefused {
		t.Fatalf("got %+v exit %d", frames, exit)
	}
}

// Random, truncated, oversized and wrong-order frames after a valid bind: the helper never panics and
// never sends. The pxe role may answer only peers it has seen; nothing ever writes to it, so any
// datagram at the listener (the target of every dgram-out below) would be a rule breach.
func TestHelperFuzzedFramesNeverSend(t *testing.T) {
	listener, lport := loopbackSocket(t)
	rng := rand.New(rand.NewSource(8))
	toListener := func() []byte {
		role := byte(1 + rng.Intn(4))
		return EncodeDgramOut(Dgram{Role: role, Dst: [4]byte{127, 0, 0, 1}, DstPort: lport, Payload: []byte("x")})
	}
	for i := 0; i < 150; i++ {
		in := EncodeBind(Bind{"lo", []RolePort{{RolePxe, 40120}, {RoleTftp, 40121}}})
		var tail []byte
		switch i % 5 {
		case 0: // random bytes
			tail = make([]byte, rng.Intn(200))
			rng.Read(tail)
		case 1: // a truncated frame
			f := toListener()
			tail = f[:rng.Intn(len(f))]
		case 2: // a bit flipped anywhere in a frame
			tail = toListener()
			tail[rng.Intn(len(tail))] ^= byte(1 + rng.Intn(255))
		case 3: // oversized length, with or without the bytes behind it
			tail = []byte{0, 1, 0, 0, 1, TDgramOut}
			if rng.Intn(2) == 0 {
				tail = append(tail, make([]byte, 70000)...)
			}
		case 4: // wrong order: a second bind, hello or bound from the app
			tail = append(toListener(), EncodeFrame(byte(1+rng.Intn(3)), []byte{4, 'e', 't', 'h', '0'})...)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = []string{"PXE_DESK_HELPER_TEST_MAIN=1"}
		cmd.Stdin = bytes.NewReader(append(in, append(tail, toListener()...)...))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, _ := cmd.Output()
		if code := cmd.ProcessState.ExitCode(); (code != 0 && code != 2) || strings.Contains(stderr.String(), "panic") {
			t.Fatalf("case %d: exit %d, stderr %s", i, code, stderr.String())
		}
		frames, r := []Frame{}, bytes.NewReader(out)
		for f, err := ReadFrame(r); err == nil; f, err = ReadFrame(r) {
			frames = append(frames, f)
		}
		if len(frames) < 2 || frames[1].Type != TBound {
			t.Fatalf("case %d: no bound frame: %+v", i, frames)
		}
	}
	if n, from, err := syscall.Recvfrom(listener, make([]byte, 100), syscall.MSG_DONTWAIT); err == nil {
		t.Fatalf("the helper sent %d bytes from %v", n, from)
	}
}

// /proc/<pid>/status lines of a running helper.
func procStatus(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Started by sudo or pkexec (root, with the invoking user's id in the environment), the helper binds
// and then becomes that user with no capability left; a root or garbled invoking id is refused.
func TestHelperDropsToInvokingUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CI runs as root)")
	}
	for i, env := range [][]string{{"SUDO_UID=65534", "SUDO_GID=65534"}, {"PKEXEC_UID=65534"}} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append([]string{"PXE_DESK_HELPER_TEST_MAIN=1"}, env...)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		_, _ = stdin.Write(EncodeBind(Bind{"lo", []RolePort{{RolePxe, uint16(40130 + i)}}}))
		for _, want := range []byte{THello, TBound} {
			if f, err := ReadFrame(stdout); err != nil || f.Type != want {
				t.Fatalf("%v: want frame %d, got %+v %v", env, want, f, err)
			}
		}
		status := procStatus(t, cmd.Process.Pid)
		stdin.Close()
		_ = cmd.Wait()
		for _, want := range []string{"Uid:\t65534\t65534\t65534\t65534", "Gid:\t65534\t65534\t65534\t65534",
			"Groups:\t \n", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000"} {
			if !strings.Contains(status, want) {
				t.Errorf("%v: %q missing from\n%s", env, want, status)
			}
		}
	}
	for _, env := range []string{"SUDO_UID=0", "PKEXEC_UID=root"} {
		cmd := exec.Command(os.Args[0])
		cmd.Env = []string{"PXE_DESK_HELPER_TEST_MAIN=1", env}
		cmd.Stdin = bytes.NewReader(EncodeBind(Bind{"lo", []RolePort{{RolePxe, 40135}}}))
		out, _ := cmd.Output()
		r := bytes.NewReader(out)
		_, _ = ReadFrame(r)
		if f, err := ReadFrame(r); err != nil || f.Type != TError || f.Body[0] != EPermission || cmd.ProcessState.ExitCode() != 2 {
			t.Errorf("%s: want fatal permission error, got %+v %v exit %d", env, f, err, cmd.ProcessState.ExitCode())
		}
	}
}

// loopbackSocket is a UDP socket on 127.0.0.1 and an ephemeral port, closed when the test ends. syscall,
// not package net: net links cgo into this binary, and the helper's capset refuses cgo.
func loopbackSocket(t *testing.T) (int, uint16) {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(fd)
	return fd, uint16(sa.(*syscall.SockaddrInet4).Port)
}

// startBound runs a helper that stays up, binds bd and has answered hello + bound; it is stopped
// (stdin closed, waited for) when the test ends.
// frameStream reads the helper's frames into a channel (buffer size), closed when its stdout ends.
func frameStream(stdout io.Reader, size int) <-chan Frame {
	frames := make(chan Frame, size)
	go func() {
		defer close(frames)
		for {
			f, err := ReadFrame(stdout)
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	return frames
}

func startBound(t *testing.T, bd Bind) (io.WriteCloser, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{"PXE_DESK_HELPER_TEST_MAIN=1"}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	_, _ = stdin.Write(EncodeBind(bd))
	for _, want := range []byte{THello, TBound} {
		if f, err := ReadFrame(stdout); err != nil || f.Type != want {
			t.Fatalf("want frame %d, got %+v %v", want, f, err)
		}
	}
	return stdin, stdout
}

// A second helper (another PXE Desk) asking for a port the first holds on the same NIC gets "port in
// use": both may not share 67/69/4011. Only 68 (dhcp-client, receive-only) is shared, with the OS's
// DHCP client.
func TestSecondHelperGetsPortInUse(t *testing.T) {
	startBound(t, Bind{"lo", []RolePort{{RolePxe, 40140}, {RoleDhcpClient, 40142}}})
	expectFatal(t, EncodeBind(Bind{"lo", []RolePort{{RolePxe, 40140}}}), EPortInUse)
	frames, exit := runHelper(t, EncodeBind(Bind{"lo", []RolePort{{RoleDhcpClient, 40142}}}))
	if exit != 0 || len(frames) != 2 || frames[1].Type != TBound {
		t.Fatalf("dhcp-client port not shared: %+v exit %d", frames, exit)
	}
}

// A burst both ways: datagrams queued faster than one wakeup reads them are relayed whole, in order,
// each in its own frame (several frames per stdout write), and as many replies go back out.
func TestHelperRelaysABurstBothWays(t *testing.T) {
	const n = 2000
	client, cport := loopbackSocket(t)
	// Room for every reply: a full test socket would drop them, not the helper (SO_RCVBUFFORCE: root).
	if syscall.SetsockoptInt(client, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 16<<20) != nil {
		t.Skip("needs root for a socket buffer that holds the whole burst (CI runs as root)")
	}
	stdin, stdout := startBound(t, Bind{"lo", []RolePort{{RolePxe, 40150}}})
	payload := func(i int) []byte { return []byte("datagram " + strconv.Itoa(i) + strings.Repeat(".", i%300)) }
	for i := 0; i < n; i++ {
		if err := syscall.Sendto(client, payload(i), 0, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: 40150}); err != nil {
			t.Fatal(err)
		}
	}
	frames := frameStream(stdout, n)
	for i := 0; i < n; i++ {
		select {
		case f, ok := <-frames:
			if ok && f.Type != TDgramIn {
				i--
				continue
			}
			body := f.Body
			if !ok || len(body) < 15 || body[0] != RolePxe || binary.BigEndian.Uint16(body[9:11]) != cport || !bytes.Equal(body[15:], payload(i)) {
				t.Fatalf("datagram %d: got %q", i, body)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d datagrams relayed", i, n)
		}
	}
	replies := make(chan int, 1)
	go func() {
		buf, count := make([]byte, 2048), 0
		_ = syscall.SetsockoptTimeval(client, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &syscall.Timeval{Sec: 5})
		for count < n {
			m, _, err := syscall.Recvfrom(client, buf, 0)
			if err == syscall.EINTR { // Go's preemption signal (SIGURG) interrupts a blocking read
				continue
			} else if err != nil || !bytes.Equal(buf[:m], payload(count)) {
				break
			}
			count++
		}
		replies <- count
	}()
	var out []byte
	for i := 0; i < n; i++ {
		out = append(out, EncodeDgramOut(Dgram{Role: RolePxe, Dst: [4]byte{127, 0, 0, 1}, DstPort: cport, Payload: payload(i)})...)
	}
	_, _ = stdin.Write(out)
	if count := <-replies; count != n {
		t.Fatalf("%d of %d replies arrived whole and in order", count, n)
	}
}
