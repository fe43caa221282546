//go:build linux

// Command pxe-desk-tftp is PXE Desk's native TFTP data path (Linux, unprivileged, standard library only).
//
// Why it exists: lockstep TFTP throughput is bound by the time from an ACK arriving to the next DATA
// leaving. Measured on loopback (bench/README.md, docs/decisions.md), the least work a Node dgram server
// can do per ACK reaches only ~0.75x tftpd-hpa; the per-datagram cost is Node's, not the engine's.
// So the engine in Node keeps everything that decides (request parsing, path confinement, RFC 2347
// negotiation, events, counters) and hands each negotiated transfer to this program, which owns the
// transfer's socket and file and runs the RFC 1350/7440 data phase, one goroutine per transfer (the
// first few on blocking sockets, like tftpd-hpa's process per transfer; the rest on Go's netpoller,
// see socket.go).
//
// Contract: app/engines/tftp/worker-protocol.ts (the same messages a worker thread speaks), one JSON
// object per line on stdin (to the pump) and stdout (from it). It exits when stdin closes.
//
// Files: contract.go (the worker contract's messages), pump.go (commands, transfer registry),
// protocol.go (TFTP packets and options), files.go (shared read-only handles), transfer.go (the
// DATA/ACK state machine), window.go (building and sending DATA windows), socket.go (transfer sockets).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	address := flag.String("address", "127.0.0.1", "IPv4 address transfer sockets bind to")
	progressMs := flag.Int("progress-ms", 250, "minimum milliseconds between progress events")
	protocol := flag.Int("protocol", Protocol, "contract version the caller speaks")
	flag.Parse()
	// Ctrl-C (and a terminal hang-up) reach the whole foreground process group, this child included; the
	// engine ends the pump in order (stop, then stdin closes), so transfers end cleanly and report.
	signal.Ignore(syscall.SIGINT, syscall.SIGHUP)
	ip := net.ParseIP(*address).To4()
	if ip == nil || *protocol != Protocol {
		fmt.Fprintf(os.Stderr, "pxe-desk-tftp: need an IPv4 --address and --protocol %d\n", Protocol)
		os.Exit(2)
	}
	newPump([4]byte{ip[0], ip[1], ip[2], ip[3]}, time.Duration(*progressMs)*time.Millisecond, os.Stdout).serve(os.Stdin)
}
