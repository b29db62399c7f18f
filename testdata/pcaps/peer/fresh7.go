package main

// The seventh fresh set (record.sh --fresh7): a server's FIN riding on its
// reply (small, 6 KiB in several segments, with the client's route in
// quickack mode, over IPv6, over a delayed path) with the client left in
// CLOSE_WAIT or closing at EOF, a request with the client's FIN on it,
// pipelined requests, both sides sending 64 KiB and their FINs at the same
// moment, a client closing over unread data of a stream, a first SYN and a
// first FIN lost on the way in (record.sh's one-shot nftables rules), and a
// connection idle for 4 s before the server speaks.

import (
	"fmt"
	"io"
	"log"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"close-wait-after-fin-with-data":          {clientHoldAfterEOF, serverReplyFinWithData(0)},
		"close-wait-after-large-fin-with-data":    {clientHoldAfterEOF, serverReplyFinWithData(6 << 10)},
		"client-shutdown-with-request":            {clientFinWithData, serverReplyAtEOF(100 * time.Millisecond)},
		"server-fin-with-data-rtt20-at-client":    {clientCloseAtEOF, serverReplyFinWithData(0)},
		"close-wait-quickack-route":               {clientHoldAfterEOF, serverReplyFinWithData(0)},
		"pipelined-requests":                      {clientPipelined(3), serverAnswerEach},
		"both-bulk-then-close":                    {bothBulkThenClose, bothBulkThenClose},
		"both-bulk-then-close-rtt10-at-server":    {bothBulkThenClose, bothBulkThenClose},
		"client-exit-unread-bulk-rtt20-at-server": {clientCloseUnreadStream, serverStreamUntilError},
		"first-syn-dropped":                       {clientCloseFirst, serverReplyThenClose(400 * time.Millisecond)},
		"first-fin-dropped":                       {clientCloseFirst, serverReplyThenClose(400 * time.Millisecond)},
		"idle-then-server-data":                   {clientAnswerLate, serverIdleThenSend(4 * time.Second)},
		"ipv6-close-wait-after-fin-with-data":     {clientHoldAfterEOF, serverReplyFinWithData(0)},
	} {
		scenarios[name] = p
	}
}

// serverReplyFinWithData reads one request line and answers it with its
// FIN on the reply (TCP_CORK, one write, close at once: the kernel tacks
// the FIN onto the last segment still queued). With size 0 the reply is
// "world: " and the request (a line of under 100 bytes); otherwise a line
// of size bytes in one write, sent as several segments, the FIN on the
// last.
func serverReplyFinWithData(size int) func() {
	return func() {
		c := wrap(accept(listen()))
		req := c.recv()
		reply := "world: " + req + "\n"
		if size > 0 {
			reply = strings.Repeat("large reply 0123456789abcdef\n", size/29+1)[:size-1] + "\n"
		}
		cork(c.TCPConn)
		_, err := c.Write([]byte(reply))
		check(err)
		c.close()
		log.Printf("wrote %d bytes and closed (corked: FIN on the last segment)", len(reply))
	}
}

// serverReplyAtEOF reads the request to the client's FIN, replies at once,
// and closes delay later.
func serverReplyAtEOF(delay time.Duration) func() {
	return func() {
		c := wrap(accept(listen()))
		req := c.drain()
		c.send(fmt.Sprintf("world: %d bytes of request and your FIN", len(req)))
		time.Sleep(delay)
		c.close()
	}
}

// clientCloseAtEOF exchanges one message, reads to the server's FIN and
// closes at once.
func clientCloseAtEOF() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	c.drain()
	c.close()
}

// clientPipelined sends n requests back to back (one write each, no
// waiting), then reads the n replies and closes first.
func clientPipelined(n int) func() {
	return func() {
		c := wrap(dial())
		for i := 1; i <= n; i++ {
			c.send(fmt.Sprintf("request %d of %d, pipelined", i, n))
		}
		for i := 1; i <= n; i++ {
			log.Printf("reply %q", c.recv())
		}
		c.close()
	}
}

// serverAnswerEach answers every request line as it reads it, and closes
// at once when it reads the client's FIN.
func serverAnswerEach() {
	c := wrap(accept(listen()))
	for i := 1; ; i++ {
		s, ok := c.recvLine()
		if !ok {
			break
		}
		c.send(fmt.Sprintf("response %d to %q", i, s))
	}
	log.Printf("EOF")
	c.close()
}

