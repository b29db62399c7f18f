package main

// The fresh scenarios (record.sh --fresh): a lost SYN-ACK, a listener closed
// with a connection in its accept queue, a close with unread data, a socket
// destroyed by ss -K, bulk transfers over a lossy and a reordering path, IPv6
// variants, a half-close with data both ways, a simultaneous open, and an
// abort from CLOSE_WAIT.

import (
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"syscall"
	"time"
)

func init() {
	for name, p := range map[string]play{
		"synack-lost":             {clientSynTimeout, serverListenOnly},
		"listener-closed-backlog": {clientIntoBacklog, serverCloseListener},
		"client-close-unread":     {clientCloseUnread, serverReplyUntilError(4096)},
		"socket-killed":           {clientStreamUntilError, serverReadUntilError},
		"socket-killed-rst-lost":  {clientStreamUntilError, serverReadUntilError},
		"bulk-lossy-close":        {clientDownload, serverDownload},
		"bulk-reordered":          {clientUpload, serverUpload},
		"ipv6-fin-with-data":      {clientFinWithData, serverFinWithData},
		"ipv6-refused":            {clientRefused, serverListenOnly},
		"half-close-both-data":    {clientHalfCloseBoth, serverHalfCloseBoth},
		"simultaneous-open":       {simultaneousOpen, simultaneousOpen},
		"close-wait-then-rst":     {clientCloseFirst, serverAbortFromCloseWait},
	} {
		scenarios[name] = p
	}
}

// The bulk transfers: 2 MiB, written 8 KiB every 10 ms (about 2.6 s), so
// that the delayed path's forwarder keeps its timing.
const (
	bulkSize  = 2 << 20
	bulkPiece = 8 << 10
	bulkPace  = 10 * time.Millisecond
)

// writePaced writes b bulkPiece bytes at a time, one piece every bulkPace.
func writePaced(c *conn, b []byte) {
	start := time.Now()
	for i := 0; len(b) > 0; i++ {
		n := min(bulkPiece, len(b))
		_, err := c.Write(b[:n])
		check(err)
		b = b[n:]
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * bulkPace)))
	}
	log.Printf("wrote in %v", time.Since(start).Round(time.Millisecond))
}

// clientIntoBacklog connects (the handshake completes in the kernel: the
// server never accepts), sends a request and waits for an answer that never
// comes: the server's listener is closed, and the kernel resets the queued
// connection.
func clientIntoBacklog() {
	c := wrap(dial())
	c.send("hello, is anyone accepting?")
	mark("client-sent")
	_, err := c.r.ReadByte()
	log.Printf("read: %v", err)
}

// serverCloseListener listens, never accepts, and closes the listener when
// record.sh says so.
func serverCloseListener() {
	ln := listen()
	await("close-listener")
	check(ln.Close())
	log.Printf("listener closed")
}

// clientCloseUnread sends a request and closes 300 ms later without reading
// the reply, which is in its receive buffer by then: Linux sends RST.
func clientCloseUnread() {
	c := dial()
	_, err := c.Write([]byte("send me something I will not read\n"))
	check(err)
	time.Sleep(300 * time.Millisecond)
	check(c.Close())
	log.Printf("closed with the reply unread")
}

// serverReplyUntilError answers the request with n bytes (in lines) and
// reads until the connection fails.
func serverReplyUntilError(n int) func() {
	return func() {
		c := wrap(accept(listen()))
		log.Printf("request %q", c.recv())
		line := strings.Repeat("r", 63) + "\n"
		_, err := c.Write([]byte(strings.Repeat(line, n/len(line))))
		check(err)
		_, err = c.r.ReadByte()
		log.Printf("read after reply: %v", err)
	}
}

// clientStreamUntilError sends a 1000-byte line every 20 ms (at most 250 of
// them) until a write fails.
func clientStreamUntilError() {
	writeUntilError(dial(), []byte(strings.Repeat("d", 999)+"\n"), 250, 20*time.Millisecond)
}

// serverReadUntilError reads until the connection fails (record.sh destroys
// the socket with ss -K); it marks server-established after the first 5000
// bytes.
func serverReadUntilError() {
	c := accept(listen())
	buf := make([]byte, 4096)
	var n int
	marked := false
	for {
		k, err := c.Read(buf)
		n += k
		if !marked && n >= 5000 {
			mark("server-established")
			marked = true
		}
		if err != nil {
			log.Printf("read after %d bytes: %v", n, err)
			return
		}
	}
}

