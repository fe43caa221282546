//go:build linux

package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

type got struct {
	line string
	fd   int
}

// pair gives a channel on one end of a Unix stream socket pair and the other end as "Node".
func pair(t *testing.T) (*channel, int) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := openChannel(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return ch, fds[1]
}

func TestChannelPairsHandlesWithTheirLinesAndAcknowledges(t *testing.T) {
	ch, node := pair(t)
	f, err := os.CreateTemp(t.TempDir(), "handle")
	if err != nil {
		t.Fatal(err)
	}
	// What Node writes for child.send({t:'conn',conn:1}, handle): the envelope, the descriptor with it.
	envelope := `{"cmd":"NODE_HANDLE","type":"net.Native","msg":{"t":"conn","conn":1}}` + "\n"
	if err := syscall.Sendmsg(node, []byte(envelope), syscall.UnixRights(int(f.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	// A plain line split across two writes, and one of Node's other internal messages (ignored).
	syscall.Write(node, []byte(`{"t":"close",`))
	syscall.Write(node, []byte(`"conn":1}`+"\n"+`{"cmd":"NODE_SOCKET_NOTIFY_CLOSE","key":"x"}`+"\n"))
	syscall.Shutdown(node, syscall.SHUT_WR)

	var seen []got
	if err := ch.serve(func(line []byte, fd int) { seen = append(seen, got{string(line), fd}) }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0].line != `{"t":"conn","conn":1}` || seen[0].fd < 0 ||
		seen[1].line != `{"t":"close","conn":1}` || seen[1].fd != -1 {
		t.Fatalf("got %+v", seen)
	}
	// The descriptor that arrived is a working duplicate of the file.
	var a, b syscall.Stat_t
	syscall.Fstat(seen[0].fd, &a)
	syscall.Fstat(int(f.Fd()), &b)
	if a.Ino != b.Ino {
		t.Errorf("descriptor is not the file sent")
	}
	syscall.Close(seen[0].fd)
	// Node waits for this before it sends anything else.
	// (A plain read: an os.File around `node` would close it again from its finalizer, after the cleanup.)
	buf := make([]byte, 64)
	n, _ := syscall.Read(node, buf)
	if ack := string(buf[:max(n, 0)]); ack != string(handleAck) {
		t.Errorf("ack %q", ack)
	}
}

func TestChannelRefusesAnEndlessLine(t *testing.T) {
	ch, node := pair(t)
	go func() {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 80; i++ {
			if _, err := syscall.Write(node, chunk); err != nil {
				return
			}
		}
	}()
	err := ch.serve(func(l []byte, fd int) { t.Errorf("no line should arrive (%d bytes)", len(l)) })
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err %v", err)
	}
}

func max(a, b int) int {
	if a > b {
		return a
	}
	return b
}
