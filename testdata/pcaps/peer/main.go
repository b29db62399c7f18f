// Command peer plays the client or the server of one recording scenario with
// real kernel sockets. testdata/pcaps/record.sh runs one client and one server
// per scenario, each inside its own network namespace, and coordinates them
// (and its own nftables rules) through marker files in a shared directory:
// mark creates DIR/NAME, await waits for it to appear.
//
// Every process ends its scenario by creating DIR/<role>-done and then blocks,
// holding every socket it still has open, until record.sh has read the kernel's
// socket table with ss and kills it by PID.
//
//	peer -role server -scenario close-client-first -sync DIR -addr 198.18.0.2:8080
//	peer -role client -scenario close-client-first -sync DIR -addr 198.18.0.2:8080
//	peer -role raw -scenario challenge-ack -sync DIR -addr 198.18.0.2:8080
//	peer -role delay -sync DIR -links m-c,m-s -delay 10ms
//	peer -role encap -sync DIR -encap gre -dev tun-c -local 198.19.0.1 -remote 198.19.0.2
//
// The raw role (edge.go) crafts the few segments no socket sends, for the
// scenarios that need them (rawPlays). The delay role (delay.go) joins two
// links with a fixed delay each way, for the recordings over a delayed path.
// The recordings of many connections follow a plan (convo.go).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

var (
	role     = flag.String("role", "", "client, server or raw")
	scenario = flag.String("scenario", "", "scenario name (see -list)")
	syncDir  = flag.String("sync", "", "directory for marker files shared with record.sh")
	addr     = flag.String("addr", "198.18.0.2:8080", "server address (ip:port, IPv6 as [ip]:port)")
	list     = flag.Bool("list", false, "print the scenario names and exit")
)

// held keeps every socket reachable until the process is killed: an
// unreachable *net.TCPConn would be closed by its finalizer, and that close
// would show up on the wire.
var held []any

func hold(x any) { held = append(held, x) }

type play struct{ client, server func() }

var scenarios = map[string]play{
	"close-client-first":  {clientCloseFirst, serverReplyThenClose(400 * time.Millisecond)},
	"three-segment-close": {clientCloseFirst, serverReplyThenClose(0)},
	"ipv6":                {clientCloseFirst, serverReplyThenClose(400 * time.Millisecond)},
	"close-server-first":  {clientCloseServerFirst, serverCloseFirst},
	"close-wait-stuck":    {clientCloseFirst, serverNeverClose},
	"half-close-data":     {clientHalfClose, serverHalfClose},
	"simultaneous-close":  {closeWhenTold, closeWhenTold},
	"closing-stuck":       {closeWhenTold, closeWhenTold},
	"rst-abort":           {clientAbort, serverUntilError},
	"refused":             {clientRefused, serverListenOnly},
	"syn-timeout":         {clientSynTimeout, serverListenOnly},
	"lost-third-ack":      {clientConnectOnly, serverListenOnly},
	"last-ack-retransmit": {clientCloseFirst, serverLastAck},
	"keepalive":           {clientKeepalive, serverHoldAfterReply},
	"zero-window":         {clientFlood, serverNeverRead},
	"port-reuse":          {clientPortReuse, serverPortReuse},
	"midstream":           {clientMidstream, serverEcho},
	"many-short":          {clientManyShort, serverManyShort},
	"rst-after-close":     {clientWriteAfterFIN, serverCloseAfterReply},
	"fin-wait-1-stuck":    {clientCloseOnSignal, serverNeverClose},

	// testdata/pcaps/anomalies (its record.sh; raw segments come from
	// testdata/pcaps/anomalies/raw).
	"close-wait-fin-wait-2": {clientCloseFirst, serverNeverClose},
	"half-open-silence":     {clientIntoSilence, serverHoldAfterReply},
	"invalid-flags":         {clientLive(50302), serverEcho},
	"bad-seq-rst":           {clientLive(50301), serverEcho},
	"bad-seq-synack":        {clientCloseFirst, serverReplyThenClose(0)},
	"syn-flood":             {func() {}, serverListenOnly},
	"ack-flood":             {func() {}, serverListenOnly},
	"rst-flood":             {func() {}, serverListenOnly},
	"fin-flood":             {func() {}, serverListenOnly},
	"synack-backscatter":    {func() {}, serverListenOnly},
	"half-open-peer-lost":   {clientAfterPeerLost, serverAbortWhenTold},
	"bulk":                  {clientBulk, serverBulk},
	"request-response":      {clientRequests, serverRequests},
}

