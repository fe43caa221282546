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
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Protocol is TFTP_WORKER_PROTOCOL in worker-protocol.ts.
const Protocol = 1

const (
	opData  = 3
	opAck   = 4
	opError = 5

	errIllegal    = 4
	errUnknownTID = 5
)

type identity struct {
	Dev     float64 `json:"dev"`
	Ino     float64 `json:"ino"`
	Size    int64   `json:"size"`
	MtimeMs float64 `json:"mtimeMs"`
}

// option is one negotiated RFC 2347 option, as the engine echoed it in the OACK.
type option struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type negotiated struct {
	Blksize    int      `json:"blksize"`
	Windowsize int      `json:"windowsize"`
	Oack       []option `json:"oack"`
}

type toPump struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Client struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	} `json:"client"`
	File         string     `json:"file"`
	Path         string     `json:"path"`
	Identity     *identity  `json:"identity"`
	Data         []byte     `json:"data"` // base64: virtual files and netascii text
	Neg          negotiated `json:"neg"`
	Oack         []byte     `json:"oack"` // base64; absent when nothing was negotiated
	RetransmitMs int        `json:"retransmitMs"`
	MaxRetries   int        `json:"maxRetries"`
}

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

type sharedFile struct {
	key  string
	f    *os.File
	refs int
}

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
	p := &pump{
		progress:   time.Duration(*progressMs) * time.Millisecond,
		out:        bufio.NewWriter(os.Stdout),
		transfers:  map[string]*transfer{},
		files:      map[string]*sharedFile{},
		unknownTID: errorPacket(errUnknownTID, "Unknown transfer ID"),
	}
	copy(p.address[:], ip)
	p.serve(os.Stdin)
}

