// pxe-desk-helper: the only privileged code of PXE Desk (docs/helper.md).
//
// Binds the UDP roles one session asks for (67/68/69/4011, or unprivileged test ports >= 1024) on ONE
// interface, drops privileges at once, then relays datagrams over a framed stdin/stdout protocol
// (frames.go) and sends only what rules.go allows. Reads no environment except PKEXEC_UID / SUDO_UID /
// SUDO_GID, takes no paths, runs no commands, logs to stderr only, exits when stdin closes.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

func fatal(code byte, msg string) {
	fmt.Fprintln(os.Stderr, "pxe-desk-helper:", msg)
	emit(EncodeError(code, true, msg))
	flush()
	os.Exit(2)
}

// main is a strict state machine: bind exactly once, then only dgram-out; anything else (a frame
// before bind, a second bind, an unknown or malformed frame) is fatal and nothing is sent (fail closed).
func main() {
	// One goroutine does all the work (relay.go): with a second P, each wakeup from the poller would
	// also start a spinning thread to look for other work (futex, sched_yield), and find none.
	runtime.GOMAXPROCS(1)
	emit(EncodeFrame(THello, []byte("pxe-desk-helper/1")))
	flush()
	newRelay().run(func(r *relay, t byte, body []byte) {
		switch {
		case t == TBye:
			flush()
			os.Exit(0)
		case t == TBind && r.rules == nil:
			r.start(body)
		case t == TDgramOut && r.rules != nil:
			d, err := DecodeDgramOut(body)
			if err != nil {
				fatal(EMalformed, "malformed datagram-out frame")
			}
			if r.socks[d.Role] == 0 || !r.rules.Allowed(d) {
				emit(EncodeError(ESendRefused, false, fmt.Sprintf("refused: role %d to %v:%d", d.Role, d.Dst, d.DstPort)))
				return
			}
			r.send(d)
		default:
			fatal(EMalformed, "unexpected frame type "+strconv.Itoa(int(t)))
		}
	})
}

// start binds every requested role, drops privileges, reports bound and adds the sockets to the relay.
func (r *relay) start(body []byte) {
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
	r.rules = NewRules(serverPort, time.Now)
	emit(EncodeBound(ifindex, bd.Ports))
	for role, fd := range socks {
		r.watch(role, fd)
	}
}

// bindAll opens every requested role or fails closed with one error frame naming the cause.
func bindAll(bd Bind) (map[byte]int, uint32) {
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
	socks := map[byte]int{}
	for _, p := range bd.Ports {
		if !PortAllowed(p.Role, p.Port) {
			fatal(EBadPort, fmt.Sprintf("port %d is not allowed for role %d", p.Port, p.Role))
		}
		if _, dup := socks[p.Role]; dup {
			fatal(EMalformed, "role requested twice")
		}
		fd, err := bindOne(bd.Iface, p.Port, p.Role == RoleDhcpClient)
		if err != nil {
			code, known := bindErrors[err]
			if !known {
				code = EIO
			}
			fatal(code, fmt.Sprintf("bind udp port %d on %s: %v", p.Port, bd.Iface, err))
		}
		socks[p.Role] = fd
	}
	return socks, ifindex
}

var bindErrors = map[error]byte{syscall.EADDRINUSE: EPortInUse, syscall.EACCES: EPermission,
	syscall.EPERM: EPermission, syscall.ENODEV: EIfaceMissing}

// bindOne: SO_REUSEADDR only when shared (68, with the OS's DHCP client). Two UDP sockets that both
// set it may bind the same port on the same NIC, so on 67/69/4011 a second PXE Desk would bind
// silently and answer too; without it, it gets EADDRINUSE ("port in use").
func bindOne(iface string, port uint16, shared bool) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, err
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
		return -1, err
	}
	return fd, nil // nonblocking, read by the relay loop (relay.go)
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
