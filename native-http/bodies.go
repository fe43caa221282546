//go:build linux

package main

// Connections and orders. The engine hands a connection's socket once (a "conn" command with the
// descriptor), then one "body" order per response on it, sequentially: Node writes the response head,
// this side the body, and Node finishes the response when "done" arrives, so the two never write at
// once. "close" comes when Node's socket closes: this side's duplicate is closed too (a duplicate left
// open would keep the TCP connection up after Node destroyed its end) and a body in flight ends
// "aborted".

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

type conn struct {
	tcp *net.TCPConn
	raw syscall.RawConn
}

type sharedFile struct {
	key  string
	f    *os.File
	refs int
	idle time.Time // when refs last fell to 0
}

// keepIdle: a handle no body uses is kept this long, so the Range requests of one image (sanboot, a
// live root) do not open and close it each time.
const keepIdle = 5 * time.Second

type bodies struct {
	ch       *channel
	progress time.Duration
	mu       sync.Mutex
	conns    map[int64]*conn
	files    map[string]*sharedFile
	sending  sync.WaitGroup // bodies in flight
}

func newBodies(ch *channel, progress time.Duration) *bodies {
	b := &bodies{ch: ch, progress: progress, conns: map[int64]*conn{}, files: map[string]*sharedFile{}}
	go b.closeIdle()
	return b
}

func (b *bodies) send(m fromBodies) {
	// A write error means the engine is gone; the reader sees the channel close and ends the process.
	_ = b.ch.write(encodeMessage(m))
}

func (b *bodies) fail(id int64, sent int64, code, reason string) {
	b.send(fromBodies{T: "failed", ID: id, Bytes: sent, Code: code, Reason: reason})
}

func (b *bodies) handle(line []byte, fd int) {
	order, err := decodeOrder(line)
	if err != nil {
		if fd >= 0 {
			syscall.Close(fd)
		}
		var id struct {
			ID int64 `json:"id"`
		}
		if json.Unmarshal(line, &id) == nil && id.ID > 0 {
			b.fail(id.ID, 0, failInternal, err.Error())
		} else {
			fmt.Fprintf(os.Stderr, "pxe-desk-http: %v\n", err)
		}
		return
	}
	switch order.T {
	case "conn":
		b.adopt(order.Conn, fd)
	case "close":
		b.mu.Lock()
		c := b.conns[order.Conn]
		delete(b.conns, order.Conn)
		b.mu.Unlock()
		if c != nil {
			c.tcp.Close() // wakes a body waiting for room in the socket: it ends "aborted"
		}
	case "body":
		b.mu.Lock()
		c := b.conns[order.Conn]
		b.mu.Unlock()
		if c == nil {
			b.fail(order.ID, 0, failInternal, fmt.Sprintf("no connection %d", order.Conn))
			return
		}
		f, reason := b.open(order.Path, order.Identity)
		if f == nil {
			b.fail(order.ID, 0, failReadError, reason)
			return
		}
		b.sending.Add(1)
		go func() {
			defer b.sending.Done()
			defer b.release(f)
			b.sendPieces(c, order, f.f)
		}()
	}
}

// adopt keeps a duplicate of the connection's socket on Go's poller (net.FileConn duplicates fd again).
func (b *bodies) adopt(id int64, fd int) {
	if fd < 0 {
		fmt.Fprintf(os.Stderr, "pxe-desk-http: connection %d arrived without its descriptor\n", id)
		return
	}
	file := os.NewFile(uintptr(fd), "connection")
	nc, err := net.FileConn(file)
	file.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pxe-desk-http: connection %d: %v\n", id, err)
		return
	}
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		nc.Close()
		fmt.Fprintf(os.Stderr, "pxe-desk-http: connection %d is not TCP\n", id)
		return
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		tcp.Close()
		return
	}
	b.mu.Lock()
	if old := b.conns[id]; old != nil {
		old.tcp.Close()
	}
	b.conns[id] = &conn{tcp: tcp, raw: raw}
	b.mu.Unlock()
}

// open shares one read-only handle per file version and checks it is the version the engine confined
// and stat'ed (a file swapped in between is refused, not sent under the old validators).
func (b *bodies) open(path string, id *identity) (*sharedFile, string) {
	key := fmt.Sprintf("%s\x00%v:%v:%d", path, deref(id.Dev), deref(id.Ino), id.Size)
	b.mu.Lock()
	if s := b.files[key]; s != nil {
		s.refs++
		b.mu.Unlock()
		return s, ""
	}
	b.mu.Unlock()
	// O_NONBLOCK: a FIFO swapped in after the engine's stat must not block this goroutine.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Sprintf("cannot open: %v", err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		(id.Ino != nil && float64(st.Ino) != *id.Ino) || (id.Dev != nil && float64(st.Dev) != *id.Dev) ||
		st.Size != id.Size {
		f.Close()
		return nil, "the file changed after it was checked"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := b.files[key]; s != nil {
		f.Close()
		s.refs++
		return s, ""
	}
	s := &sharedFile{key: key, f: f, refs: 1}
	b.files[key] = s
	return s, ""
}

func deref(v *float64) any {
	if v == nil {
		return "-"
	}
	return *v
}

func (b *bodies) release(s *sharedFile) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.refs--; s.refs == 0 {
		s.idle = time.Now()
	}
}

// closeIdle runs for the process's life, closing handles idle longer than keepIdle.
func (b *bodies) closeIdle() {
	for range time.Tick(keepIdle) {
		b.mu.Lock()
		for key, s := range b.files {
			if s.refs == 0 && time.Since(s.idle) >= keepIdle {
				delete(b.files, key)
				s.f.Close()
			}
		}
		b.mu.Unlock()
	}
}

// closeAll drops every connection and waits for the bodies in flight to end (each reports "aborted").
func (b *bodies) closeAll() {
	b.mu.Lock()
	for id, c := range b.conns {
		c.tcp.Close()
		delete(b.conns, id)
	}
	b.mu.Unlock()
	b.sending.Wait()
}
