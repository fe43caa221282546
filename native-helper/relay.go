package main

// The relay loop: ONE goroutine on ONE P does all the work. Stdin and every bound socket sit in the
// relay's own epoll set (level-triggered); the goroutine parks on Go's poller until that set is
// readable, asks it what is ready and serves all of it. Every call it makes on the way cannot block
// (nonblocking fds, MSG_DONTWAIT, timeout 0), so it is a raw system call: entersyscall would wake a
// sleeping sysmon, which then polls every 20 µs for a millisecond (docs/helper.md, "Relay loop", has
// the measurements that chose this over receive goroutines or a blocking epoll_wait).

import (
	"encoding/binary"
	"os"
	"syscall"
	"unsafe"
)

const (
	batch    = 32    // datagrams per recvmmsg(2)
	slotSize = 65536 // > the largest UDP payload over IPv4 (65507): a datagram is never truncated
	oobSize  = 64    // room for the one control message asked for, IP_PKTINFO (CmsgSpace(12) = 32)
	inSize   = 1 << 18
)

// mmsghdr is struct mmsghdr of recvmmsg(2): a msghdr and the byte count the kernel fills in (Go pads
// the struct as C does on 32- and 64-bit targets).
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
}

type relay struct {
	epfd   int
	park   syscall.RawConn  // epfd on Go's poller (the RawConn keeps its File, which would close epfd, alive)
	polled bool             // stdin is in the epoll set (not a regular file or /dev/null, which epoll refuses)
	socks  [RolePxe + 1]int // fd per role, 0 = not bound (fd 0 is stdin, never a socket)
	rules  *Rules           // nil until bound
	in     []byte           // stdin bytes not yet decoded: in[:inLen]
	inLen  int              //
	hdrs   [batch]mmsghdr
	iovs   [batch]syscall.Iovec
	names  [batch]syscall.RawSockaddrInet4
	oob    [batch][oobSize]byte
	bufs   []byte // batch slots of slotSize; untouched pages cost no memory
	events [8]syscall.EpollEvent
}

// out holds the frames of one wakeup; flush writes them to stdout at once (one pipe write, one
// wakeup of the app, however many datagrams).
var out = make([]byte, 0, 1<<17)

// outNonblock: stdout is the app's pipe or socket, made nonblocking (a terminal or file stays as it is
// and is written with a blocking call).
var outNonblock bool

func emit(frame []byte) { out = append(out, frame...) }

func flush() {
	for done := 0; done < len(out); {
		var n uintptr
		var e syscall.Errno
		if outNonblock {
			n, _, e = syscall.RawSyscall(syscall.SYS_WRITE, 1, uintptr(unsafe.Pointer(&out[done])), uintptr(len(out)-done))
		} else {
			n, _, e = syscall.Syscall(syscall.SYS_WRITE, 1, uintptr(unsafe.Pointer(&out[done])), uintptr(len(out)-done))
		}
		switch {
		case e == syscall.EAGAIN: // the app has not read yet: wait for room, as a blocking pipe would
			waitFd(1, syscall.EPOLLOUT, -1)
		case e == syscall.EINTR:
		case e != 0: // the app is gone: nothing left to relay for
			os.Exit(0)
		default:
			done += int(n)
		}
	}
	out = out[:0]
}

// waitFd waits until fd is ready for events (POLLIN/POLLOUT share EPOLLIN/EPOLLOUT's values), at most
// ms milliseconds (-1: no limit); it says whether fd became ready.
func waitFd(fd int, events uint32, ms int) bool {
	pfd := struct {
		fd             int32
		events, revent int16
	}{int32(fd), int16(events), 0}
	var ts *syscall.Timespec
	if ms >= 0 {
		t := syscall.NsecToTimespec(int64(ms) * 1e6)
		ts = &t
	}
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1, uintptr(unsafe.Pointer(ts)), 0, 0, 0)
	return e == 0 && n == 1
}