func main() {
	log.SetFlags(log.Lmicroseconds)
	flag.Parse()
	if *list {
		names := make([]string, 0, len(scenarios))
		for n := range scenarios {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Println(strings.Join(names, "\n"))
		return
	}
	if *role == "delay" {
		delayForward() // joins two links (delay.go), no scenario
		return
	}
	if *role == "encap" {
		encapForward() // a tunnel or VLAN the kernel lacks (fresh6.go), no scenario
		return
	}
	if *portsOf != "" || *wantStates {
		printPlan() // convo.go
		return
	}
	p, ok := scenarios[*scenario]
	if *role == "raw" {
		_, ok = rawPlays[*scenario]
	}
	if !ok || *syncDir == "" || (*role != "client" && *role != "server" && *role != "raw") {
		fmt.Fprintln(os.Stderr, "usage: peer -role client|server|raw|delay -scenario NAME -sync DIR [-addr IP:PORT]  (peer -list for names)")
		os.Exit(2)
	}
	log.SetPrefix(*role + " ")
	if *role == "raw" {
		rawPlays[*scenario]()
		mark("raw-done")
		return // it holds no socket that matters: exit at once
	} else if *role == "client" {
		p.client()
	} else {
		p.server()
	}
	mark(*role + "-done")
	log.Printf("done; holding %d sockets until killed", len(held))
	for {
		time.Sleep(time.Hour)
		runtime.KeepAlive(held)
	}
}

// ---- coordination with record.sh ----

func mark(name string) {
	if err := os.WriteFile(filepath.Join(*syncDir, name), nil, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("mark %s", name)
}

func await(name string) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join(*syncDir, name)); err == nil {
			log.Printf("got %s", name)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	log.Fatalf("timed out waiting for %s", name)
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// ---- socket helpers ----

type sockopt func(fd int) error

func setInt(level, opt, v int) sockopt {
	return func(fd int) error { return syscall.SetsockoptInt(fd, level, opt, v) }
}

func control(opts []sockopt) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		var err error
		if cerr := c.Control(func(fd uintptr) {
			for _, o := range opts {
				if err = o(int(fd)); err != nil {
					return
				}
			}
		}); cerr != nil {
			return cerr
		}
		return err
	}
}

// listen listens on *addr only (no dual-stack wildcard), with Go's default
// keepalive switched off so that no probe appears unless a scenario wants it.
func listen(opts ...sockopt) net.Listener {
	lc := net.ListenConfig{KeepAlive: -1, Control: control(opts)}
	ln, err := lc.Listen(context.Background(), "tcp", *addr)
	check(err)
	hold(ln)
	log.Printf("listening on %s", ln.Addr())
	return ln
}

func accept(ln net.Listener) *net.TCPConn {
	c, err := ln.Accept()
	check(err)
	hold(c)
	log.Printf("accepted %s", c.RemoteAddr())
	return c.(*net.TCPConn)
}

type dialer struct {
	net.Dialer
}

func newDialer(opts ...sockopt) *dialer {
	return &dialer{net.Dialer{KeepAlive: -1, Timeout: 10 * time.Second, Control: control(opts)}}
}

func (d *dialer) dial(to string) *net.TCPConn {
	c, err := d.Dial("tcp", to)
	check(err)
	hold(c)
	log.Printf("connected %s -> %s", c.LocalAddr(), c.RemoteAddr())
	return c.(*net.TCPConn)
}

func dial() *net.TCPConn { return newDialer().dial(*addr) }

// conn wraps a connection with a line reader; every message of every
// scenario is one short line.
type conn struct {
	*net.TCPConn
	r *bufio.Reader
}

func wrap(c *net.TCPConn) *conn { return &conn{c, bufio.NewReader(c)} }

