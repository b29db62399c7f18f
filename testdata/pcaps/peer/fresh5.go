package main

// The fifth fresh set (record.sh --fresh5): connections with TCP timestamps
// off (IPv4 and IPv6), a lossy transfer with neither SACK nor timestamps,
// ECN negotiated, TCP_DEFER_ACCEPT with and without the request coming, a
// firewall's RST in the middle of a connection, a path MTU lowered during a
// transfer, a transfer with the offloads left on, urgent data, a small MSS,
// and an abort from FIN_WAIT_2 after a half-close.

import (
	"errors"
	"fmt"
	"io"
	"log"
	"strings"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"ts-off-close":                 {clientCloseFirst, serverReplyThenClose(400 * time.Millisecond)},
		"sack-off-lossy":               {clientGetUntilEOF(1 << 20), serverSendThenClose(8<<10, 10*time.Millisecond)},
		"ecn-close":                    {clientExchangeThenHalfClose, serverSendAfterEOF},
		"defer-accept-no-data":         {clientConnectOnly, serverDeferAccept(false)},
		"defer-accept-late-data":       {clientLateRequest, serverDeferAccept(true)},
		"firewall-reject-midstream":    {clientSendIntoFirewallReset, serverHoldAfterReply},
		"pmtu-frag-needed":             {clientDownload, serverDownload},
		"offload-on-bulk":              {clientGetUntilEOF(2 << 20), serverSendThenClose(64<<10, 5*time.Millisecond)},
		"urgent-data":                  {clientUrgent, serverEchoUrgent},
		"small-mss-many-segments":      {clientPutCloseFirst(256 << 10), serverSmallMSSReceipt},
		"linger-zero-after-half-close": {clientAbortAfterHalfClose, serverStreamAfterEOF},
		"ipv6-ts-off-server-close":     {clientHoldAfterEOF, serverCloseFirst},
	} {
		scenarios[name] = p
	}
}

// deferAcceptSecs is the server's TCP_DEFER_ACCEPT: the kernel keeps a
// handshake's bare ACK from making the connection (it stays a request in
// SYN_RCVD) until data arrives or the deferral's SYN-ACK retransmissions run
// out (with 2 s: the one at 3 s, whose ACK makes it).
const deferAcceptSecs = 2

// clientGetUntilEOF asks for n bytes, reads them (into a buffer it reuses)
// and the server's FIN, and closes 100 ms after the EOF (the server closes
// first).
func clientGetUntilEOF(n int) func() {
	return func() {
		c := wrap(dial())
		c.send(fmt.Sprintf("get %d", n))
		start := time.Now()
		_, err := io.CopyN(io.Discard, c.r, int64(n))
		check(err)
		log.Printf("got %d bytes in %v", n, time.Since(start).Round(time.Millisecond))
		c.drain()
		time.Sleep(100 * time.Millisecond)
		c.close()
	}
}

// serverSendThenClose sends what was asked for, one piece of the given size
// every given time (the same piece again: no large allocation, whose garbage
// collection could stall two real-time processes on two CPUs), and closes
// at once, first.
func serverSendThenClose(piece int, every time.Duration) func() {
	return func() {
		c := wrap(accept(listen()))
		var n int
		_, err := fmt.Sscanf(c.recv(), "get %d", &n)
		check(err)
		b := []byte(strings.Repeat("bulk download 0123456789abcdef\n", piece/31+1)[:piece])
		start := time.Now()
		for i, left := 0, n; left > 0; i++ {
			k, err := c.Write(b[:min(piece, left)])
			check(err)
			left -= k
			time.Sleep(time.Until(start.Add(time.Duration(i+1) * every)))
		}
		log.Printf("wrote %d bytes in %v", n, time.Since(start).Round(time.Millisecond))
		c.close()
	}
}

// clientExchangeThenHalfClose makes three exchanges 50 ms apart,
// half-closes, reads what the server sends after its FIN to EOF, and
// closes.
func clientExchangeThenHalfClose() {
	c := wrap(dial())
	for i := 1; i <= 3; i++ {
		c.send(fmt.Sprintf("request %d %s", i, strings.Repeat("q", 500)))
		log.Printf("reply of %d bytes", len(c.recv()))
		time.Sleep(50 * time.Millisecond)
	}
	check(c.CloseWrite())
	log.Printf("shutdown(SHUT_WR)")
	c.drain()
	c.close()
}

// serverSendAfterEOF answers each request with 2000 bytes until the
// client's FIN, then sends three more lines 100 ms apart and closes.
func serverSendAfterEOF() {
	c := wrap(accept(listen()))
	for _, ok := c.recvLine(); ok; _, ok = c.recvLine() {
		c.send(strings.Repeat("a", 2000))
	}
	log.Printf("EOF")
	for i := 1; i <= 3; i++ {
		time.Sleep(100 * time.Millisecond)
		c.send(fmt.Sprintf("line %d of 3 after your FIN", i))
	}
	c.close()
}

// serverDeferAccept listens with TCP_DEFER_ACCEPT; with reply, it accepts
// (when the request arrives), answers it, reads to the client's FIN and
// closes; without, it only listens.
func serverDeferAccept(reply bool) func() {
	return func() {
		ln := listen(setInt(syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, deferAcceptSecs))
		if !reply {
			return
		}
		start := time.Now()
		c := wrap(accept(ln))
		log.Printf("accept returned after %v", time.Since(start).Round(time.Millisecond))
		c.send("world: " + c.recv())
		c.drain()
		time.Sleep(400 * time.Millisecond)
		c.close()
	}
}

