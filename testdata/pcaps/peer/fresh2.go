package main

// The second fresh set (record.sh --fresh2): an accept queue that overflows,
// with and without tcp_abort_on_overflow.

import (
	"errors"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"accept-queue-abort":    {clientQueueOverflow(true), serverNeverAccept(1)},
		"accept-queue-overflow": {clientQueueOverflow(false), serverNeverAccept(1)},
	} {
		scenarios[name] = p
	}
}

// sockaddr turns *addr into a family and a socket address for the raw
// socket calls below.
func sockaddr() (int, syscall.Sockaddr) {
	ap, err := netip.ParseAddrPort(*addr)
	check(err)
	if ap.Addr().Is4() {
		return syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return syscall.AF_INET6, &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

// dialFrom connects from the client's address and the given port.
func dialFrom(port int) *net.TCPConn {
	host, _, err := net.SplitHostPort(*addr)
	check(err)
	d := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
	la := &net.TCPAddr{IP: net.ParseIP("198.18.0.1"), Port: port}
	if strings.Contains(host, ":") {
		la.IP = net.ParseIP("fd00::1")
	}
	d.LocalAddr = la
	return d.dial(*addr)
}

// serverNeverAccept listens with the given backlog (net.Listen would ask
// for somaxconn) and never accepts.
func serverNeverAccept(backlog int) func() {
	return func() {
		family, sa := sockaddr()
		fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		check(err)
		check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
		check(syscall.Bind(fd, sa))
		check(syscall.Listen(fd, backlog))
		hold(os.NewFile(uintptr(fd), "listener"))
		log.Printf("listening on %s with backlog %d, never accepting", *addr, backlog)
	}
}

// clientQueueOverflow: with a backlog of 1 the accept queue holds two
// connections. The first (port 50701) is queued; the second (50702)
// completes its handshake only in the client's view, since record.sh drops
// its ACK in the client's output hook, so the server holds it as a request
// (SYN_RCVD); the third (50703) is queued and fills the queue. Then
// record.sh lets the second's segments through (go).
//
// abort: the client sends nothing on the second connection; the server's
// SYN-ACK, retransmitted 1 s after the SYN, is answered with an ACK that
// finds the queue full, and the server (tcp_abort_on_overflow=1) resets.
// Otherwise the client sends a request on it, which the server drops as it
// does that ACK (the queue is full), and the client retransmits; it is done
// 3.4 s after the second connection's SYN.
func clientQueueOverflow(abort bool) func() {
	return func() {
		first := wrap(dialFrom(50701))
		first.send("hello from the first connection")
		start := time.Now()
		second := wrap(dialFrom(50702))
		third := wrap(dialFrom(50703))
		third.send("hello from the third connection")
		mark("client-queued")
		await("go")
		if abort {
			_, err := second.r.ReadByte()
			log.Printf("read on the second connection: %v", err)
			if !errors.Is(err, syscall.ECONNRESET) {
				log.Fatal("expected a reset")
			}
			return
		}
		second.send("hello from the second connection")
		time.Sleep(time.Until(start.Add(3400 * time.Millisecond)))
	}
}
