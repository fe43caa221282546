//go:build linux

// Command pxe-desk-http is PXE Desk's native HTTP body path (Linux, unprivileged, standard library only).
//
// Why it exists: Node has no sendfile(2). Serving a file body from Node costs two copies per byte (a
// pread into a buffer, a write of that buffer to the socket) and the socket write runs on the one event
// loop that also parses every request. nginx sends the same bytes with sendfile. With 50 clients reading
// an ISO by 1 MiB Range requests on a two-core machine, that difference held the product at 0.74x nginx
// (bench/README.md, "HTTP from inside an ISO"). So the engine in Node keeps everything that decides
// (parsing, path confinement, the ISO member's extents, validators, ranges, the response head, events)
// and hands each body to this program: the connection's socket once per connection (over Node's IPC
// channel, SCM_RIGHTS), then one order per body naming the file and the byte pieces to send.
//
// Contract: app/engines/http/body-protocol.ts, one JSON object per line on Node's IPC channel (the fd in
// NODE_CHANNEL_FD; channel.go speaks its framing). It exits when the channel closes.
//
// Files: contract.go (the messages), channel.go (Node's IPC framing and descriptor passing),
// bodies.go (connections, orders, shared file handles), send.go (sendfile of the pieces).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	progressMs := flag.Int("progress-ms", 500, "minimum milliseconds between progress messages of one body")
	protocol := flag.Int("protocol", Protocol, "contract version the caller speaks")
	flag.Parse()
	// Ctrl-C reaches the whole foreground process group; the engine ends this child by closing the channel.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	fd, err := strconv.Atoi(os.Getenv("NODE_CHANNEL_FD"))
	if err != nil || fd < 0 || *protocol != Protocol {
		fmt.Fprintf(os.Stderr, "pxe-desk-http: run by the engine with an IPC channel and --protocol %d\n", Protocol)
		os.Exit(2)
	}
	ch, err := openChannel(fd)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pxe-desk-http: %v\n", err)
		os.Exit(2)
	}
	s := newBodies(ch, time.Duration(*progressMs)*time.Millisecond)
	err = ch.serve(s.handle)
	s.closeAll()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pxe-desk-http: channel: %v\n", err)
		os.Exit(1)
	}
}