// bothBulkSize is what each side of both-bulk-then-close sends.
const bothBulkSize = 64 << 10

// soMaxPacingRate is SO_MAX_PACING_RATE (bytes per second; the syscall
// package lacks it). Set, it makes TCP pace its own segments (no fq qdisc
// needed).
const soMaxPacingRate = 47

// Both sides of both-bulk-then-close have room for all 64 KiB in their
// send buffer (SO_SNDBUF; the kernel doubles it) and pace their sending to
// 20 MB/s (about 3.3 ms for the 64 KiB): the write returns at once and the
// FIN is queued behind the data before any of the other side's data, let
// alone its FIN, has arrived. Without them, over the veth, each side's
// segments are taken in by the other within the sender's own system call,
// and one side's write (with the default buffer) was still going when the
// other's FIN arrived: that side went through CLOSE_WAIT and LAST_ACK, and
// the FINs did not cross.
const (
	bothBulkSndbuf = 256 << 10
	bothBulkPacing = 20_000_000
)

// bothBulkThenClose is both roles. The client proposes a start time 200 ms
// ahead in its one request line; at that moment (a sleep to 1 ms before
// it, then a spin on the clock, which both namespaces share) each side
// writes 64 KiB in one write and at once shuts its side down
// (shutdown(SHUT_WR): the FIN goes right behind the data), while a
// goroutine reads the other side's data to EOF; then it closes. (A close()
// right after the write would find the peer's data unread in its receive
// buffer, and Linux would send RST instead of FIN.)
func bothBulkThenClose() {
	var c *conn
	var at time.Time
	sndbuf := setInt(syscall.SOL_SOCKET, syscall.SO_SNDBUF, bothBulkSndbuf)
	if *role == "client" {
		c = wrap(newDialer(sndbuf).dial(*addr))
		at = time.Now().Add(200 * time.Millisecond)
		c.send(fmt.Sprintf("start at %d", at.UnixNano()))
	} else {
		c = wrap(accept(listen(sndbuf))) // an accepted socket inherits it
		ns, err := strconv.ParseInt(strings.TrimPrefix(c.recv(), "start at "), 10, 64)
		check(err)
		at = time.Unix(0, ns)
	}
	setConnInt(c.TCPConn, syscall.SOL_SOCKET, soMaxPacingRate, bothBulkPacing)
	got := make(chan int64)
	go func() {
		n, err := io.Copy(io.Discard, c.r)
		check(err)
		got <- n
	}()
	time.Sleep(time.Until(at) - time.Millisecond)
	for time.Now().Before(at) {
	}
	late := time.Since(at)
	b := []byte(strings.Repeat("both ways bulk 0123456789abcdef\n", bothBulkSize/32))
	_, err := c.Write(b)
	check(err)
	check(c.CloseWrite())
	log.Printf("wrote %d bytes %v after the agreed start, shutdown(SHUT_WR) %v after it", len(b), late, time.Since(at))
	log.Printf("EOF after %d bytes, %v after the start", <-got, time.Since(at))
	c.close()
}

// clientCloseUnreadStream reads 4 KiB of the server's stream, waits 30 ms
// (more arrives meanwhile) and closes with that unread: Linux sends RST
// instead of FIN.
func clientCloseUnreadStream() {
	log.Printf("read 4096 bytes, closed with %d bytes unread", closeUnread(dial(), 4<<10))
}

// clientAnswerLate exchanges one message, waits for the server's next
// line (it comes after an idle time) and answers it; the connection stays
// open.
func clientAnswerLate() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	start := time.Now()
	log.Printf("news %q after %v", c.recv(), time.Since(start).Round(time.Millisecond))
	c.send("thanks for the news")
}

// serverIdleThenSend answers one request, stays silent for idle (no
// keepalive on either side), then sends a line and reads the client's
// answer; the connection stays open.
func serverIdleThenSend(idle time.Duration) func() {
	return func() {
		c := wrap(accept(listen()))
		c.send("world: " + c.recv())
		time.Sleep(idle)
		c.send(fmt.Sprintf("news after %v idle", idle))
		log.Printf("answer %q", c.recv())
	}
}