func (p *pump) serve(in io.Reader) {
	lines := bufio.NewScanner(in)
	lines.Buffer(make([]byte, 64*1024), 64*1024*1024) // virtual files travel inline
	for lines.Scan() {
		var m toPump
		if err := json.Unmarshal(lines.Bytes(), &m); err != nil {
			p.send(map[string]any{"kind": "log", "level": "warn", "message": "pump: malformed command",
				"fields": map[string]any{"error": err.Error()}})
			continue
		}
		switch m.Kind {
		case "start":
			p.start(&m)
		case "resend":
			if t := p.lookup(m.ID); t != nil {
				t.resendFirst()
			} else {
				p.send(map[string]any{"kind": "stale", "id": m.ID})
			}
		case "supersede":
			if t := p.lookup(m.ID); t != nil {
				t.interrupt(&t.superseded)
			}
		case "stop":
			p.stopAll()
			p.send(map[string]any{"kind": "stopped"})
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

func (p *pump) send(m map[string]any) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	p.outMu.Lock()
	defer p.outMu.Unlock()
	p.out.Write(append(b, '\n'))
	p.out.Flush()
}

// open shares one read-only handle per file version, like FileCache in file-cache.ts, and checks that
// the file opened is the one the engine confined and stat'ed (a swap in between is refused, S7).
func (p *pump) open(path string, id *identity) (*sharedFile, string) {
	key := fmt.Sprintf("%v:%v:%d:%v", id.Dev, id.Ino, id.Size, id.MtimeMs)
	p.mu.Lock()
	if s := p.files[key]; s != nil {
		s.refs++
		p.mu.Unlock()
		return s, ""
	}
	p.mu.Unlock()
	// O_NONBLOCK: a FIFO swapped in after the engine's stat must not block this goroutine.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Sprintf("cannot open (%s)", errnoName(err))
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG ||
		float64(st.Ino) != id.Ino || float64(st.Dev) != id.Dev {
		f.Close()
		return nil, "not a regular file"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.files[key]; s != nil { // opened meanwhile by another transfer
		f.Close()
		s.refs++
		return s, ""
	}
	s := &sharedFile{key: key, f: f, refs: 1}
	p.files[key] = s
	p.openFiles++
	return s, ""
}

func (p *pump) releaseFile(s *sharedFile) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.refs--; s.refs == 0 {
		delete(p.files, s.key)
		s.f.Close()
		p.openFiles--
	}
}

func errnoName(err error) string {
	var errno syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		if e, ok := pe.Err.(syscall.Errno); ok {
			errno = e
		}
	}
	names := map[syscall.Errno]string{syscall.ENOENT: "ENOENT", syscall.EACCES: "EACCES",
		syscall.EPERM: "EPERM", syscall.EISDIR: "EISDIR", syscall.ELOOP: "ELOOP", syscall.EMFILE: "EMFILE"}
	if n, ok := names[errno]; ok {
		return n
	}
	return "error"
}

func errorPacket(code int, text string) []byte {
	return append(append([]byte{0, opError, byte(code >> 8), byte(code)}, text...), 0)
}

func (p *pump) start(m *toPump) {
	ip := net.ParseIP(m.Client.Address).To4()
	bs, ws := m.Neg.Blksize, m.Neg.Windowsize
	if ip == nil || m.Client.Port <= 0 || m.Client.Port > 65535 || bs < 8 || bs > 65464 || ws < 1 || ws > 65535 {
		p.send(map[string]any{"kind": "refused", "id": m.ID, "reason": "bad transfer parameters"})
		return
	}
	t := &transfer{p: p, id: m.ID, blksize: bs, windowsize: ws, oack: m.Oack,
		retransmit: time.Duration(m.RetransmitMs) * time.Millisecond, maxRetries: m.MaxRetries, options: m.Neg.Oack}
	if t.retransmit <= 0 {
		t.retransmit = time.Second
	}
	t.peer = netip.AddrPortFrom(netip.AddrFrom4([4]byte{ip[0], ip[1], ip[2], ip[3]}), uint16(m.Client.Port))
	switch {
	case m.Path != "" && m.Identity != nil:
		s, reason := p.open(m.Path, m.Identity)
		if s == nil {
			p.send(map[string]any{"kind": "refused", "id": m.ID, "reason": reason})
			return
		}
		t.file, t.reader, t.size = s, s.f, m.Identity.Size
		p.mu.Lock()
		open := p.openFiles
		p.mu.Unlock()
		p.send(map[string]any{"kind": "opened", "openFiles": open})
	case m.Data != nil:
		t.reader, t.size = bytesReader(m.Data), int64(len(m.Data))
	default:
		p.send(map[string]any{"kind": "refused", "id": m.ID, "reason": "nothing to send"})
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

type bytesReader []byte

func (b bytesReader) ReadAt(dst []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	return copy(dst, b[off:]), nil
}

// transfer is one RRQ's data phase: RFC 1350 §4 (own TID), RFC 2347 OACK, RFC 7440 windows.
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

func (t *transfer) emit(kind string, bytes int64, extra map[string]any) {
	m := map[string]any{"kind": "event", "id": t.id, "type": kind, "bytes": bytes}
	for k, v := range extra {
		m[k] = v
	}
	t.p.send(m)
}

func (t *transfer) rate(bytes int64) int64 {
	seconds := time.Since(t.started).Seconds()
	if seconds < 0.001 {
		seconds = 0.001
	}
	return int64(float64(bytes)/seconds + 0.5)
}

func (t *transfer) run() {
	defer t.p.running.Done()
	t.started = time.Now()
	t.lastBlock = t.size/int64(t.blksize) + 1 // T2/T3: a trailing short (maybe empty) block
	if t.oack == nil {
		t.base.Store(1)
	}
	outcome, bytes, extra := t.serve()
	if outcome != "" {
		t.emit(outcome, bytes, extra)
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
	t.p.mu.Lock()
	open := t.p.openFiles
	t.p.mu.Unlock()
	t.p.send(map[string]any{"kind": "closed", "id": t.id, "sent": t.sent, "malformed": t.malformed,
		"openFiles": open})
}

// serve runs the transfer and says how it ended: "done", "failed" (with a reason) or "" (stopped).
func (t *transfer) serve() (string, int64, map[string]any) {
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
	if err != nil {
		return "failed", 0, map[string]any{"reason": "cannot open transfer socket: " + err.Error()}
	}
	t.mu.Lock()
	t.sock, t.open = sock, true
	if t.stopped.Load() || t.superseded.Load() {
		sock.wake()
	}
	t.mu.Unlock()
	t.emit("start", 0, nil)
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
		return t.failed(err.Error())
	}
	t.rememberFirst()
	buf := make([]byte, 65536)
	for {
		if t.stopped.Load() {
			return "", 0, nil
		}
		if t.superseded.Load() {
			// The client moved on from this port (dnsmasq's "abandoned transfer"): awaiting only the
			// final ACK counts as done.
			if t.base.Load() == t.lastBlock && t.sentUpTo == t.lastBlock {
				return t.done(nil)
			}
			return t.failed("client sent a new request from the same port")
		}
		wait := time.Until(t.due)
		if wait <= 0 {
			if end, bytes, extra := t.onTimeout(); end != "" {
				return end, bytes, extra
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
			return t.failed("socket error: " + err.Error())
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
		switch int(buf[0])<<8 | int(buf[1]) {
		case opAck:
			if end, bytes, extra, err := t.onAck(int64(buf[2])<<8 | int64(buf[3])); err != nil {
				return t.failed(err.Error())
			} else if end != "" {
				return end, bytes, extra
			}
		case opError:
			return t.onError(buf[:n])
		default:
			t.malformed++ // RRQ/WRQ/DATA/OACK from our client: dropped, transfer untouched
		}
	}
}

// setTimeout moves the read deadline to the loss deadline only when it changed by a millisecond or
// more: in steady state each send moves it by microseconds, and a timer update per packet is waste
// (a deadline that fires a little early only loops back to the check above).
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

func (t *transfer) failed(reason string) (string, int64, map[string]any) {
	return "failed", t.acked(), map[string]any{"reason": reason}
}

func (t *transfer) done(extra map[string]any) (string, int64, map[string]any) {
	bytes := t.size
	if extra != nil && extra["probe"] == true {
		bytes = 0
	}
	out := map[string]any{"rate": t.rate(bytes)}
	if extra != nil {
		out["extra"] = extra
	}
	return "done", bytes, out
}

func (t *transfer) onTimeout() (string, int64, map[string]any) {
	base := t.base.Load()
	if t.retries >= t.maxRetries {
		switch {
		case base == t.lastBlock && t.sentUpTo == t.lastBlock && t.lastBlockAsked:
			// Still asked for after our last resend: the client never got it, and "done" would tell the
			// user a machine has a file it does not have.
			return t.failed(fmt.Sprintf("client never received the last block (%d): it still acknowledged block %d after the last resend",
				t.lastBlock, t.lastBlock-1))
		case base == t.lastBlock && t.sentUpTo == t.lastBlock:
			return t.done(nil) // lost final ACK: some clients never send it (dnsmasq), T14
		case base == 0:
			return t.failed("client never acknowledged the option reply (OACK)")
		default:
			return t.failed(fmt.Sprintf("client stopped acknowledging at block %d", base))
		}
	}
	t.retries++
	if err := t.transmit(base); err != nil { // RFC 7440: a timeout resends the whole window
		return t.failed(err.Error())
	}
	return "", 0, nil
}

func (t *transfer) onAck(wire int64) (string, int64, map[string]any, error) {
	base := t.base.Load()
	if base == 0 {
		if wire != 0 {
			return "", 0, nil, nil
		}
		t.mu.Lock()
		t.first = nil // until the first window is out, a repeated RRQ is left to the timer
		t.mu.Unlock()
		t.base.Store(1)
		t.retries = 0
		err := t.transmit(1)
		t.rememberFirst() // a repeated RRQ now gets the first window, not the OACK
		return "", 0, nil, err
	}
	// The newest sent block with that low half is the one meant (T15 rollover).
	acked := t.sentUpTo - ((t.sentUpTo - wire) & 0xffff)
	// Old, duplicate or future ACK: never resend on it (RFC 1123 4.2.3.1, T12); only the timer does.
	if acked < base || acked > t.sentUpTo {
		if acked == t.lastBlock-1 && base == t.lastBlock {
			t.lastBlockAsked = true
		}
		return "", 0, nil, nil
	}
	t.retries = 0
	t.base.Store(acked + 1)
	if acked >= t.lastBlock {
		end, bytes, extra := t.done(nil)
		return end, bytes, extra, nil
	}
	if now := time.Now(); now.Sub(t.lastProg) >= t.p.progress {
		t.lastProg = now
		bytes := t.acked()
		t.emit("progress", bytes, map[string]any{"rate": t.rate(bytes)})
	}
	// Go-back-N: an ACK short of the window end means the client missed acked+1.
	if acked < t.sentUpTo {
		t.sentUpTo = acked
		return "", 0, nil, t.transmit(acked + 1)
	}
	return "", 0, nil, t.transmit(t.sentUpTo + 1)
}

func (t *transfer) onError(msg []byte) (string, int64, map[string]any) {
	code := int(msg[2])<<8 | int(msg[3])
	text := msg[4:]
	for i, c := range text {
		if c == 0 {
			text = text[:i]
			break
		}
	}
	clean := sanitise(text)
	if t.base.Load() == 0 {
		options := ""
		for i, o := range t.options {
			if i > 0 {
				options += " "
			}
			options += o.Name + "=" + o.Value
		}
		if code == errIllegal {
			// U8: the client rejected our OACK (EDK2 "Malformatted OACK packet"): a real failure.
			t.p.send(map[string]any{"kind": "log", "level": "warn", "message": "client rejected the option reply",
				"fields": map[string]any{"message": clean, "options": options}})
			return t.failed(fmt.Sprintf("client rejected the option reply (error %d: %s); options sent: %s",
				code, clean, options))
		}
		// U6: EDK2 probes tsize, then aborts and asks again: normal, not a failure.
		t.p.send(map[string]any{"kind": "log", "level": "debug", "message": "client ended transfer after OACK",
			"fields": map[string]any{"code": code, "message": clean, "options": options}})
		return t.done(map[string]any{"probe": true, "clientCode": code})
	}
	return t.failed(fmt.Sprintf("client aborted at block %d (error %d: %s)", t.base.Load(), code, clean))
}

// sanitise mirrors sanitiseName in packet.ts (latin1 text, control characters escaped, 128 max).
func sanitise(text []byte) string {
	out := make([]rune, 0, len(text))
	for _, c := range text {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			out = append(out, []rune(fmt.Sprintf(`\x%02x`, c))...)
		} else {
			out = append(out, rune(c))
		}
		if len(out) >= 128 {
			return string(out[:128]) + "…"
		}
	}
	return string(out)
}

// transmit sends the window from block `from` to base+windowsize-1 (RFC 7440) and moves the deadline.
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
		packet[1] = opData
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
	packet[2], packet[3] = byte(block>>8), byte(block) // §3.4: the u16 wraps to 0 past 65535
	t.slotBlock[slot] = block
	t.slotLen[slot] = int(length) + 4
	return nil
}