// clientLateRequest connects, waits 1.5 s, sends its request, reads the
// reply and closes first.
func clientLateRequest() {
	c := wrap(dial())
	time.Sleep(1500 * time.Millisecond)
	c.send("hello, late")
	log.Printf("reply %q", c.recv())
	c.close()
}

// clientSendIntoFirewallReset exchanges one message, then, when told
// (record.sh has put in a rule in the server's input hook that rejects the
// client's segments with a TCP reset), sends a second request and reads:
// the RST comes from netfilter, not from the server's socket.
func clientSendIntoFirewallReset() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	c.send("hello again, into the firewall")
	_, err := c.r.ReadByte()
	log.Printf("read after the second request: %v", err)
	if !errors.Is(err, syscall.ECONNRESET) {
		log.Fatal("expected a reset")
	}
}

// sendOOB sends b with MSG_OOB (the last byte is the urgent one).
func sendOOB(c *conn, b []byte) {
	rc, err := c.SyscallConn()
	check(err)
	var serr error
	check(rc.Write(func(fd uintptr) bool {
		serr = syscall.Sendto(int(fd), b, syscall.MSG_OOB, nil)
		return !errors.Is(serr, syscall.EAGAIN)
	}))
	check(serr)
}

// clientUrgent makes three exchanges 50 ms apart, sends one byte of urgent
// data (MSG_OOB) alone, then three more exchanges, and closes first.
func clientUrgent() {
	c := wrap(dial())
	for i := 1; i <= 6; i++ {
		if i == 4 {
			sendOOB(c, []byte("!"))
			log.Printf("sent 1 byte with MSG_OOB")
			time.Sleep(50 * time.Millisecond)
		}
		c.send(fmt.Sprintf("line %d", i))
		log.Printf("reply %q", c.recv())
		time.Sleep(50 * time.Millisecond)
	}
	c.close()
}

// serverEchoUrgent echoes lines; after the third it waits (up to 1 s) for
// the urgent byte and reads it with MSG_OOB: without SO_OOBINLINE it is not
// in the stream, and the kernel forgets it once a read has gone past it. At
// EOF it waits 300 ms and closes.
func serverEchoUrgent() {
	c := wrap(accept(listen()))
	for i := 1; ; i++ {
		s, ok := c.recvLine()
		if !ok {
			break
		}
		c.send("echo " + s)
		if i == 3 {
			recvOOB(c)
		}
	}
	time.Sleep(300 * time.Millisecond)
	c.close()
}

// recvOOB reads the urgent byte with MSG_OOB, trying every 5 ms for up to
// 1 s (until it has come, the kernel answers EINVAL).
func recvOOB(c *conn) {
	rc, err := c.SyscallConn()
	check(err)
	b := make([]byte, 1)
	var n int
	var rerr error
	for t := 0; t < 200; t++ {
		check(rc.Control(func(fd uintptr) { n, _, rerr = syscall.Recvfrom(int(fd), b, syscall.MSG_OOB) }))
		if rerr == nil && n == 1 {
			log.Printf("recv MSG_OOB: %q", b)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	log.Fatalf("no urgent byte: %v", rerr)
}

// clientPutCloseFirst sends n bytes after a header line (in one write),
// reads the receipt and closes first.
func clientPutCloseFirst(n int) func() {
	return func() {
		c := wrap(dial())
		c.send(fmt.Sprintf("put %d", n))
		_, err := c.Write([]byte(strings.Repeat("small mss upload 0123456789abc\n", n/31+1)[:n]))
		check(err)
		log.Printf("receipt %q", c.recv())
		c.close()
	}
}

// serverSmallMSSReceipt listens with TCP_MAXSEG 536 (its SYN-ACK announces
// it), reads the upload, answers with a receipt, reads to the client's FIN
// and closes.
func serverSmallMSSReceipt() {
	c := wrap(accept(listen(setInt(syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536))))
	c.send(fmt.Sprintf("got %d bytes", c.readUpload()))
	c.drain()
	c.close()
}

// clientAbortAfterHalfClose sends its request and half-closes, reads three
// of the server's lines, says so, and when told (record.sh has seen its
// socket in FIN_WAIT_2) closes with SO_LINGER 0: RST.
func clientAbortAfterHalfClose() {
	c := wrap(dial())
	c.send("send me lines after my FIN")
	check(c.CloseWrite())
	log.Printf("shutdown(SHUT_WR)")
	for i := 0; i < 3; i++ {
		log.Printf("line %q", c.recv())
	}
	mark("client-half-closed")
	await("abort")
	check(c.SetLinger(0))
	c.close()
}

// serverStreamAfterEOF reads the request to the client's FIN, then sends a
// 100-byte line every 20 ms (at most 500) until a write fails.
func serverStreamAfterEOF() {
	c := wrap(accept(listen()))
	log.Printf("request %q", c.drain())
	writeUntilError(c, []byte(strings.Repeat("l", 99)+"\n"), 500, 20*time.Millisecond)
}

// clientHoldAfterEOF exchanges one message, reads to the server's FIN and
// never closes.
func clientHoldAfterEOF() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	c.drain()
}
