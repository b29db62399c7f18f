package main

// The third fresh set (record.sh --fresh3): a client that retransmits into a
// black hole until tcp_retries2 ends it, a lingering close into a zero
// window, a pool of five connections each ended its own way, an HTTP-style
// keep-alive connection closed by the server when idle, a half-close with
// the FIN queued behind data a zero window holds back, IPv6 variants of Fast
// Open and a simultaneous open, and a client that reuses its own TIME_WAIT
// port with tcp_tw_reuse.

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"retries-exhausted":         {clientRetriesExhausted, serverHoldAfterReply},
		"linger-timeout":            {clientLingerIntoZeroWindow, serverNeverRead},
		"connection-pool":           {clientPool, serverPool},
		"http-keepalive-idle-close": {clientKeepAliveRequests, serverIdleClose},
		"zero-window-fin":           {clientShutdownIntoZeroWindow, serverNeverRead},
		"ipv6-fast-open":            {clientFastOpen, serverFastOpen},
		"ipv6-simultaneous-open":    {simultaneousOpen, simultaneousOpen},
		"tw-reuse-client":           {clientTimeWaitReuse, serverTwoRequests},
	} {
		scenarios[name] = p
	}
}

// clientRetriesExhausted exchanges one message; when told (record.sh has
// cut the path both ways) it sends a second one and reads until the kernel
// gives up retransmitting it (tcp_retries2 in the client's namespace): the
// read fails with ETIMEDOUT, and nothing is sent to say so.
func clientRetriesExhausted() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	start := time.Now()
	c.send("hello into the black hole")
	_, err := c.r.ReadByte()
	log.Printf("read after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if !errors.Is(err, syscall.ETIMEDOUT) {
		log.Fatal("expected ETIMEDOUT")
	}
}

// fillWindow dials with a small send buffer (the server, serverNeverRead,
// has a small receive buffer and never reads) and writes 64 KiB for up to
// a second: the server's window closes and the client's send buffer fills;
// the write stops at its deadline with most of it unwritten.
func fillWindow() *net.TCPConn {
	c := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)).dial(*addr)
	buf := []byte(strings.Repeat("0123456789abcdef", 4096))
	check(c.SetWriteDeadline(time.Now().Add(time.Second)))
	n, err := c.Write(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		log.Fatalf("write: %d bytes, %v (want a deadline)", n, err)
	}
	log.Printf("wrote %d of %d bytes before the window closed", n, len(buf))
	check(c.SetWriteDeadline(time.Time{}))
	mark("client-stuck")
	return c
}

// clientLingerIntoZeroWindow fills the server's window, then, when told,
// sets SO_LINGER {on, 1 s} and closes with data unsent: close blocks for
// the linger time (the FIN is queued behind the data) and returns.
func clientLingerIntoZeroWindow() {
	c := fillWindow()
	await("close")
	check(c.SetLinger(1))
	start := time.Now()
	err := c.Close()
	log.Printf("close with SO_LINGER {1, 1 s}: %v after %v", err, time.Since(start).Round(time.Millisecond))
}

// clientShutdownIntoZeroWindow fills the server's window, then, when told,
// shuts down writing: the FIN is queued behind the unsent data.
func clientShutdownIntoZeroWindow() {
	c := fillWindow()
	await("close")
	check(c.CloseWrite())
	log.Printf("shutdown(SHUT_WR) with data unsent")
}

// clientPool opens five connections, from ports 50901 to 50905, one after
// the other (one exchange each), and keeps them open together. Then:
// 50901 it closes when told; 50902 the server closes, and the client closes
// at EOF; 50903's server socket is destroyed (ss -K) and the client's read
// fails; 50904 it half-closes when told, reading what the server goes on
// sending; 50905 stays idle.
func clientPool() {
	conns := map[int]*conn{}
	for p := 50901; p <= 50905; p++ {
		c := wrap(dialFrom(p))
		c.send(fmt.Sprintf("hello from %d", p))
		log.Printf("%d: reply %q", p, c.recv())
		conns[p] = c
	}
	mark("client-established")
	closed := make(chan struct{})
	go func() {
		conns[50902].drain()
		conns[50902].close()
		close(closed)
	}()
	reset := make(chan error)
	go func() {
		_, err := conns[50903].r.ReadByte()
		reset <- err
	}()
	go func() {
		n, err := io.Copy(io.Discard, conns[50904].r)
		log.Fatalf("50904: the server's stream ended after %d bytes: %v", n, err)
	}()
	await("close-50901")
	conns[50901].close()
	<-closed
	err := <-reset
	log.Printf("50903: read: %v", err)
	if !errors.Is(err, syscall.ECONNRESET) {
		log.Fatal("expected a reset")
	}
	await("shut-50904")
	check(conns[50904].CloseWrite())
	log.Printf("50904: shutdown(SHUT_WR)")
}

