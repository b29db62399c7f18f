package main

// The second fresh set (record.sh --fresh2): an accept queue that overflows
// (with and without tcp_abort_on_overflow), a handshake made with forced SYN
// cookies, an orphaned FIN_WAIT_2 that times out before the peer writes, a
// client destroyed silently, a close in SYN_SENT, IPv6 variants of a
// simultaneous close and an abort, a server closing with unread data while
// the client streams, and a keepalive probe to a peer that lost the
// connection.

import (
	"errors"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

func init() {
	for name, p := range map[string]play{
		"accept-queue-abort":           {clientQueueOverflow(true), serverNeverAccept(1)},
		"accept-queue-overflow":        {clientQueueOverflow(false), serverNeverAccept(1)},
		"syncookies-forced":            {clientCloseFirst, serverReplyThenClose(400 * time.Millisecond)},
		"fin-wait-2-timeout-then-data": {clientCloseFirst, serverWriteAfterEOF},
		"client-crash-silent":          {clientHoldAfterReply, serverWriteWhenTold},
		"close-in-syn-sent":            {clientCloseInSynSent, serverListenOnly},
		"ipv6-simultaneous-close":      {closeWhenTold, closeWhenTold},
		"ipv6-rst-abort":               {clientAbort, serverUntilError},
		"server-close-while-receiving": {clientStreamUntilError2, serverCloseUnread},
		"keepalive-after-peer-restart": {clientKeepaliveUntilReset, serverHoldAfterReply},
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

// serverWriteAfterEOF answers the request, reads to the client's FIN and
// stays in CLOSE_WAIT; when record.sh says so (the client's orphaned
// FIN_WAIT_2 socket has timed out by then) it writes; 200 ms later (the
// reset has come: a socket in CLOSE_WAIT takes it as EPIPE) a second write
// must fail without sending anything.
func serverWriteAfterEOF() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	c.drain()
	mark("server-eof")
	await("write")
	c.send("late news for a client that has gone")
	time.Sleep(200 * time.Millisecond)
	_, err := c.Write([]byte("x"))
	log.Printf("second write: %v", err)
	if err == nil {
		log.Fatal("the second write did not fail")
	}
}

// clientHoldAfterReply exchanges one message and holds the connection
// (record.sh destroys its socket).
func clientHoldAfterReply() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
}

// clientCloseInSynSent starts a non-blocking connect (record.sh drops the
// SYN-ACKs at the client) and closes the socket, still in SYN_SENT, when
// told.
func clientCloseInSynSent() {
	family, sa := sockaddr()
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	check(err)
	err = syscall.Connect(fd, sa)
	if !errors.Is(err, syscall.EINPROGRESS) {
		log.Fatalf("connect: %v (want EINPROGRESS)", err)
	}
	mark("client-connecting")
	await("close")
	check(syscall.Close(fd))
	log.Printf("closed in SYN_SENT")
}

// clientStreamUntilError2 streams to the server until a write fails.
func clientStreamUntilError2() { streamUntilError(dial()) }

// streamUntilError writes 2 KiB every 2 ms (at most 2500 times) to c
// until a write fails.
func streamUntilError(c *net.TCPConn) {
	writeUntilError(c, []byte(strings.Repeat("streamed data 0123456789abcdef\n", 67)[:2048]), 2500, 2*time.Millisecond)
}

// writeUntilError writes chunk to w, gap apart, until a write fails (the
// peer reset the connection, or record.sh destroyed the socket); it is
// fatal if none of n writes does.
func writeUntilError(w io.Writer, chunk []byte, n int, gap time.Duration) {
	for i := 1; i <= n; i++ {
		if _, err := w.Write(chunk); err != nil {
			log.Printf("write %d: %v", i, err)
			return
		}
		time.Sleep(gap)
	}
	log.Fatal("no write failed")
}

// serverCloseUnread reads 32 KiB, stops reading for 30 ms while the client
// goes on sending, and closes with what arrived meanwhile unread (Linux
// sends RST instead of FIN).
func serverCloseUnread() {
	log.Printf("closed with %d bytes unread", closeUnread(accept(listen()), 32<<10))
}

// clientKeepaliveUntilReset: keepalive after 1 s idle, every 1 s; one
// exchange, then it reads until the connection fails (record.sh destroys
// the server's socket silently: the first probe is answered by RST).
func clientKeepaliveUntilReset() {
	c := keepaliveHello()
	mark("client-established")
	_, err := c.r.ReadByte()
	log.Printf("read: %v", err)
	if !errors.Is(err, syscall.ECONNRESET) {
		log.Fatal("expected a reset")
	}
}

// closeUnread reads n bytes from c, stops reading for 30 ms while the
// peer goes on sending, and closes c with what arrived meanwhile unread
// (Linux sends RST instead of FIN); it returns how much that was.
func closeUnread(c *net.TCPConn, n int) int32 {
	_, err := io.ReadFull(c, make([]byte, n))
	check(err)
	time.Sleep(30 * time.Millisecond)
	unread := unreadBytes(c)
	check(c.Close())
	return unread
}

// unreadBytes is how much has arrived on c that the application has not
// read (SIOCINQ); none is fatal: the scenario closes with data unread, so
// that Linux sends RST instead of FIN.
func unreadBytes(c *net.TCPConn) int32 {
	rc, err := c.SyscallConn()
	check(err)
	var unread int32
	var errno syscall.Errno
	check(rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&unread)))
	}))
	if errno != 0 {
		log.Fatalf("SIOCINQ: %v", errno)
	}
	if unread == 0 {
		log.Fatal("nothing unread at close")
	}
	return unread
}
