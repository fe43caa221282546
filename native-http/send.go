//go:build linux

package main

// Sending one body: its pieces in order, each by sendfile(2) from the shared handle at its own offset
// (so concurrent bodies of one image never share a file position), or as zeros for a sparse extent.
// The socket is non-blocking (it is Node's); when it is full, RawConn.Write parks the goroutine on Go's
// poller until there is room again.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// maxSendfile bounds one call (Linux moves at most 0x7ffff000 bytes per call anyway).
const maxSendfile = 1 << 30

var zeros = make([]byte, 64<<10)

func (b *bodies) sendPieces(c *conn, order *toBodies, f *os.File) {
	var sent int64
	last := time.Now()
	progress := func() {
		if now := time.Now(); now.Sub(last) >= b.progress {
			last = now
			b.send(fromBodies{T: "progress", ID: order.ID, Bytes: sent})
		}
	}
	src := int(f.Fd())
	if order.Head != "" {
		if err := sendHead(c, order.Head); err != nil {
			b.fail(order.ID, 0, failAborted, describe(err))
			return
		}
	}
	for _, p := range order.Pieces {
		at, left := p[0], p[1]
		if at < 0 {
			for left > 0 {
				chunk := zeros
				if left < int64(len(chunk)) {
					chunk = chunk[:left]
				}
				n, err := c.tcp.Write(chunk)
				sent += int64(n)
				left -= int64(n)
				if err != nil {
					b.fail(order.ID, sent, failAborted, describe(err))
					return
				}
				progress()
			}
			continue
		}
		var serr error
		err := c.raw.Write(func(dst uintptr) bool {
			for left > 0 {
				want := left
				if want > maxSendfile {
					want = maxSendfile
				}
				n, err := syscall.Sendfile(int(dst), src, &at, int(want))
				if n > 0 {
					sent += int64(n)
					left -= int64(n)
					progress()
				}
				switch {
				case err == syscall.EAGAIN:
					return false // wait for room in the socket
				case err == syscall.EINTR:
				case err != nil:
					serr = err
					return true
				case n == 0:
					serr = errShrank
					return true
				}
			}
			return true
		})
		if err == nil {
			err = serr
		}
		if err != nil {
			code := failAborted
			if err == errShrank || err == syscall.EIO {
				code = failReadError
			}
			b.fail(order.ID, sent, code, describe(err))
			return
		}
	}
	b.send(fromBodies{T: "done", ID: order.ID, Bytes: sent})
}

// sendHead queues the response head with MSG_MORE: the kernel holds it until the body's first bytes
// follow, so head and body leave in the same segments and the client wakes once, not twice.
func sendHead(c *conn, head string) error {
	rest := []byte(head)
	var serr error
	err := c.raw.Write(func(dst uintptr) bool {
		for len(rest) > 0 {
			n, err := syscall.SendmsgN(int(dst), rest, nil, nil, syscall.MSG_MORE|syscall.MSG_NOSIGNAL)
			if n > 0 {
				rest = rest[n:]
			}
			switch {
			case err == syscall.EAGAIN:
				return false
			case err == syscall.EINTR:
			case err != nil:
				serr = err
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return serr
}

var errShrank = errors.New("the file ended early (it shrank while being sent)")

func describe(err error) string {
	switch {
	case errors.Is(err, net.ErrClosed):
		return "the connection was closed"
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		return "client closed the connection before the transfer completed"
	}
	return fmt.Sprint(err)
}
