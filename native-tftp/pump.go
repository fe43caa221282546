//go:build linux

package main

// The pump: reads the engine's commands (one JSON line each), starts and steers transfers, and writes
// their messages back (contract.go). One goroutine per transfer (transfer.go).

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

type pump struct {
	address    [4]byte
	progress   time.Duration
	out        *bufio.Writer
	outMu      sync.Mutex
	mu         sync.Mutex
	transfers  map[string]*transfer
	files      map[string]*sharedFile
	openFiles  int
	running    sync.WaitGroup
	stopping   bool
	blocking   atomic.Int32 // transfers on a blocking socket (socket.go)
	unknownTID []byte
}

func newPump(address [4]byte, progress time.Duration, out io.Writer) *pump {
	return &pump{
		address:    address,
		progress:   progress,
		out:        bufio.NewWriter(out),
		transfers:  map[string]*transfer{},
		files:      map[string]*sharedFile{},
		unknownTID: errorPacket(errUnknownTID, "Unknown transfer ID"),
	}
}

func (p *pump) serve(in io.Reader) {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64*1024), 64*1024*1024) // virtual files travel inline
	for lines.Scan() {
		var m toPump
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			p.send(logLine("warn", "pump: malformed command", map[string]any{"error": err.Error()}))
			continue
		}
		switch m.Kind {
		case kindStart:
			p.start(&m)
		case kindResend:
			if t := p.lookup(m.ID); t != nil {
				t.resendFirst()
			} else {
				p.send(stale(m.ID))
			}
		case kindSupersede:
			if t := p.lookup(m.ID); t != nil {
				t.interrupt(&t.superseded)
			}
		case kindStop:
			p.stopAll()
			p.send(stopped())
		}
	}
	p.stopAll() // stdin closed: the engine is gone
}

func (p *pump) lookup(id string) *transfer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.transfers[id]
}

func (p *pump) stopAll() {
	p.mu.Lock()
	p.stopping = true
	for _, t := range p.transfers {
		t.interrupt(&t.stopped)
	}
	p.mu.Unlock()
	p.running.Wait()
	p.mu.Lock()
	p.stopping = false
	p.mu.Unlock()
}

// send writes one message of contract.go as a line.
func (p *pump) send(m any) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	p.outMu.Lock()
	defer p.outMu.Unlock()
	p.out.Write(append(b, '\n'))
	p.out.Flush()
}

func (p *pump) start(m *toPump) {
	ip := net.ParseIP(m.Client.Address).To4()
	if ip == nil || m.Client.Port <= 0 || m.Client.Port > 65535 || !m.Neg.valid() {
		p.send(refused(m.ID, "bad transfer parameters"))
		return
	}
	t := &transfer{p: p, id: m.ID, blksize: m.Neg.Blksize, windowsize: m.Neg.Windowsize, oack: m.Oack,
		retransmit: time.Duration(m.RetransmitMs) * time.Millisecond, maxRetries: m.MaxRetries, options: m.Neg.Oack}
	if t.retransmit <= 0 {
		t.retransmit = time.Second
	}
	t.peer = netip.AddrPortFrom(netip.AddrFrom4([4]byte{ip[0], ip[1], ip[2], ip[3]}), uint16(m.Client.Port))
	switch {
	case m.Path != "" && m.Identity != nil:
		s, reason := p.open(m.Path, m.Identity)
		if s == nil {
			p.send(refused(m.ID, reason))
			return
		}
		t.file, t.reader, t.size = s, s.f, m.Identity.Size
		if m.Extents != nil {
			r, ok := newExtentReader(s.f, m.Extents, m.Identity.Size)
			if !ok {
				p.releaseFile(s)
				p.send(refused(m.ID, "bad member extents"))
				return
			}
			t.reader, t.size = r, r.size
		}
		p.send(opened(p.openFileCount()))
	case m.Data != nil:
		t.reader, t.size = bytesReader(m.Data), int64(len(m.Data))
	default:
		p.send(refused(m.ID, "nothing to send"))
		return
	}
	p.mu.Lock()
	p.transfers[m.ID] = t
	p.running.Add(1)
	stopping := p.stopping
	p.mu.Unlock()
	if stopping {
		t.stopped.Store(true)
	}
	go t.run()
}
