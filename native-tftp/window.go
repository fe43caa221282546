//go:build linux

package main

// Sending side of a transfer: the DATA window (RFC 7440) built from a read-ahead chunk, the loss
// deadline with back-off, and the copies a repeated RRQ is answered with.

import (
	"fmt"
	"io"
	"time"
)

// transmit sends the window from block `from` to base+windowsize-1 (RFC 7440) and moves the deadline.
// Its only error is a failed read of the file.
func (t *transfer) transmit(from int64) error {
	base := t.base.Load()
	if base == 0 {
		t.put(t.oack)
	} else {
		end := base + int64(t.windowsize) - 1
		if end > t.lastBlock {
			end = t.lastBlock
		}
		if from < base {
			from = base
		}
		for block := from; block <= end; block++ {
			slot := int(block % int64(t.windowsize))
			if t.slotBlock[slot] != block {
				if err := t.fill(slot, block); err != nil {
					return err
				}
			}
			t.put(t.slots[slot][:t.slotLen[slot]])
			if block > t.sentUpTo {
				t.sentUpTo = block
			}
			if block == t.lastBlock {
				t.lastBlockAsked = false
			}
		}
	}
	interval := t.retransmit
	if t.retries > 0 { // exponential back-off, capped (RFC 1123 §4.2.3.2; docs/protocol-notes.md §9)
		interval = t.retransmit << t.retries
		if limit := 8 * time.Second; interval > limit || interval <= 0 {
			interval = limit
			if t.retransmit > limit {
				interval = t.retransmit
			}
		}
	}
	t.due = time.Now().Add(interval)
	return nil
}

// setTimeout moves the read deadline to the loss deadline only when it changed by a millisecond or
// more: in steady state each send moves it by microseconds, and a timer update per packet is waste
// (a deadline that fires a little early only loops back to the check in serve).
func (t *transfer) setTimeout() {
	if d := t.due.Sub(t.deadline); d > -time.Millisecond && d < time.Millisecond {
		return
	}
	t.deadline = t.due
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.stopped.Load() && !t.superseded.Load() { // never undo a wake
		t.sock.deadline(t.due)
	}
}

func (t *transfer) put(packet []byte) {
	t.sent++
	t.sock.send(packet, t.peer)
}

// rememberFirst keeps copies of what was sent first, for resendFirst (a repeated RRQ).
func (t *transfer) rememberFirst() {
	var first [][]byte
	if t.base.Load() == 0 {
		first = [][]byte{t.oack}
	} else if t.sentUpTo*int64(t.blksize) <= 256*1024 { // a huge first window is left to the timer
		for block := int64(1); block <= t.sentUpTo; block++ {
			slot := int(block % int64(t.windowsize))
			first = append(first, append([]byte(nil), t.slots[slot][:t.slotLen[slot]]...))
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.first = first
	if t.resendPending && t.open {
		t.resendPending = false
		for _, packet := range first {
			t.sock.send(packet, t.peer)
		}
	}
}

// fill builds DATA `block` into `slot` from the read-ahead chunk (one pread per 64 KiB, not per block).
func (t *transfer) fill(slot int, block int64) error {
	packet := t.slots[slot]
	if packet == nil {
		packet = make([]byte, t.blksize+4)
		t.slots[slot] = packet
	}
	position := (block - 1) * int64(t.blksize)
	length := t.size - position
	if length > int64(t.blksize) {
		length = int64(t.blksize)
	}
	if length < 0 {
		length = 0
	}
	if length > 0 && (t.chunkAt < 0 || position < t.chunkAt || position+length > t.chunkAt+int64(t.chunkLen)) {
		n, err := t.reader.ReadAt(t.chunk, position)
		if int64(n) < length {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read error: %v", err)
		}
		t.chunkAt, t.chunkLen = position, n
	}
	if length > 0 {
		copy(packet[4:], t.chunk[position-t.chunkAt:position-t.chunkAt+length])
	}
	dataHeader(packet, block)
	t.slotBlock[slot] = block
	t.slotLen[slot] = int(length) + 4
	return nil
}
