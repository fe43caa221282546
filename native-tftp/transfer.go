//go:build linux

package main

// One RRQ's data phase: RFC 1350 §4 (own TID), RFC 2347 OACK, RFC 7440 windows; the DATA/ACK state
// machine, retries with back-off and how a transfer ends. Sending windows: window.go.

import (
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

type transfer struct {
	p          *pump
	id         string
	peer       netip.AddrPort
	blksize    int
	windowsize int
	oack       []byte
	options    []option // as negotiated, for the log when a client rejects them
	retransmit time.Duration
	maxRetries int
	file       *sharedFile
	reader     io.ReaderAt
	size       int64

	// Control from the command goroutine: sock is only touched under mu while it is open.
	mu         sync.Mutex
	sock       transferSocket
	blocking   bool
	open       bool
	superseded atomic.Bool
	stopped    atomic.Bool
	base       atomic.Int64 // first unacknowledged block, 0 = OACK outstanding
	first      [][]byte     // what a repeated RRQ resends (OACK or the first window), immutable
	// A repeated RRQ came while `first` was being filed: sent as soon as it is.
	resendPending bool

	// Transfer goroutine only.
	sentUpTo  int64
	lastBlock int64
	slots     [][]byte
	slotBlock []int64
	slotLen   []int
	chunk     []byte
	chunkAt   int64
	chunkLen  int
	retries   int
	deadline  time.Time
	due       time.Time
	started   time.Time
	lastProg  time.Time
	sent      int
	malformed int
	// The client acknowledged the block before the last one again since the last block last went out:
	// it is alive and still waiting for it (lockstep clients resend their ACK on their own timeout).
	lastBlockAsked bool
}

// ending is how a transfer ended, as its final event: kind "done" or "failed".
type ending struct {
	kind    string
	bytes   int64
	rate    *int64
	reason  string
	failure *failure
	extra   map[string]any
}

// interrupt wakes the transfer goroutine (stop, supersede).
func (t *transfer) interrupt(flag *atomic.Bool) {
	flag.Store(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open {
		t.sock.wake()
	}
}

// resendFirst answers a repeated RRQ (lost OACK or DATA 1, T17) from the existing session, no new port.
func (t *transfer) resendFirst() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.open || t.base.Load() > 1 {
		return
	}
	if t.first == nil { // being filed by the transfer goroutine: it sends them when it has
		t.resendPending = true
		return
	}
	for _, packet := range t.first {
		t.sock.send(packet, t.peer)
	}
}

func (t *transfer) emit(e ending) {
	t.p.send(eventMsg{Kind: kindEvent, ID: t.id, Type: e.kind, Bytes: e.bytes, Rate: e.rate, Reason: e.reason,
		Failure: e.failure, Extra: e.extra})
}

func (t *transfer) rate(bytes int64) *int64 {
	seconds := time.Since(t.started).Seconds()
	if seconds < 0.001 {
		seconds = 0.001
	}
	r := int64(float64(bytes)/seconds + 0.5)
	return &r
}

func (t *transfer) run() {
	defer t.p.running.Done()
	t.started = time.Now()
	t.lastBlock = t.size/int64(t.blksize) + 1 // T2/T3: a trailing short (maybe empty) block
	if t.oack == nil {
		t.base.Store(1)
	}
	if end := t.serve(); end != nil {
		t.emit(*end)
	}
	t.mu.Lock()
	if t.open {
		t.sock.close()
		t.open = false
	}
	t.mu.Unlock()
	if t.blocking {
		t.p.blocking.Add(-1)
	}
	t.p.mu.Lock()
	delete(t.p.transfers, t.id)
	t.p.mu.Unlock()
	if t.file != nil {
		t.p.releaseFile(t.file)
	}
	t.p.send(closed(t.id, t.sent, t.malformed, t.p.openFileCount()))
}

// serve runs the transfer and says how it ended; nil when it was stopped (no event).
func (t *transfer) serve() *ending {
	t.blocking = t.p.blocking.Add(1) <= blockingSockets
	if !t.blocking {
		t.p.blocking.Add(-1)
	}
	if t.blocking {
		// A blocking transfer keeps its thread: no hand-off to another thread after each receive
		// (measured at windowsize 16: 4.1-4.4 ms CPU per MB instead of 5.3-6.2, steadier throughput).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	sock, err := openTransferSocket(t.p.address, t.blocking)
	if err != nil { // nothing went out: no block to report
		return &ending{kind: "failed", reason: "cannot open transfer socket: " + err.Error(),
			failure: &failure{Code: failInternal}}
	}
	t.mu.Lock()
	t.sock, t.open = sock, true
	if t.stopped.Load() || t.superseded.Load() {
		sock.wake()
	}
	t.mu.Unlock()
	t.p.send(eventMsg{Kind: kindEvent, ID: t.id, Type: "start"})
	t.slots = make([][]byte, t.windowsize)
	t.slotBlock = make([]int64, t.windowsize)
	t.slotLen = make([]int, t.windowsize)
	chunk := 64 * 1024
	if chunk < t.blksize {
		chunk = t.blksize
	}
	t.chunk = make([]byte, chunk)
	t.chunkAt = -1
	if err := t.transmit(t.base.Load()); err != nil {
		return t.failed(failReadError, err.Error())
	}
	t.rememberFirst()
	buf := make([]byte, 65536)
	for {
		if t.stopped.Load() {
			return nil
		}
		if t.superseded.Load() {
			// The client moved on from this port (dnsmasq's "abandoned transfer"): awaiting only the
			// final ACK counts as done.
			if t.base.Load() == t.lastBlock && t.sentUpTo == t.lastBlock {
				return t.done(nil)
			}
			return t.failed(failSuperseded, "client sent a new request from the same port")
		}
		wait := time.Until(t.due)
		if wait <= 0 {
			if end := t.onTimeout(); end != nil {
				return end
			}
			continue
		}
		t.setTimeout()
		n, from, err := t.sock.recv(buf)
		if err == errTimeout {
			t.deadline = time.Time{} // set it again before the next wait
			continue                 // the flag and deadline checks above decide
		}
		if err != nil {
			return t.failed(failInternal, "socket error: "+err.Error())
		}
		if !from.IsValid() {
			continue // woken: the flags above decide
		}
		if from != t.peer {
			// T16: a stranger gets ERROR 5 and the transfer is untouched (RFC 1350 §4).
			t.sock.send(t.p.unknownTID, from)
			continue
		}
		if n < 4 {
			t.malformed++
			continue
		}
		switch opcode(buf) {
		case opAck:
			if end := t.onAck(wireBlock(buf)); end != nil {
				return end
			}
		case opError:
			return t.onError(buf[:n])
		default:
			t.malformed++ // RRQ/WRQ/DATA/OACK from our client: dropped, transfer untouched
		}
	}
}

// acked is the bytes the client has acknowledged.
func (t *transfer) acked() int64 {
	b := t.base.Load() - 1
	if b < 0 {
		b = 0
	}
	if v := b * int64(t.blksize); v < t.size {
		return v
	}
	return t.size
}

// failed ends the transfer at the first unacknowledged block (0: the OACK was never acknowledged).
func (t *transfer) failed(code, reason string) *ending {
	block := t.base.Load()
	return &ending{kind: "failed", bytes: t.acked(), reason: reason, failure: &failure{Code: code, Block: &block}}
}

func (t *transfer) done(extra map[string]any) *ending {
	bytes := t.size
	if extra != nil && extra["probe"] == true {
		bytes = 0
	}
	return &ending{kind: "done", bytes: bytes, rate: t.rate(bytes), extra: extra}
}

func (t *transfer) onTimeout() *ending {
	base := t.base.Load()
	if t.retries >= t.maxRetries {
		switch {
		case base == t.lastBlock && t.sentUpTo == t.lastBlock && t.lastBlockAsked:
			// Still asked for after our last resend: the client never got it, and "done" would tell the
			// user a machine has a file it does not have.
			return t.failed(failLastBlockUnacked, fmt.Sprintf(
				"client never received the last block (%d): it still acknowledged block %d after the last resend",
				t.lastBlock, t.lastBlock-1))
		case base == t.lastBlock && t.sentUpTo == t.lastBlock:
			return t.done(nil) // lost final ACK: some clients never send it (dnsmasq), T14
		case base == 0:
			return t.failed(failClientSilent, "client never acknowledged the option reply (OACK)")
		default:
			return t.failed(failClientSilent, fmt.Sprintf("client stopped acknowledging at block %d", base))
		}
	}
	t.retries++
	if err := t.transmit(base); err != nil { // RFC 7440: a timeout resends the whole window
		return t.failed(failReadError, err.Error())
	}
	return nil
}

func (t *transfer) onAck(wire int64) *ending {
	base := t.base.Load()
	if base == 0 {
		if wire != 0 {
			return nil
		}
		t.mu.Lock()
		t.first = nil // until the first window is out, a repeated RRQ is left to the timer
		t.mu.Unlock()
		t.base.Store(1)
		t.retries = 0
		err := t.transmit(1)
		t.rememberFirst() // a repeated RRQ now gets the first window, not the OACK
		if err != nil {
			return t.failed(failReadError, err.Error())
		}
		return nil
	}
	// The newest sent block with that low half is the one meant (T15 rollover).
	acked := t.sentUpTo - ((t.sentUpTo - wire) & 0xffff)
	// Old, duplicate or future ACK: never resend on it (RFC 1123 4.2.3.1, T12); only the timer does.
	if acked < base || acked > t.sentUpTo {
		if acked == t.lastBlock-1 && base == t.lastBlock {
			t.lastBlockAsked = true
		}
		return nil
	}
	t.retries = 0
	t.base.Store(acked + 1)
	if acked >= t.lastBlock {
		return t.done(nil)
	}
	if now := time.Now(); now.Sub(t.lastProg) >= t.p.progress {
		t.lastProg = now
		bytes := t.acked()
		t.p.send(eventMsg{Kind: kindEvent, ID: t.id, Type: "progress", Bytes: bytes, Rate: t.rate(bytes)})
	}
	// Go-back-N: an ACK short of the window end means the client missed acked+1.
	var err error
	if acked < t.sentUpTo {
		t.sentUpTo = acked
		err = t.transmit(acked + 1)
	} else {
		err = t.transmit(t.sentUpTo + 1)
	}
	if err != nil {
		return t.failed(failReadError, err.Error())
	}
	return nil
}

func (t *transfer) onError(msg []byte) *ending {
	code, text := decodeError(msg)
	if t.base.Load() == 0 {
		options := optionsText(t.options)
		if code == errIllegal {
			// U8: the client rejected our OACK (EDK2 "Malformatted OACK packet"): a real failure.
			t.p.send(logLine("warn", "client rejected the option reply",
				map[string]any{"message": text, "options": options}))
			return t.failed(failOptionRefused, fmt.Sprintf(
				"client rejected the option reply (error %d: %s); options sent: %s", code, text, options))
		}
		// U6: EDK2 probes tsize, then aborts and asks again: normal, not a failure.
		t.p.send(logLine("debug", "client ended transfer after OACK",
			map[string]any{"code": code, "message": text, "options": options}))
		return t.done(map[string]any{"probe": true, "clientCode": code})
	}
	return t.failed(failClientError, fmt.Sprintf("client aborted at block %d (error %d: %s)", t.base.Load(), code, text))
}