func newRelay() *relay {
	r := &relay{in: make([]byte, inSize), bufs: make([]byte, batch*slotSize)}
	var err error
	if r.epfd, err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC); err != nil {
		fatal(EIO, "epoll: "+err.Error())
	}
	// Nonblocking only for the app's pipe or socket: a terminal shared with a shell must stay as it is.
	appEnd := func(fd int) bool {
		st := syscall.Stat_t{}
		return syscall.Fstat(fd, &st) == nil && (st.Mode&syscall.S_IFMT == syscall.S_IFIFO || st.Mode&syscall.S_IFMT == syscall.S_IFSOCK)
	}
	if appEnd(0) {
		syscall.SetNonblock(0, true)
	}
	if appEnd(1) {
		outNonblock = syscall.SetNonblock(1, true) == nil
	}
	// EPERM: a regular file or /dev/null, always readable; read directly, between waits that do not block.
	r.polled = syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, 0, &syscall.EpollEvent{Events: syscall.EPOLLIN}) == nil
	if err = syscall.SetNonblock(r.epfd, true); err == nil {
		r.park, err = os.NewFile(uintptr(r.epfd), "epoll").SyscallConn()
	}
	if err != nil {
		fatal(EIO, "epoll: "+err.Error())
	}
	for i := range r.hdrs {
		r.iovs[i] = syscall.Iovec{Base: &r.bufs[i*slotSize]}
		r.iovs[i].SetLen(slotSize)
		h := &r.hdrs[i].hdr
		h.Name, h.Iov, h.Control = (*byte)(unsafe.Pointer(&r.names[i])), &r.iovs[i], &r.oob[i][0]
		h.Iovlen = 1
	}
	return r
}

// watch adds a bound socket to the epoll set.
func (r *relay) watch(role byte, fd int) {
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
		fatal(EIO, "epoll: "+err.Error())
	}
	r.socks[role] = fd
}

// run relays until stdin closes or a bye frame; frame handles every whole frame from the app.
func (r *relay) run(frame func(r *relay, t byte, body []byte)) {
	for {
		n := 0
		if r.polled {
			// Parked on Go's poller, the P is idle, not in a system call: sysmon has nothing to take back
			// and sleeps until woken by a timer (none here), however long the wait.
			if err := r.park.Read(func(uintptr) bool { n = r.ready(); return n > 0 }); err != nil {
				fatal(EIO, "epoll: "+err.Error())
			}
		} else {
			r.readStdin(frame)
			n = r.ready()
		}
		for _, ev := range r.events[:n] {
			if ev.Fd == 0 {
				r.readStdin(frame)
			} else {
				r.receive(int(ev.Fd))
			}
			if len(out) >= 1<<16 {
				flush()
			}
		}
		flush()
	}
}

// ready fills r.events with what is ready now, without waiting.
func (r *relay) ready() int {
	n, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(r.epfd), uintptr(unsafe.Pointer(&r.events[0])), uintptr(len(r.events)), 0, 0, 0)
	if e == syscall.EINTR {
		return 0
	} else if e != 0 {
		fatal(EIO, "epoll: "+e.Error())
	}
	return int(n)
}

// readStdin reads what the app wrote and handles every whole frame in it; a frame cut short by EOF is
// malformed, as ReadFrame sees it.
func (r *relay) readStdin(frame func(r *relay, t byte, body []byte)) {
	// Raw: nonblocking, or epoll has just said it is readable (a terminal), or a regular file.
	rn, _, e := syscall.RawSyscall(syscall.SYS_READ, 0, uintptr(unsafe.Pointer(&r.in[r.inLen])), uintptr(len(r.in)-r.inLen))
	if e == syscall.EAGAIN || e == syscall.EINTR {
		return
	}
	if n := int(rn); e != 0 || n == 0 { // EOF (or a read error: the app's end is unusable either way)
		if r.inLen != 0 {
			fatal(EMalformed, "malformed frame")
		}
		flush()
		os.Exit(0)
	}
	r.inLen += int(rn)
	p, err := splitFrames(r.in[:r.inLen], func(t byte, body []byte) { frame(r, t, body) })
	if err != nil {
		fatal(EMalformed, "malformed frame")
	}
	r.inLen = copy(r.in, r.in[p:r.inLen]) // inSize > 4 + MaxFrame: a whole frame always fits
}