// serverPool answers the five connections of clientPool and then: closes
// 50901 at its client's FIN; closes 50902 when told; reads 50903 until
// record.sh destroys it; sends a line every 250 ms on 50904, before and
// after its client's FIN, never closing; leaves 50905 alone.
func serverPool() {
	ln := listen()
	conns := map[int]*conn{}
	for i := 0; i < 5; i++ {
		c := wrap(accept(ln))
		c.send("world: " + c.recv())
		conns[c.RemoteAddr().(*net.TCPAddr).Port] = c
	}
	for p := 50901; p <= 50905; p++ {
		if conns[p] == nil {
			log.Fatalf("no connection from port %d", p)
		}
	}
	mark("server-established")
	closed := make(chan struct{})
	go func() {
		conns[50901].drain()
		conns[50901].close()
		close(closed)
	}()
	killed := make(chan error)
	go func() {
		_, err := conns[50903].r.ReadByte()
		killed <- err
	}()
	go func() {
		for i := 1; ; i++ {
			time.Sleep(250 * time.Millisecond)
			if _, err := conns[50904].Write([]byte(fmt.Sprintf("tick %d\n", i))); err != nil {
				log.Fatalf("50904: write %d: %v", i, err)
			}
		}
	}()
	go func() {
		b := conns[50904].drain()
		log.Printf("50904: the client's FIN after %d bytes", len(b))
	}()
	await("close-50902")
	conns[50902].close()
	<-closed
	log.Printf("50903: read: %v", <-killed)
}

// clientKeepAliveRequests sends three HTTP/1.1 requests 100 ms apart on one
// connection, reading each response (Content-Length), then waits: the server
// closes the idle connection; at EOF the client closes.
func clientKeepAliveRequests() {
	c := wrap(dial())
	for i := 1; i <= 3; i++ {
		_, err := fmt.Fprintf(c, "GET /item/%d HTTP/1.1\r\nHost: %s\r\n\r\n", i, *addr)
		check(err)
		n := -1
		for {
			line := strings.TrimRight(c.recv(), "\r")
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
				n, err = strconv.Atoi(v)
				check(err)
			}
		}
		if n < 0 {
			log.Fatal("no Content-Length")
		}
		_, err = io.ReadFull(c.r, make([]byte, n))
		check(err)
		log.Printf("response %d: %d bytes", i, n)
		if i < 3 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	start := time.Now()
	c.drain()
	log.Printf("the server closed after %v idle", time.Since(start).Round(time.Millisecond))
	c.close()
}

// serverIdleClose answers HTTP/1.1 requests on one connection and closes it
// once it has been idle for a second (a read deadline, as a keep-alive
// timeout).
func serverIdleClose() {
	c := wrap(accept(listen()))
	for i := 1; ; i++ {
		check(c.SetReadDeadline(time.Now().Add(time.Second)))
		req, err := c.r.ReadString('\n')
		if errors.Is(err, os.ErrDeadlineExceeded) && req == "" {
			log.Printf("idle for 1 s after %d requests: closing", i-1)
			break
		}
		check(err)
		for {
			line, err := c.r.ReadString('\n')
			check(err)
			if line == "\r\n" {
				break
			}
		}
		body := fmt.Sprintf("item %d: %s\n", i, strings.Repeat("x", 100*i))
		_, err = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		check(err)
		log.Printf("request %q answered", strings.TrimRight(req, "\r\n"))
	}
	c.close()
}

// clientTimeWaitReuse talks from port 50950 and closes first (its socket
// goes to TIME_WAIT); 300 ms later it connects again from the same port
// (SO_REUSEADDR and bind) to the same server, and the kernel takes over
// the TIME_WAIT socket's 4-tuple for it (for an explicitly bound port it
// does so whenever the TIME_WAIT has a peer timestamp, whatever
// tcp_tw_reuse says). One exchange on the new connection, which stays
// open.
func clientTimeWaitReuse() {
	c := wrap(dialFrom(50950))
	c.send("hello 1")
	log.Printf("reply %q", c.recv())
	c.close()
	held = held[:0]
	mark("client-closed")
	time.Sleep(300 * time.Millisecond)
	if err := dialErr(50950); err != nil {
		log.Fatalf("connect from 50950 300 ms after the close: %v", err)
	}
	c = wrap(held[len(held)-1].(*net.TCPConn))
	c.send("hello 2")
	log.Printf("reply %q", c.recv())
}

// serverTwoRequests: two connections, one after the other; the first one
// request, reply and a close at the client's FIN; the second one request
// and reply, left open.
func serverTwoRequests() {
	ln := listen()
	c := wrap(accept(ln))
	c.send("world: " + c.recv())
	c.drain()
	c.close()
	c = wrap(accept(ln))
	c.send("world: " + c.recv())
}
