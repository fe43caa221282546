//go:build linux

package main

// Node's IPC channel as a child that is not Node sees it (child_process, serialization "json"): a Unix
// stream socket whose number is in NODE_CHANNEL_FD, carrying one JSON value per line. A message sent with
// a handle (`subprocess.send(msg, handle)`) arrives as {"cmd":"NODE_HANDLE","type":…,"msg":msg} with the
// descriptor in SCM_RIGHTS ancillary data; Node sends no further message until the receiver answers
// {"cmd":"NODE_HANDLE_ACK"}. Descriptors and lines are paired in order: the kernel never merges two
// SCM_RIGHTS messages into one read, and Node writes each handle with the first byte of its line.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
)

// maxLine bounds one command; a longer one is a broken peer, not a file order (those are < 1 KiB
// unless an ISO member has very many extents).
const maxLine = 4 << 20

var handleAck = []byte("{\"cmd\":\"NODE_HANDLE_ACK\"}\n")

type channel struct {
	fd      int
	wmu     sync.Mutex
	pending []byte // an incomplete line
	fds     []int  // received descriptors not yet claimed by a NODE_HANDLE line
}

func openChannel(fd int) (*channel, error) {
	// Blocking: the reader has its own goroutine (and thread while blocked); writes are whole lines.
	if err := syscall.SetNonblock(fd, false); err != nil {
		return nil, fmt.Errorf("IPC channel fd %d: %v", fd, err)
	}
	syscall.CloseOnExec(fd)
	return &channel{fd: fd}, nil
}

// write sends one line (already ending in '\n'), whole, from any goroutine.
func (c *channel) write(line []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for len(line) > 0 {
		n, err := syscall.Write(c.fd, line)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		line = line[n:]
	}
	return nil
}

// serve reads until the channel closes (nil) or fails, calling handle for every line that is not one of
// Node's internal messages; fd is the descriptor a NODE_HANDLE line brought, or -1.
func (c *channel) serve(handle func(line []byte, fd int)) error {
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(16*4))
	for {
		n, oobn, _, _, err := syscall.Recvmsg(c.fd, buf, oob, syscall.MSG_CMSG_CLOEXEC)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			c.closeUnclaimed()
			if err == syscall.ECONNRESET {
				return nil
			}
			return err
		}
		if oobn > 0 {
			c.fds = append(c.fds, parseRights(oob[:oobn])...)
		}
		if n == 0 {
			c.closeUnclaimed()
			return nil
		}
		c.pending = append(c.pending, buf[:n]...)
		if err := c.lines(handle); err != nil {
			c.closeUnclaimed()
			return err
		}
	}
}

func parseRights(oob []byte) []int {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if got, err := syscall.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, got...)
		}
	}
	return fds
}

// nodeEnvelope is what Node wraps a message sent with a handle in (and its other internal messages).
type nodeEnvelope struct {
	Cmd string          `json:"cmd"`
	Msg json.RawMessage `json:"msg"`
}

func (c *channel) lines(handle func(line []byte, fd int)) error {
	for {
		i := bytes.IndexByte(c.pending, '\n')
		if i < 0 {
			if len(c.pending) > maxLine {
				return errors.New("a command longer than 4 MiB")
			}
			return nil
		}
		line := c.pending[:i]
		c.pending = c.pending[i+1:]
		if len(line) == 0 {
			continue
		}
		var env nodeEnvelope
		if bytes.Contains(line, []byte(`"cmd"`)) && json.Unmarshal(line, &env) == nil && strings.HasPrefix(env.Cmd, "NODE_") {
			if env.Cmd != "NODE_HANDLE" {
				continue // Node's other internal messages concern Node children only
			}
			fd := -1
			if len(c.fds) > 0 {
				fd, c.fds = c.fds[0], c.fds[1:]
			}
			if err := c.write(handleAck); err != nil {
				if fd >= 0 {
					syscall.Close(fd)
				}
				return err
			}
			handle(env.Msg, fd)
			continue
		}
		handle(line, -1)
	}
}

func (c *channel) closeUnclaimed() {
	for _, fd := range c.fds {
		syscall.Close(fd)
	}
	c.fds = nil
}
