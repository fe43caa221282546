//go:build linux

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// rig: bodies on a channel whose other end the test reads, and one adopted TCP connection.
type rig struct {
	b      *bodies
	msgs   *bufio.Reader
	client net.Conn
}

func newRig(t *testing.T) *rig {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := openChannel(fds[0])
	node := os.NewFile(uintptr(fds[1]), "node")
	t.Cleanup(func() { syscall.Close(fds[0]); node.Close() })
	b := newBodies(ch, 10*time.Millisecond)

	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	served, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	// As Node's socket is: non-blocking. The engine's copy stays open, like Node's.
	file, _ := served.(*net.TCPConn).File()
	served.Close()
	t.Cleanup(func() { file.Close() })
	dup, _ := syscall.Dup(int(file.Fd()))
	syscall.SetNonblock(dup, true)
	b.adopt(1, dup)
	// First of the cleanups to run: no body may still write to the channel once its descriptors close.
	t.Cleanup(b.closeAll)
	return &rig{b: b, msgs: bufio.NewReader(node), client: client}
}

func (r *rig) order(t *testing.T, line string) {
	t.Helper()
	r.b.handle([]byte(line), -1)
}

// next returns the next message that is not progress.
func (r *rig) next(t *testing.T) fromBodies {
	t.Helper()
	for {
		line, err := r.msgs.ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var m fromBodies
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m.T != "progress" {
			return m
		}
	}
}

func tempFile(t *testing.T, data []byte) (string, syscall.Stat_t) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.iso")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	syscall.Stat(path, &st)
	return path, st
}

func TestBodySendsPiecesInOrderWithSparseZeros(t *testing.T) {
	r := newRig(t)
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path, st := tempFile(t, data)
	r.order(t, fmt.Sprintf(`{"t":"body","conn":1,"id":5,"path":%q,"identity":{"dev":%d,"ino":%d,"size":%d},"pieces":[[2097152,1048576],[-1,70000],[10,5]]}`,
		path, st.Dev, st.Ino, len(data)))
	want := append(append(append([]byte{}, data[2<<20:]...), make([]byte, 70000)...), data[10:15]...)
	got := make([]byte, len(want))
	r.client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(r.client, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("body bytes differ")
	}
	if m := r.next(t); m.T != "done" || m.ID != 5 || m.Bytes != int64(len(want)) {
		t.Fatalf("got %+v", m)
	}
}

func TestBodyOfAChangedFileIsRefused(t *testing.T) {
	r := newRig(t)
	path, st := tempFile(t, make([]byte, 1000))
	r.order(t, fmt.Sprintf(`{"t":"body","conn":1,"id":6,"path":%q,"identity":{"ino":%d,"size":999},"pieces":[[0,999]]}`, path, st.Ino))
	if m := r.next(t); m.T != "failed" || m.Code != failReadError || m.ID != 6 {
		t.Fatalf("got %+v", m)
	}
	r.order(t, fmt.Sprintf(`{"t":"body","conn":9,"id":7,"path":%q,"identity":{"size":1000},"pieces":[[0,10]]}`, path))
	if m := r.next(t); m.T != "failed" || m.Code != failInternal || m.ID != 7 {
		t.Fatalf("no connection: got %+v", m)
	}
}

func TestCloseAbortsABodyWaitingForRoom(t *testing.T) {
	r := newRig(t)
	path, st := tempFile(t, make([]byte, 64<<20))
	// The client reads nothing: the socket fills and the body waits on the poller.
	r.order(t, fmt.Sprintf(`{"t":"body","conn":1,"id":8,"path":%q,"identity":{"ino":%d,"size":%d},"pieces":[[0,%d]]}`,
		path, st.Ino, 64<<20, 64<<20))
	time.Sleep(200 * time.Millisecond)
	r.order(t, `{"t":"close","conn":1}`)
	m := r.next(t)
	if m.T != "failed" || m.Code != failAborted || m.Bytes <= 0 || m.Bytes >= 64<<20 {
		t.Fatalf("got %+v", m)
	}
}

func TestAClientThatGoesAwayEndsTheBodyAborted(t *testing.T) {
	r := newRig(t)
	path, st := tempFile(t, make([]byte, 64<<20))
	r.client.(*net.TCPConn).SetLinger(0)
	r.client.Close() // RST: the next sendfile fails
	r.order(t, fmt.Sprintf(`{"t":"body","conn":1,"id":9,"path":%q,"identity":{"ino":%d,"size":%d},"pieces":[[0,%d]]}`,
		path, st.Ino, 64<<20, 64<<20))
	if m := r.next(t); m.T != "failed" || m.Code != failAborted {
		t.Fatalf("got %+v", m)
	}
}
