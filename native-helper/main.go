// pxe-desk-helper: the only privileged code of PXE Desk (docs/helper.md).
//
// Binds the UDP roles one session asks for (67/68/69/4011, or unprivileged test ports >= 1024) on ONE
// interface, drops privileges at once, then relays datagrams over a framed stdin/stdout protocol
// (frames.go) and sends only what rules.go allows. Reads no environment except PKEXEC_UID / SUDO_UID /
// SUDO_GID, takes no paths, runs no commands, logs to stderr only, exits when stdin closes.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// outMu keeps frames whole: receive goroutines and the frame loop all write to stdout.
var outMu sync.Mutex

func emit(frame []byte) {
	outMu.Lock()
	defer outMu.Unlock()
	if _, err := os.Stdout.Write(frame); err != nil {
		// The app is gone: nothing left to relay for.
		os.Exit(0)
	}
}

func fatal(code byte, msg string) {
	fmt.Fprintln(os.Stderr, "pxe-desk-helper:", msg)
	emit(EncodeError(code, true, msg))
	os.Exit(2)
}

// main is a strict state machine: bind exactly once, then only dgram-out; anything else (a frame
// before bind, a second bind, an unknown or malformed frame) is fatal and nothing is sent (fail closed).
func main() {
	emit(EncodeFrame(THello, []byte("pxe-desk-helper/1")))
	// Nonblocking stdin and sockets run on Go's poller: one thread waits for all of them in one epoll.
	// Blocking reads parked a thread each, so every datagram cost thread hand-offs (bench/README.md).
	// Only the app's pipe or socket: a terminal shared with a shell must stay as it is.
	if st := (syscall.Stat_t{}); syscall.Fstat(0, &st) == nil && (st.Mode&syscall.S_IFMT == syscall.S_IFIFO || st.Mode&syscall.S_IFMT == syscall.S_IFSOCK) {
		syscall.SetNonblock(0, true)
	}
	in := bufio.NewReaderSize(os.NewFile(0, "stdin"), 1<<16)
	var socks map[byte]syscall.RawConn
	var rules *Rules
	for {
		f, err := ReadFrame(in)
		switch {
		case err == io.EOF || (err == nil && f.Type == TBye):
			return
		case err != nil:
			fatal(EMalformed, "malformed frame")
		case f.Type == TBind && socks == nil:
			socks, rules = start(f.Body)
		case f.Type == TDgramOut && socks != nil:
			send(socks, rules, f.Body)
		default:
			fatal(EMalformed, "unexpected frame type "+strconv.Itoa(int(f.Type)))
		}
	}
}

// start binds every requested role, drops privileges, reports bound and starts the receive loops.
func start(body []byte) (map[byte]syscall.RawConn, *Rules) {
	bd, err := DecodeBind(body)
	if err != nil {
		fatal(EMalformed, "malformed bind frame")
	}
	socks, ifindex := bindAll(bd)
	if err := dropPrivileges(); err != nil {
		fatal(EPermission, "cannot drop privileges: "+err.Error())
	}
	serverPort := uint16(67)
	for _, p := range bd.Ports {
		if p.Role == RoleDhcp {
			serverPort = p.Port
		} else if p.Role == RoleDhcpClient && p.Port != 68 {
			serverPort = p.Port - 1
		}
	}
	rules := NewRules(serverPort, time.Now)
	emit(EncodeBound(ifindex, bd.Ports))
	for role, rc := range socks {
		go receive(role, rc, rules)
	}
	return socks, rules
}

func send(socks map[byte]syscall.RawConn, rules *Rules, body []byte) {
	d, err := DecodeDgramOut(body)
	if err != nil {
		fatal(EMalformed, "malformed datagram-out frame")
	}
	rc, bound := socks[d.Role]
	if !bound || !rules.Allowed(d) {
		emit(EncodeError(ESendRefused, false, fmt.Sprintf("refused: role %d to %v:%d", d.Role, d.Dst, d.DstPort)))
		return
	}
	// A full send buffer (EAGAIN) waits on the poller for room, as a blocking socket would.
	to, err := &syscall.SockaddrInet4{Port: int(d.DstPort), Addr: d.Dst}, error(nil)
	rc.Write(func(fd uintptr) bool { err = syscall.Sendto(int(fd), d.Payload, 0, to); return err != syscall.EAGAIN })
	if err != nil {
		emit(EncodeError(EIO, false, "send failed: "+err.Error()))
	}
}

// bindAll opens every requested role or fails closed with one error frame naming the cause.
func bindAll(bd Bind) (map[byte]syscall.RawConn, uint32) {
	// Not net.InterfaceByName: package net links cgo, and AllThreadsSyscall (capset) refuses cgo.
	probe, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		fatal(EIO, "socket: "+err.Error())
	}
	var r struct {
		name [16]byte
		data [24]byte // ifr_ifindex / ifr_flags
	}
	copy(r.name[:15], bd.Iface)
	ioctl := func(req uintptr) syscall.Errno {
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(probe), req, uintptr(unsafe.Pointer(&r)))
		return e
	}
	if ioctl(syscall.SIOCGIFINDEX) != 0 {
		fatal(EIfaceMissing, "interface "+bd.Iface+" does not exist")
	}
	ifindex := *(*uint32)(unsafe.Pointer(&r.data[0]))
	if ioctl(syscall.SIOCGIFFLAGS) != 0 || *(*uint16)(unsafe.Pointer(&r.data[0]))&syscall.IFF_UP == 0 {
		fatal(EIfaceDown, "interface "+bd.Iface+" is down")
	}
	syscall.Close(probe)
	socks := map[byte]syscall.RawConn{}
	for _, p := range bd.Ports {
		if !PortAllowed(p.Role, p.Port) {
			fatal(EBadPort, fmt.Sprintf("port %d is not allowed for role %d", p.Port, p.Role))
		}
		if _, dup := socks[p.Role]; dup {
			fatal(EMalformed, "role requested twice")
		}
		rc, err := bindOne(bd.Iface, p.Port, p.Role == RoleDhcpClient)
		if err != nil {
			code, known := bindErrors[err]
			if !known {
				code = EIO
			}
			fatal(code, fmt.Sprintf("bind udp port %d on %s: %v", p.Port, bd.Iface, err))
		}
		socks[p.Role] = rc
	}
	return socks, ifindex
}