func (c *conn) send(s string) {
	_, err := c.Write([]byte(s + "\n"))
	check(err)
}

func (c *conn) recv() string {
	s, err := c.r.ReadString('\n')
	check(err)
	return strings.TrimSuffix(s, "\n")
}

// recvLine is recv that reports the peer's FIN instead of failing on it:
// false at EOF (a last line without its newline, which no scenario sends,
// is dropped).
func (c *conn) recvLine() (string, bool) {
	s, err := c.r.ReadString('\n')
	if errors.Is(err, io.EOF) {
		return "", false
	}
	check(err)
	return strings.TrimSuffix(s, "\n"), true
}

// drain reads until EOF (the peer's FIN) and returns what it read.
func (c *conn) drain() []byte {
	b, err := io.ReadAll(c.r)
	check(err)
	log.Printf("EOF after %d more bytes", len(b))
	return b
}

func (c *conn) close() {
	check(c.Close())
	log.Printf("closed %s -> %s", c.LocalAddr(), c.RemoteAddr())
}

// ---- servers ----

func serverListenOnly() { listen() }

// serverReplyThenClose answers one request, waits for the client's FIN, waits
// delay, then closes. With delay 0 the kernel's delayed ACK of the FIN rides
// on the server's own FIN (three-segment close).
func serverReplyThenClose(delay time.Duration) func() {
	return func() {
		c := wrap(accept(listen()))
		c.send("world: " + c.recv())
		c.drain()
		time.Sleep(delay)
		c.close()
	}
}

func serverCloseFirst() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	time.Sleep(100 * time.Millisecond)
	c.close()
}

// serverNeverClose reads up to the client's FIN and never calls close.
func serverNeverClose() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	c.drain()
}

func serverHalfClose() {
	c := wrap(accept(listen()))
	req := c.drain()
	log.Printf("request %q", req)
	for i := 1; i <= 5; i++ {
		c.send(fmt.Sprintf("chunk %d of 5 after your FIN", i))
		time.Sleep(250 * time.Millisecond)
	}
	c.close()
}

func serverUntilError() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	_, err := c.r.ReadByte()
	log.Printf("read after reply: %v", err)
}

func serverLastAck() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	c.drain()
	time.Sleep(400 * time.Millisecond) // the FIN's delayed ACK goes out alone
	mark("server-eof")
	await("close")
	c.close()
}

func serverHoldAfterReply() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
}

// serverNeverRead sets a tiny receive buffer on the listener (accepted
// sockets inherit it, and the window is sized from it) and never reads.
func serverNeverRead() {
	accept(listen(setInt(syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)))
}

func serverPortReuse() {
	ln := listen()
	for i := 1; i <= 3; i++ {
		c := wrap(accept(ln))
		c.send(fmt.Sprintf("response %d: %s", i, c.recv()))
		if i < 3 {
			c.close() // server closes first: the server keeps the TIME_WAIT
		}
	}
}

func serverEcho() {
	c := wrap(accept(listen()))
	for s, ok := c.recvLine(); ok; s, ok = c.recvLine() {
		c.send("echo " + s)
	}
	time.Sleep(300 * time.Millisecond)
	c.close()
}

func serverManyShort() { servePongs(listen()) }

// servePongs answers every connection ln accepts, each in its own
// goroutine: one line back ("pong" for "ping"), then close on EOF; it
// returns at record.sh's "client-done".
func servePongs(ln net.Listener) {
	go func() {
		for {
			c := wrap(accept(ln))
			go func() {
				c.send("pong " + strings.TrimPrefix(c.recv(), "ping "))
				c.drain()
				c.close()
			}()
		}
	}()
	await("client-done")
}

func serverCloseAfterReply() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	c.close()
}

// ---- clients ----

func clientCloseFirst() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	c.close()
}

func clientCloseServerFirst() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	c.drain()
	time.Sleep(400 * time.Millisecond)
	c.close()
}

func clientHalfClose() {
	c := wrap(dial())
	c.send("send me data after my FIN")
	check(c.CloseWrite())
	log.Printf("shutdown(SHUT_WR)")
	c.drain()
	c.close()
}

