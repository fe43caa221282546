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

var (
	outMu sync.Mutex
	out   io.Writer = os.Stdout
)

func emit(frame []byte) {
	outMu.Lock()
	defer outMu.Unlock()
	if _, err := out.Write(frame); err != nil {
		// The app is gone: nothing left to relay for.
		os.Exit(0)
	}
}

func fatal(code byte, msg string) {
	fmt.Fprintln(os.Stderr, "pxe-desk-helper:", msg)
	emit(EncodeError(code, true, msg))
	os.Exit(2)
}

func main() {
	emit(EncodeFrame(THello, []byte("pxe-desk-helper/1")))
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	f, err := ReadFrame(in)
	if err == io.EOF {
		return
	}
	if err != nil {
		fatal(EMalformed, "malformed frame")
	}
	if f.Type == TBye {
		return
	}
	if f.Type != TBind {
		fatal(EMalformed, "first frame must be bind")
	}
	bd, err := DecodeBind(f.Body)
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
	for role, fd := range socks {
		go receive(role, fd, rules)
	}
	for {
		f, err := ReadFrame(in)
		if err == io.EOF {
			return
		}
		if err != nil {
			fatal(EMalformed, "malformed frame")
		}
		switch f.Type {
		case TBye:
			return
		case TDgramOut:
			d, err := DecodeDgramOut(f.Body)
			if err != nil {
				fatal(EMalformed, "malformed datagram-out frame")
			}
			fd, bound := socks[d.Role]
			if !bound || !rules.Allowed(d) {
				emit(EncodeError(ESendRefused, false, fmt.Sprintf("refused: role %d to %v:%d", d.Role, d.Dst, d.DstPort)))
				continue
			}
			if err := syscall.Sendto(fd, d.Payload, 0, &syscall.SockaddrInet4{Port: int(d.DstPort), Addr: d.Dst}); err != nil {
				emit(EncodeError(EIO, false, "send failed: "+err.Error()))
			}
		default:
			fatal(EMalformed, "unexpected frame type "+strconv.Itoa(int(f.Type)))
		}
	}
}

type ifreq struct {
	name [16]byte
	data [24]byte
}

func ioctlIfreq(fd int, req uintptr, r *ifreq) error {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(r)))
	return errnoErr(e)
}

// bindAll opens every requested role or fails closed with one error frame naming the cause.
func bindAll(bd Bind) (map[byte]int, uint32) {
	probe, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM, 0)
	if err != nil {
		fatal(EIO, "socket: "+err.Error())
	}
	var r ifreq
	copy(r.name[:15], bd.Iface)
	if ioctlIfreq(probe, syscall.SIOCGIFINDEX, &r) != nil {
		fatal(EIfaceMissing, "interface "+bd.Iface+" does not exist")
	}
	ifindex := *(*uint32)(unsafe.Pointer(&r.data[0]))
	if ioctlIfreq(probe, syscall.SIOCGIFFLAGS, &r) != nil || *(*uint16)(unsafe.Pointer(&r.data[0]))&syscall.IFF_UP == 0 {
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
		fd, err := bindOne(bd.Iface, p.Port)
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

func bindOne(iface string, port uint16) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	steps := []func() error{
		func() error { return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1) },
		func() error { return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1) },
		func() error { return syscall.SetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_PKTINFO, 1) },
		// Pin to the chosen NIC: broadcasts leave only there and only its traffic is received.
		func() error { return syscall.BindToDevice(fd, iface) },
		func() error { return syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(port)}) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			syscall.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

func receive(role byte, fd int, rules *Rules) {
	buf := make([]byte, 65536)
	oob := make([]byte, 256)
	for {
		n, oobn, _, from, err := syscall.Recvmsg(fd, buf, oob, 0)
		if err != nil {
			if err == syscall.EINTR || err == syscall.ECONNREFUSED {
				continue
			}
			fatal(EIO, "receive: "+err.Error())
		}
		src, ok := from.(*syscall.SockaddrInet4)
		if !ok {
			continue
		}
		d := DgramIn{Role: role, Src: src.Addr, SrcPort: uint16(src.Port), Payload: buf[:n]}
		if msgs, err := syscall.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == syscall.IPPROTO_IP && m.Header.Type == syscall.IP_PKTINFO && len(m.Data) >= 12 {
					d.Ifindex = *(*uint32)(unsafe.Pointer(&m.Data[0]))
					copy(d.Dst[:], m.Data[8:12]) // in_pktinfo.ipi_addr: the header destination
				}
			}
		}
		rules.Seen(role, d.Src, d.SrcPort, d.Payload)
		emit(EncodeDgramIn(d))
	}
}

// dropPrivileges: become the invoking user (pkexec/sudo) or, with file capabilities, shrink the
// capability sets to nothing. Sockets already bound keep working.
func dropPrivileges() error {
	uid, gid := -1, -1
	if v := os.Getenv("PKEXEC_UID"); v != "" {
		uid, gid = atoiOr(v), atoiOr(v)
	} else if v := os.Getenv("SUDO_UID"); v != "" {
		uid, gid = atoiOr(v), atoiOr(os.Getenv("SUDO_GID"))
		if gid < 0 {
			gid = uid
		}
	}
	if (os.Getenv("PKEXEC_UID") != "" || os.Getenv("SUDO_UID") != "") && (uid <= 0 || gid <= 0) {
		return fmt.Errorf("invalid or root invoking user id: refusing to stay root")
	}
	if uid > 0 && os.Geteuid() == 0 {
		for _, step := range []func() error{func() error { return syscall.Setgroups(nil) },
			func() error { return syscall.Setgid(gid) }, func() error { return syscall.Setuid(uid) }} {
			if err := step(); err != nil {
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
	return errnoErr(e)
}

func errnoErr(e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

func atoiOr(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return n
	}
	return -1
}
