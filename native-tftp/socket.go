//go:build linux

package main

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// Two kinds of transfer socket, measured (bench/README.md, 2026-12-02): a blocking socket on its own
// thread answers an ACK fastest (single client lockstep 1.1-1.3x tftpd-hpa, where Go's netpoller gave
// 0.9x and 50% more CPU per MB), but at 200 clients 200 blocked threads cost more in scheduler
// hand-offs than they save (0.81x tftpd-hpa), where the netpoller scales (0.94x in the same minutes).
// So the first few concurrent transfers get a blocking socket and the rest the netpoller.
type transferSocket interface {
	// recv waits for a datagram until the deadline; errTimeout when it passed, an invalid address
	// when wake() ended the wait.
	recv(buf []byte) (int, netip.AddrPort, error)
	send(packet []byte, to netip.AddrPort)
	// deadline sets when recv gives up (only called when it moved by a millisecond or more).
	deadline(at time.Time)
	// wake ends a recv in progress, now and for good (stop or supersede).
	wake()
	close()
}

var errTimeout = errors.New("timeout")

// blockingSockets is how many concurrent transfers get a blocking socket (a thread each).
const blockingSockets = 4

func openTransferSocket(address [4]byte, blocking bool) (transferSocket, error) {
	if !blocking {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: address[:]})
		if err != nil {
			return nil, err
		}
		return &polledSocket{conn: conn}, nil
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: address}); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	return &blockingSocket{fd: fd}, nil
}

type blockingSocket struct{ fd int }

func (s *blockingSocket) recv(buf []byte) (int, netip.AddrPort, error) {
	n, from, err := syscall.Recvfrom(s.fd, buf, 0)
	if err == syscall.EAGAIN || err == syscall.EINTR {
		return 0, netip.AddrPort{}, errTimeout
	}
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	sa, ok := from.(*syscall.SockaddrInet4)
	if !ok { // after shutdown(2) recvfrom returns 0 with no address
		return n, netip.AddrPort{}, nil
	}
	return n, netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), nil
}

func (s *blockingSocket) send(packet []byte, to netip.AddrPort) {
	syscall.Sendto(s.fd, packet, 0, &syscall.SockaddrInet4{Addr: to.Addr().As4(), Port: int(to.Port())})
}

func (s *blockingSocket) deadline(at time.Time) {
	tv := syscall.NsecToTimeval(time.Until(at).Nanoseconds())
	if tv.Sec <= 0 && tv.Usec <= 0 {
		tv.Sec, tv.Usec = 0, 1 // 0 would mean "no timeout"
	}
	syscall.SetsockoptTimeval(s.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv)
}

// wake: on Linux shutdown(SHUT_RD) makes a blocked recvfrom on a UDP socket return 0 at once.
func (s *blockingSocket) wake() { syscall.Shutdown(s.fd, syscall.SHUT_RD) }

func (s *blockingSocket) close() { syscall.Close(s.fd) }

type polledSocket struct{ conn *net.UDPConn }

func (s *polledSocket) recv(buf []byte) (int, netip.AddrPort, error) {
	n, from, err := s.conn.ReadFromUDPAddrPort(buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, netip.AddrPort{}, errTimeout
	}
	return n, from, err
}

func (s *polledSocket) send(packet []byte, to netip.AddrPort) { s.conn.WriteToUDPAddrPort(packet, to) }

func (s *polledSocket) deadline(at time.Time) { s.conn.SetReadDeadline(at) }

func (s *polledSocket) wake() { s.conn.SetReadDeadline(time.Unix(1, 0)) }

func (s *polledSocket) close() { s.conn.Close() }