// closeWhenTold is both roles: exchange one message, mark <role>-established,
// then close when record.sh creates close-<role> (it sets up its nftables
// drops in between).
func closeWhenTold() {
	var c *conn
	if *role == "client" {
		c = wrap(dial())
		c.send("hello")
		log.Printf("reply %q", c.recv())
	} else {
		c = wrap(accept(listen()))
		c.send("world: " + c.recv())
	}
	mark(*role + "-established")
	await("close-" + *role)
	c.close()
}

func clientAbort() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	check(c.SetLinger(0))
	c.close() // SO_LINGER 0: RST instead of FIN
}

func clientRefused() {
	host, _, err := net.SplitHostPort(*addr)
	check(err)
	_, err = newDialer().Dial("tcp", net.JoinHostPort(host, "9"))
	log.Printf("dial port 9: %v", err)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		log.Fatal("expected connection refused")
	}
}

func clientSynTimeout() {
	go func() {
		d := newDialer()
		d.Timeout = time.Minute
		_, err := d.Dial("tcp", *addr)
		log.Fatalf("dial returned (should still be in SYN_SENT when killed): %v", err)
	}()
	time.Sleep(50 * time.Millisecond)
}

func clientConnectOnly() { dial() }

func clientKeepalive() { keepaliveHello() }

// keepaliveHello dials with keepalive after 1 s idle, every 1 s, and
// makes one exchange; it returns the connection, open.
func keepaliveHello() *conn {
	d := newDialer()
	d.KeepAlive = 0
	d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 9}
	c := wrap(d.dial(*addr))
	c.send("hello")
	log.Printf("reply %q", c.recv())
	return c
}

// clientFlood writes far more than the server (which never reads) can take.
func clientFlood() {
	c := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_SNDBUF, 4096)).dial(*addr)
	go func() {
		buf := []byte(strings.Repeat("0123456789abcdef", 4096))
		n, err := c.Write(buf)
		log.Fatalf("write returned (should block until killed): %d %v", n, err)
	}()
	time.Sleep(300 * time.Millisecond)
}

func clientPortReuse() {
	host, _, err := net.SplitHostPort(*addr)
	check(err)
	local := &net.TCPAddr{IP: net.ParseIP("198.18.0.1"), Port: 50123}
	if strings.Contains(host, ":") {
		local.IP = net.ParseIP("fd00::1")
	}
	for i := 1; i <= 3; i++ {
		d := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
		d.LocalAddr = local
		c := wrap(d.dial(*addr))
		c.send(fmt.Sprintf("request %d", i))
		log.Printf("reply %q", c.recv())
		if i < 3 {
			c.drain()
			time.Sleep(100 * time.Millisecond)
			c.close()
			time.Sleep(300 * time.Millisecond)
		}
	}
}

func clientMidstream() {
	c := wrap(dial())
	c.send("hello 1 (before the capture)")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	for i := 2; i <= 4; i++ {
		c.send(fmt.Sprintf("hello %d", i))
		log.Printf("reply %q", c.recv())
		time.Sleep(100 * time.Millisecond)
	}
	c.close()
}

func clientManyShort() {
	const n = 125
	for i := 1; i <= n; i++ {
		c := wrap(dial())
		c.send(fmt.Sprintf("ping %d", i))
		if r := c.recv(); r != fmt.Sprintf("pong %d", i) {
			log.Fatalf("bad reply %q", r)
		}
		c.close()
		held = held[:0] // closed: let them go
	}
	log.Printf("%d connections", n)
}

func clientWriteAfterFIN() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	time.Sleep(300 * time.Millisecond) // the server's FIN arrives meanwhile
	c.send("late data")                // the server has closed: RST
	time.Sleep(200 * time.Millisecond)
	_, err := c.Write([]byte("x"))
	log.Printf("second write: %v", err)
}

func clientCloseOnSignal() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("close")
	c.close()
}

// ---- testdata/pcaps/anomalies ----

// clientIntoSilence exchanges one message, then (once record.sh black-holes
// the path) sends more data that is never acknowledged.
func clientIntoSilence() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	c.send("are you there?")
	time.Sleep(time.Second)
	c.send("hello?") // queued behind the unacknowledged data
}