// splitFrames hands each whole frame at the start of b to frame and says how many bytes they took. The
// checks are ReadFrame's (frames.go), made on a buffer so that a partial frame waits for its rest
// instead of blocking the loop: a bad length as soon as its 4 bytes are in, version and type once the
// frame is whole (TestSplitFramesIsReadFrame holds the two together).
func splitFrames(b []byte, frame func(t byte, body []byte)) (int, error) {
	p := 0
	for len(b)-p >= 4 {
		l := int(binary.BigEndian.Uint32(b[p:]))
		if l < 2 || l > MaxFrame {
			return p, ErrMalformed
		}
		if len(b)-p < 4+l {
			break
		}
		f := b[p+4 : p+4+l]
		if f[0] != ProtocolVersion || f[1] < THello || f[1] > TBye {
			return p, ErrMalformed
		}
		p += 4 + l
		frame(f[1], f[2:])
	}
	return p, nil
}

// receive relays every datagram queued on one socket (up to batch; epoll reports the rest again). It
// never stops on a bad packet (the engines judge payloads), only on a socket error that cannot recover.
func (r *relay) receive(fd int) {
	role := byte(0)
	for i, s := range r.socks {
		if s == fd {
			role = byte(i)
		}
	}
	for i := range r.hdrs {
		r.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrInet4 // the kernel overwrites both lengths
		r.hdrs[i].hdr.SetControllen(oobSize)
	}
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])), batch, syscall.MSG_DONTWAIT, 0, 0)
	if e == syscall.EAGAIN || e == syscall.EINTR || e == syscall.ECONNREFUSED {
		return
	} else if e != 0 {
		fatal(EIO, "receive: "+e.Error())
	}
	for i := 0; i < int(n); i++ {
		h, sa := &r.hdrs[i], &r.names[i]
		if sa.Family != syscall.AF_INET {
			continue
		}
		port := (*[2]byte)(unsafe.Pointer(&sa.Port))
		d := Dgram{Role: role, Src: sa.Addr, SrcPort: uint16(port[0])<<8 | uint16(port[1]), Payload: r.bufs[i*slotSize : i*slotSize+int(h.n)]}
		// IP_PKTINFO is the one control message asked for: read it in place.
		oob := r.oob[i][:]
		if c := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0])); int(h.hdr.Controllen) >= syscall.CmsgLen(syscall.SizeofInet4Pktinfo) && c.Level == syscall.IPPROTO_IP && c.Type == syscall.IP_PKTINFO {
			pi := (*syscall.Inet4Pktinfo)(unsafe.Pointer(&oob[syscall.CmsgLen(0)]))
			d.Ifindex, d.Dst = uint32(pi.Ifindex), pi.Addr // ipi_addr: the header destination
		}
		r.rules.Seen(role, d.Src, d.SrcPort, d.Payload)
		out = appendDgramIn(out, d)
	}
}

// appendDgramIn appends EncodeDgramIn(d)'s bytes to b without building the frame apart
// (TestAppendDgramInIsEncodeDgramIn holds the two together).
func appendDgramIn(b []byte, d Dgram) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(2+15+len(d.Payload)))
	b = binary.BigEndian.AppendUint32(append(b, ProtocolVersion, TDgramIn, d.Role), d.Ifindex)
	b = binary.BigEndian.AppendUint16(append(b, d.Src[:]...), d.SrcPort)
	return append(append(b, d.Dst[:]...), d.Payload...)
}

// send sends one dgram-out the rules allow from its role's socket. A full send buffer (EAGAIN) waits
// for room, as a blocking socket would, but at most a second: then the send is reported failed.
func (r *relay) send(d Dgram) {
	to := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: d.Dst}
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&to.Port))[:], d.DstPort)
	var p unsafe.Pointer
	if len(d.Payload) > 0 {
		p = unsafe.Pointer(&d.Payload[0])
	}
	fd := r.socks[d.Role]
	for {
		_, _, e := syscall.RawSyscall6(sysSendto, uintptr(fd), uintptr(p), uintptr(len(d.Payload)), 0, uintptr(unsafe.Pointer(&to)), syscall.SizeofSockaddrInet4)
		if e == syscall.EINTR || (e == syscall.EAGAIN && waitFd(fd, syscall.EPOLLOUT, 1000)) {
			continue
		}
		if e != 0 {
			emit(EncodeError(EIO, false, "send failed: "+e.Error()))
		}
		return
	}
}