// clientDownload asks for bulkSize bytes, reads them all, and closes first.
func clientDownload() {
	c := wrap(dial())
	c.send(fmt.Sprintf("get %d", bulkSize))
	start := time.Now()
	_, err := io.ReadFull(c.r, make([]byte, bulkSize))
	check(err)
	log.Printf("got %d bytes in %v", bulkSize, time.Since(start).Round(time.Millisecond))
	c.close()
}

// serverDownload sends what was asked for, reads the client's FIN, closes.
func serverDownload() {
	c := wrap(accept(listen()))
	var n int
	_, err := fmt.Sscanf(c.recv(), "get %d", &n)
	check(err)
	writePaced(c, []byte(strings.Repeat("bulk download 0123456789abcdef\n", n/31+1)[:n]))
	c.drain()
	c.close()
}

// clientUpload sends bulkSize bytes after a header line, reads the receipt,
// and closes after the server's FIN.
func clientUpload() {
	c := wrap(dial())
	c.send(fmt.Sprintf("put %d", bulkSize))
	writePaced(c, []byte(strings.Repeat("bulk upload 0123456789abcdefgh\n", bulkSize/31+1)[:bulkSize]))
	log.Printf("receipt %q", c.recv())
	c.drain()
	c.close()
}

// serverUpload reads the upload, answers with a receipt and closes first.
func serverUpload() {
	c := wrap(accept(listen()))
	c.send(fmt.Sprintf("got %d bytes", c.readUpload()))
	c.close()
}

// readUpload reads an upload: its "put N" line, then N bytes; it returns N.
func (c *conn) readUpload() int {
	var n int
	_, err := fmt.Sscanf(c.recv(), "put %d", &n)
	check(err)
	_, err = io.ReadFull(c.r, make([]byte, n))
	check(err)
	return n
}

// clientHalfCloseBoth sends five 4 KiB chunks 50 ms apart while reading what
// the server sends, then shutdown(SHUT_WR); it reads to EOF and closes.
func clientHalfCloseBoth() {
	c := wrap(dial())
	eof := make(chan int)
	go func() { eof <- len(c.drain()) }()
	chunk := []byte(strings.Repeat("upload chunk 0123456789abcdefgh\n", 128))
	for i := 0; i < 5; i++ {
		_, err := c.Write(chunk)
		check(err)
		time.Sleep(50 * time.Millisecond)
	}
	check(c.CloseWrite())
	log.Printf("shutdown(SHUT_WR)")
	log.Printf("read %d bytes to EOF", <-eof)
	c.close()
}

// serverHalfCloseBoth sends 8 KiB every 100 ms while the client sends, and
// ten times more after the client's FIN, then closes.
func serverHalfCloseBoth() {
	c := wrap(accept(listen()))
	eof := make(chan struct{})
	go func() { c.drain(); close(eof) }()
	chunk := []byte(strings.Repeat("server chunk 0123456789abcdefgh\n", 256))
	after := -1
	for i := 0; i < 100 && after < 10; i++ {
		if after < 0 {
			select {
			case <-eof:
				after = 0
				log.Printf("client's FIN after %d chunks", i)
			default:
			}
		}
		if after >= 0 {
			after++
		}
		_, err := c.Write(chunk)
		check(err)
		time.Sleep(100 * time.Millisecond)
	}
	if after < 0 {
		log.Fatal("the client never half-closed")
	}
	c.close()
}

// simultaneousOpen is both roles: each binds its own address and port and
// connects to the other's, when record.sh says so (connect-client, then
// connect-server); neither listens. Then one line each way; the connection
// stays open. Over IPv6 (-addr [fd00::2]:...) the addresses are fd00::1 and
// fd00::2.
func simultaneousOpen() {
	local, remote := "198.18.0.1:50500", "198.18.0.2:50600"
	if strings.HasPrefix(*addr, "[") {
		local, remote = "[fd00::1]:50500", "[fd00::2]:50600"
	}
	if *role == "server" {
		local, remote = remote, local
	}
	la, err := net.ResolveTCPAddr("tcp", local)
	check(err)
	d := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
	d.LocalAddr = la
	await("connect-" + *role)
	c := wrap(d.dial(remote))
	if *role == "client" {
		c.send("hello from the client")
		log.Printf("got %q", c.recv())
	} else {
		log.Printf("got %q", c.recv())
		c.send("hello from the server")
	}
}

// serverAbortFromCloseWait answers the request, reads the client's FIN,
// stays in CLOSE_WAIT for a second, then aborts (SO_LINGER 0).
func serverAbortFromCloseWait() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	c.drain()
	time.Sleep(time.Second)
	check(c.SetLinger(0))
	c.close()
}