var bindErrors = map[error]byte{syscall.EADDRINUSE: EPortInUse, syscall.EACCES: EPermission,
	syscall.EPERM: EPermission, syscall.ENODEV: EIfaceMissing}

// bindOne: SO_REUSEADDR only when shared (68, with the OS's DHCP client). Two UDP sockets that both
// set it may bind the same port on the same NIC, so on 67/69/4011 a second PXE Desk would bind
// silently and answer too; without it, it gets EADDRINUSE ("port in use").
func bindOne(iface string, port uint16, shared bool) (syscall.RawConn, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	// IP_PKTINFO: arrival ifindex and header destination; 4 MiB SO_RCVBUF: holds a DISCOVER burst.
	opts := [][3]int{{syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1}, {syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1},
		{syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4 << 20}}
	if shared {
		opts = append(opts, [3]int{syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1})
	}
	for _, opt := range opts {
		if err == nil {
			err = syscall.SetsockoptInt(fd, opt[0], opt[1], opt[2])
		}
	}
	// Pin to the chosen NIC: broadcasts leave only there and only its traffic is received.
	if err == nil {
		err = syscall.BindToDevice(fd, iface)
	}
	if err == nil {
		err = syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(port)})
	}
	if err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "").SyscallConn() // on Go's poller; the RawConn keeps the File alive
}

// receive relays every datagram of one socket; it never stops on a bad packet (the engines judge
// payloads), only on a socket error that cannot recover. Each wakeup takes all that is queued and
// writes those frames at once: one pipe write and one wakeup of the app per burst.
func receive(role byte, rc syscall.RawConn, rules *Rules) {
	buf, oob, out := make([]byte, 65536), make([]byte, 256), make([]byte, 0, 1<<17)
	for {
		err := rc.Read(func(fd uintptr) bool {
			for len(out) < 1<<16 {
				n, oobn, _, from, err := syscall.Recvmsg(int(fd), buf, oob, 0)
				if err == syscall.EAGAIN {
					return len(out) > 0
				} else if err != nil && err != syscall.EINTR && err != syscall.ECONNREFUSED {
					fatal(EIO, "receive: "+err.Error())
				}
				if src, ok := from.(*syscall.SockaddrInet4); ok && err == nil {
					d := Dgram{Role: role, Src: src.Addr, SrcPort: uint16(src.Port), Payload: buf[:n]}
					// IP_PKTINFO is the one control message asked for: read it in place (no allocation).
					if h := (*syscall.Cmsghdr)(unsafe.Pointer(&oob[0])); oobn >= syscall.CmsgLen(syscall.SizeofInet4Pktinfo) && h.Level == syscall.IPPROTO_IP && h.Type == syscall.IP_PKTINFO {
						pi := (*syscall.Inet4Pktinfo)(unsafe.Pointer(&oob[syscall.CmsgLen(0)]))
						d.Ifindex, d.Dst = uint32(pi.Ifindex), pi.Addr // ipi_addr: the header destination
					}
					rules.Seen(role, d.Src, d.SrcPort, d.Payload)
					out = append(out, EncodeDgramIn(d)...)
				}
			}
			return true
		})
		if err != nil {
			fatal(EIO, "receive: "+err.Error())
		}
		emit(out)
		out = out[:0]
	}
}

// dropPrivileges: become the invoking user (pkexec/sudo) or, with file capabilities, shrink the
// capability sets to nothing. Sockets already bound keep working. A root or unparsable invoking
// user is refused: staying root would be the unsafe outcome.
func dropPrivileges() error {
	// pkexec gives no gid: the uid is used as gid. sudo always sets both.
	uidText, gidText := os.Getenv("PKEXEC_UID"), os.Getenv("PKEXEC_UID")
	if uidText == "" {
		uidText, gidText = os.Getenv("SUDO_UID"), os.Getenv("SUDO_GID")
	}
	if uidText != "" {
		uid, uerr := strconv.Atoi(uidText)
		gid, gerr := strconv.Atoi(gidText)
		if uerr != nil || gerr != nil || uid <= 0 || gid <= 0 {
			return fmt.Errorf("invalid or root invoking user id: refusing to stay root")
		}
		if os.Geteuid() == 0 {
			err := syscall.Setgroups(nil)
			if err == nil {
				err = syscall.Setgid(gid)
			}
			if err == nil {
				err = syscall.Setuid(uid)
			}
			if err != nil {
				return err
			}
		}
	}
	hdr := struct {
		version uint32
		pid     int32
	}{0x20080522, 0} // _LINUX_CAPABILITY_VERSION_3
	var data [2]struct{ effective, permitted, inheritable uint32 }
	_, _, e := syscall.AllThreadsSyscall(syscall.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if e != 0 {
		return e
	}
	return nil
}
