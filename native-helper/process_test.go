package main

import (
	"bytes"
	"os"
	"os/exec"
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