// clientLive talks to an echo server from a fixed local port, so that the
// raw program knows the connection: one exchange before it is ready, one
// that shows it the connection's numbers, one after its crafted segments,
// then a close.
func clientLive(port int) func() {
	return func() {
		host, _, err := net.SplitHostPort(*addr)
		check(err)
		d := newDialer(setInt(syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP("198.18.0.1"), Port: port}
		if strings.Contains(host, ":") {
			d.LocalAddr.(*net.TCPAddr).IP = net.ParseIP("fd00::1")
		}
		c := wrap(d.dial(*addr))
		c.send("ping 1")
		log.Printf("reply %q", c.recv())
		mark("client-established")
		await("raw-ready")
		c.send("ping 2")
		log.Printf("reply %q", c.recv())
		await("raw-done")
		c.send("ping 3")
		log.Printf("reply %q", c.recv())
		c.close()
	}
}

const (
	bulkChunk  = 64 << 10
	bulkChunks = 64 // 4 MiB
	bulkEvery  = 80 * time.Millisecond
)

// clientBulk sends 4 MiB paced over about 5 s, half-closes, reads the
// server's receipt and closes.
func clientBulk() {
	c := wrap(dial())
	buf := []byte(strings.Repeat("bulk transfer 0123456789abcdef\n", bulkChunk/32))
	start := time.Now()
	for i := 0; i < bulkChunks; i++ {
		_, err := c.Write(buf)
		check(err)
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * bulkEvery)))
	}
	check(c.CloseWrite())
	log.Printf("sent %d bytes in %v", bulkChunk*bulkChunks, time.Since(start))
	log.Printf("reply %q", c.recv())
	c.close()
}

func serverBulk() {
	c := wrap(accept(listen()))
	n, err := io.Copy(io.Discard, c.r)
	check(err)
	c.send(fmt.Sprintf("got %d bytes", n))
	c.close()
}

// clientRequests runs three connections at once, each with 20 requests 50 ms
// apart for responses of 200 B to 30 kB, then closes them.
func clientRequests() {
	sizes := []int{200, 1500, 4000, 12000, 30000}
	conns := make([]*conn, 3)
	for k := range conns {
		conns[k] = wrap(dial())
		time.Sleep(20 * time.Millisecond)
	}
	done := make(chan struct{})
	for k, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 20; i++ {
				size := sizes[(i+k)%len(sizes)]
				c.send(fmt.Sprintf("get %d", size))
				if r := c.recv(); len(r) != size {
					log.Fatalf("reply of %d bytes, want %d", len(r), size)
				}
				time.Sleep(50 * time.Millisecond)
			}
			c.close()
		}()
	}
	for range conns {
		<-done
	}
}

func serverRequests() {
	ln := listen()
	done := make(chan struct{})
	for k := 0; k < 3; k++ {
		c := wrap(accept(ln))
		go func() {
			defer func() { done <- struct{}{} }()
			for s, ok := c.recvLine(); ok; s, ok = c.recvLine() {
				var size int
				_, err := fmt.Sscanf(s, "get %d", &size)
				check(err)
				c.send(strings.Repeat("r", size))
			}
			c.close()
		}()
	}
	for k := 0; k < 3; k++ {
		<-done
	}
}

// serverAbortWhenTold answers one request, then, when record.sh says so
// (having made its output hook drop the server's RSTs), aborts the
// connection with SO_LINGER 0: the socket is gone and the client never
// hears of it, as if the server had restarted.
func serverAbortWhenTold() {
	c := wrap(accept(listen()))
	c.send("world: " + c.recv())
	mark("server-established")
	await("abort")
	check(c.SetLinger(0))
	c.close()
}

// clientAfterPeerLost exchanges one message, then, when told, sends more
// data: the server's kernel no longer knows the connection and answers RST.
func clientAfterPeerLost() {
	c := wrap(dial())
	c.send("hello")
	log.Printf("reply %q", c.recv())
	mark("client-established")
	await("go")
	c.send("are you still there?")
	_, err := c.r.ReadByte()
	log.Printf("read after the server was lost: %v", err)
}
