package main

// Recordings of many connections in one capture (multi-close, end-states,
// bulk-in-flight and their variants over a delayed path). Each connection is
// a convo: the client dials it from a fixed local port at a fixed time, and
// the server, which knows the same plan, recognizes it by that port. A mode
// says what both ends do after the request and the response, and so in which
// states the kernel holds them when the capture stops (modes). record.sh
// reads the ports of a mode with -ports to write its nftables rules.
//
//	peer -scenario end-states -ports closing-s   # 41011
//	peer -scenario multi-close -expect           # 52336	TIME_WAIT CLOSED, ...

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var (
	portsOf    = flag.String("ports", "", "print the client ports of the scenario's connections in this mode, comma-separated, and exit")
	wantStates = flag.Bool("expect", false, "print each connection's client port and the states it should end in, and exit")
)

// convo is one connection of a plan.
type convo struct {
	port  int           // the client's local port: names the connection
	start time.Duration // when the client dials, after it starts
	req   int           // request bytes (the client's upload in hcs)
	resp  int           // response bytes
	cwait time.Duration // how long the client waits before it closes
	swait time.Duration // how long the server waits before it closes
	mode  string
}

// A mode's client and server run after the dial (or accept). A mode with no
// server never reaches the server's application.
type mode struct {
	client, server func(*net.TCPConn, convo)
	states         string // client and server state at the end, as in EXPECT
}

// The modes (the ones marked * need record.sh's nftables rules, convo_rules):
//
//	cf         the client closes first, the server after its FIN (at once: three segments)
//	sf         the server closes right after its response, the client after its FIN
//	sim        both close at once: the FINs cross
//	hc         the client half-closes after its request; the response follows its FIN
//	hcs        the server half-closes after its response; the client uploads, then closes
//	rstc       the client aborts (SO_LINGER 0) half-way through the response
//	rsts       the server aborts 100 ms after its response
//	refused    a SYN to port 9
//	lastack-s* the client closes; the client's last ACK never reaches the server
//	lastack-c* the server closes; the server's last ACK never reaches the client
//	open       nothing after the response
//	trickle    the server keeps sending 200 bytes every 20 ms
//	cw, cwc    the client (cw) or the server (cwc) closes; the other never does
//	hctrickle  the client half-closes; the server responds and keeps sending
//	fw1*       the client closes; nothing from the server reaches it any more
//	finlost*   the client closes; its FINs never reach the server
//	closing-s* the server closes, then the client, and the server's FIN and
//	           everything after it never reach the client
//	closing-c* the mirror image: the client's FIN never reaches the server
//	synsent*   the SYNs never reach the server
//	synrcvd*   the handshake's last ACK never reaches the server
//	upload, download, both  paced transfers that never end
var modes = map[string]mode{
	// closed
	"cf":        {clientFirst, serverAfterEOF, "TIME_WAIT CLOSED"},
	"sf":        {clientAfterEOF, serverFirst, "CLOSED TIME_WAIT"},
	"sim":       {clientSim, serverSim, "TIME_WAIT TIME_WAIT"},
	"hc":        {clientHalfCloseConvo, serverAfterHalfClose, "TIME_WAIT CLOSED"},
	"hcs":       {clientUploadAfterFIN, serverHalfCloseConvo, "CLOSED TIME_WAIT"},
	"rstc":      {clientAbortConvo, serverUntilReset, "CLOSED CLOSED"},
	"rsts":      {clientUntilReset, serverAbortConvo, "CLOSED CLOSED"},
	"refused":   {nil, nil, "CLOSED CLOSED"},
	"lastack-s": {clientFirst, serverAfterEOF, "TIME_WAIT LAST_ACK"},
	"lastack-c": {clientAfterEOF, serverFirst, "LAST_ACK TIME_WAIT"},
	// left open
	"open":      {clientExchange, serverExchange, "ESTABLISHED ESTABLISHED"},
	"trickle":   {clientReadForever, serverTrickle, "ESTABLISHED ESTABLISHED"},
	"cw":        {clientFirst, serverNoClose, "FIN_WAIT_2 CLOSE_WAIT"},
	"cwc":       {clientNoClose, serverFirst, "CLOSE_WAIT FIN_WAIT_2"},
	"hctrickle": {clientHalfCloseRead, serverTrickleAfterEOF, "FIN_WAIT_2 CLOSE_WAIT"},
	"fw1":       {clientFirst, serverNoClose, "FIN_WAIT_1 CLOSE_WAIT"},
	"finlost":   {clientFirst, serverExchange, "FIN_WAIT_1 ESTABLISHED"},
	"closing-s": {clientFirst, serverFirst, "FIN_WAIT_1 CLOSING"},
	"closing-c": {clientFirst, serverFirst, "CLOSING FIN_WAIT_1"},
	"synsent":   {nil, nil, "SYN_SENT CLOSED"},
	"synrcvd":   {clientConnectConvo, nil, "ESTABLISHED SYN_RCVD"},
	// bulk-in-flight
	"upload":   {clientStream(6 << 10), serverStream(0), "ESTABLISHED ESTABLISHED"},
	"download": {clientStream(0), serverStream(6 << 10), "ESTABLISHED ESTABLISHED"},
	"both":     {clientStream(2 << 10), serverStream(2 << 10), "ESTABLISHED ESTABLISHED"},
}

// plans by recording; variants over a delayed path share their plan.
var plans = map[string]func() []convo{}

func init() {
	for _, v := range []struct {
		plan  func() []convo
		names []string
	}{
		{multiPlan, []string{"multi-close", "multi-close-rtt2-at-server", "multi-close-rtt20-at-server",
			"multi-close-rtt20-at-client", "multi-close-rtt80-at-client", "multi-close-ipv6-rtt20-at-server"}},
		{endStatesPlan, []string{"end-states", "end-states-rtt20-at-client", "end-states-rtt80-at-server"}},
		{bulkPlan, []string{"bulk-in-flight-rtt20-at-server", "bulk-in-flight-rtt80-at-client"}},
	} {
		for _, name := range v.names {
			plans[name] = v.plan
			scenarios[name] = play{clientConvos(v.plan), serverConvos(v.plan)}
		}
	}
}

// multiPlan: 48 connections, one every 160 ms or so, sizes from 1 byte to
// 200 kB (log-uniform, and a few of the largest), closed in every way or
// left open; always the same plan.
func multiPlan() []convo {
	r := rand.New(rand.NewPCG(793, 1122))
	var ms []string
	for _, m := range []struct {
		name string
		n    int
	}{
		{"cf", 10}, {"sf", 8}, {"sim", 4}, {"hc", 4}, {"hcs", 3}, {"rstc", 4}, {"rsts", 4},
		{"refused", 3}, {"open", 2}, {"trickle", 2}, {"cw", 2}, {"cwc", 1}, {"hctrickle", 1},
	} {
		for range m.n {
			ms = append(ms, m.name)
		}
	}
	r.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
	size := func() int { return int(math.Exp(r.Float64() * math.Log(200_000))) }
	used := map[int]bool{}
	var cs []convo
	for i, m := range ms {
		p := 33000 + r.IntN(27000)
		for used[p] {
			p = 33000 + r.IntN(27000)
		}
		used[p] = true
		c := convo{port: p, mode: m, req: size(), resp: size(),
			start: time.Duration(i)*160*time.Millisecond + time.Duration(r.IntN(100))*time.Millisecond}
		if i%8 == 3 {
			c.resp = 200_000 - 997*i
		}
		if i%11 == 5 {
			c.req = 180_000 + 991*i
		}
		if m == "cf" && r.IntN(2) == 0 {
			c.swait = 50 * time.Millisecond // a four-segment close
		}
		cs = append(cs, c)
	}
	return cs
}

// endStatesPlan: one connection per end state (and per way of getting
// there), 100 ms apart; record.sh's nftables rules do the rest.
func endStatesPlan() []convo {
	var cs []convo
	for i, m := range []string{"open", "cw", "cwc", "cf", "sf", "sim", "fw1", "finlost",
		"lastack-s", "lastack-c", "closing-s", "closing-c", "synsent", "synrcvd",
		"refused", "rstc", "rsts", "hctrickle", "trickle"} {
		c := convo{port: 41001 + i, mode: m, start: time.Duration(i) * 100 * time.Millisecond,
			req: 40 + 97*i, resp: 300 + 1500*i}
		// The first to close waits 50 ms (a server, after its response
		// was acknowledged), the second 300 ms: long after the other's
		// FIN would have arrived, were it not dropped.
		switch m {
		case "cf":
			c.swait = 100 * time.Millisecond
		case "lastack-s":
			c.swait = 300 * time.Millisecond
		case "lastack-c", "closing-s":
			c.swait, c.cwait = 50*time.Millisecond, 300*time.Millisecond
		case "closing-c":
			c.cwait, c.swait = 50*time.Millisecond, 300*time.Millisecond
		}
		cs = append(cs, c)
	}
	return cs
}

// bulkPlan: an upload, a download and both at once, each paced (a write
// every 10 ms) and never ending.
func bulkPlan() []convo {
	return []convo{
		{port: 42001, mode: "upload"},
		{port: 42002, mode: "download", start: 100 * time.Millisecond},
		{port: 42003, mode: "both", start: 200 * time.Millisecond},
	}
}

// printPlan answers -ports and -expect.
func printPlan() {
	plan, ok := plans[*scenario]
	if !ok {
		fmt.Fprintf(os.Stderr, "peer: no connection plan for scenario %q\n", *scenario)
		os.Exit(2)
	}
	if *wantStates {
		for _, c := range plan() {
			fmt.Printf("%d\t%s\n", c.port, modes[c.mode].states)
		}
		return
	}
	var out []string
	for _, c := range plan() {
		if c.mode == *portsOf {
			out = append(out, fmt.Sprint(c.port))
		}
	}
	fmt.Println(strings.Join(out, ","))
}

// ---- running a plan ----

var holdMu sync.Mutex

func holdLocked(x any) {
	holdMu.Lock()
	defer holdMu.Unlock()
	hold(x)
}

func (c convo) logf(format string, a ...any) {
	log.Printf("%d %s: "+format, append([]any{c.port, c.mode}, a...)...)
}

// clientConvos dials every connection of the plan at its time and returns
// once each has reached the point where it stays until the capture stops.
func clientConvos(plan func() []convo) func() {
	return func() {
		var wg sync.WaitGroup
		start := time.Now()
		for _, c := range plan() {
			wg.Add(1)
			go func() {
				time.Sleep(time.Until(start.Add(c.start)))
				runClient(c, wg.Done)
			}()
		}
		wg.Wait()
	}
}

func runClient(c convo, settled func()) {
	host, port, err := net.SplitHostPort(*addr)
	check(err)
	local := &net.TCPAddr{IP: net.ParseIP("198.18.0.1"), Port: c.port}
	if strings.Contains(host, ":") {
		local.IP = net.ParseIP("fd00::1")
	}
	d := net.Dialer{KeepAlive: -1, Timeout: 10 * time.Second, LocalAddr: local}
	switch c.mode {
	case "refused":
		_, err := d.Dial("tcp", net.JoinHostPort(host, "9"))
		if !errors.Is(err, syscall.ECONNREFUSED) {
			log.Fatalf("%d refused: expected connection refused, got %v", c.port, err)
		}
		c.logf("%v", err)
		settled()
		return
	case "synsent":
		go func() {
			d.Timeout = time.Minute
			_, err := d.Dial("tcp", net.JoinHostPort(host, port))
			log.Fatalf("%d synsent: dial returned (should still be in SYN_SENT when killed): %v", c.port, err)
		}()
		time.Sleep(50 * time.Millisecond)
		settled()
		return
	}
	nc, err := d.Dial("tcp", *addr)
	if err != nil {
		log.Fatalf("%d %s: %v", c.port, c.mode, err)
	}
	tc := nc.(*net.TCPConn)
	holdLocked(tc)
	modes[c.mode].client(tc, c)
	c.logf("settled")
	settled()
}

// serverConvos accepts the plan's connections, runs each one's mode, and
// returns once every one that reaches it has settled.
func serverConvos(plan func() []convo) func() {
	return func() {
		byPort := map[int]convo{}
		var wg sync.WaitGroup
		for _, c := range plan() {
			if modes[c.mode].server != nil {
				byPort[c.port] = c
				wg.Add(1)
			}
		}
		ln := listen()
		go func() {
			for {
				nc, err := ln.Accept()
				check(err)
				tc := nc.(*net.TCPConn)
				holdLocked(tc)
				c, ok := byPort[tc.RemoteAddr().(*net.TCPAddr).Port]
				if !ok {
					log.Fatalf("connection from %v is not in the plan", tc.RemoteAddr())
				}
				go func() {
					modes[c.mode].server(tc, c)
					c.logf("settled")
					wg.Done()
				}()
			}
		}()
		wg.Wait()
	}
}

// ---- the pieces ----

var payload = []byte(strings.Repeat("tcpwatch recording payload 0123456789abcdefghijklmnopqrstuvwxyz\n", 4096))

func (c convo) send(tc *net.TCPConn, n int) bool {
	if _, err := tc.Write(payload[:n]); err != nil {
		c.logf("write %d bytes: %v", n, err)
		return false
	}
	return true
}

func (c convo) recv(tc *net.TCPConn, n int) bool {
	if _, err := io.CopyN(io.Discard, tc, int64(n)); err != nil {
		c.logf("read %d bytes: %v", n, err)
		return false
	}
	return true
}

// recvEOF reads to the peer's FIN; what it read is reported.
func (c convo) recvEOF(tc *net.TCPConn) (int64, bool) {
	n, err := io.Copy(io.Discard, tc)
	if err != nil {
		c.logf("read to EOF: %d bytes, %v", n, err)
		return n, false
	}
	return n, true
}

func (c convo) close(tc *net.TCPConn) {
	if err := tc.Close(); err != nil {
		c.logf("close: %v", err)
	}
}

func (c convo) abort(tc *net.TCPConn) {
	if err := tc.SetLinger(0); err != nil {
		c.logf("SO_LINGER 0: %v", err)
	}
	c.close(tc) // RST instead of FIN
}

func (c convo) closeWrite(tc *net.TCPConn) {
	if err := tc.CloseWrite(); err != nil {
		c.logf("shutdown(SHUT_WR): %v", err)
	}
}

func clientExchange(tc *net.TCPConn, c convo) { c.send(tc, c.req); c.recv(tc, c.resp) }
func serverExchange(tc *net.TCPConn, c convo) { c.recv(tc, c.req); c.send(tc, c.resp) }

// clientFirst closes c.cwait after the response, whatever it heard since.
func clientFirst(tc *net.TCPConn, c convo) {
	clientExchange(tc, c)
	time.Sleep(c.cwait)
	c.close(tc)
}

// serverAfterEOF closes c.swait after the client's FIN (0: the ACK of the
// FIN rides on the server's FIN).
func serverAfterEOF(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	c.recvEOF(tc)
	time.Sleep(c.swait)
	c.close(tc)
}

// serverFirst closes right after the response (its FIN may ride on the
// response's last segment), or, with c.swait, that long after the client
// acknowledged all of the response, whatever it heard since: a bare FIN.
func serverFirst(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	if c.swait > 0 {
		c.acked(tc)
		time.Sleep(c.swait)
	}
	c.close(tc)
}

// acked waits until the peer has acknowledged everything written
// (SIOCOUTQ: bytes not yet sent or not yet acknowledged).
func (c convo) acked(tc *net.TCPConn) {
	rc, err := tc.SyscallConn()
	check(err)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int32
		var errno syscall.Errno
		check(rc.Control(func(fd uintptr) {
			_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCOUTQ, uintptr(unsafe.Pointer(&n)))
		}))
		if errno != 0 {
			c.logf("SIOCOUTQ: %v", errno)
			return
		}
		if n == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	c.logf("response never acknowledged")
}

// clientAfterEOF closes c.cwait after the server's FIN.
func clientAfterEOF(tc *net.TCPConn, c convo) {
	clientExchange(tc, c)
	c.recvEOF(tc)
	time.Sleep(c.cwait)
	c.close(tc)
}

// Simultaneous close: 20 ms after the response has arrived, the client
// closes and tells the server (a marker file), which closes at once; with
// a one-way delay of 10 ms or more the FINs cross on the wire, and over a
// shorter path record.sh drops the first FIN each way to make them cross.
func simMarker(c convo) string { return filepath.Join(*syncDir, fmt.Sprintf("sim-%d", c.port)) }

func clientSim(tc *net.TCPConn, c convo) {
	clientExchange(tc, c)
	time.Sleep(20 * time.Millisecond)
	check(os.WriteFile(simMarker(c), nil, 0o644))
	c.close(tc)
}

func serverSim(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := os.Stat(simMarker(c)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log.Fatalf("%d sim: the client never closed", c.port)
		}
		time.Sleep(200 * time.Microsecond)
	}
	c.close(tc)
}

// clientHalfCloseConvo sends the request and shutdown(SHUT_WR), then reads
// the response to EOF and closes.
func clientHalfCloseConvo(tc *net.TCPConn, c convo) {
	c.send(tc, c.req)
	c.closeWrite(tc)
	if n, _ := c.recvEOF(tc); n != int64(c.resp) {
		c.logf("response of %d bytes, want %d", n, c.resp)
	}
	c.close(tc)
}

// serverAfterHalfClose reads the request to EOF, responds and closes.
func serverAfterHalfClose(tc *net.TCPConn, c convo) {
	if n, _ := c.recvEOF(tc); n != int64(c.req) {
		c.logf("request of %d bytes, want %d", n, c.req)
	}
	c.send(tc, c.resp)
	c.close(tc)
}

// serverHalfCloseConvo responds and shuts down its side; the client then
// sends its request again (an upload after the server's FIN) and closes.
func serverHalfCloseConvo(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	c.closeWrite(tc)
	if n, _ := c.recvEOF(tc); n != int64(c.req) {
		c.logf("upload of %d bytes, want %d", n, c.req)
	}
	c.close(tc)
}

func clientUploadAfterFIN(tc *net.TCPConn, c convo) {
	clientExchange(tc, c)
	c.recvEOF(tc)
	c.send(tc, c.req)
	c.close(tc)
}

// clientAbortConvo reads half the response (all of a short one), then
// aborts with SO_LINGER 0; the rest of the response is still coming.
func clientAbortConvo(tc *net.TCPConn, c convo) {
	c.send(tc, c.req)
	c.recv(tc, (c.resp+1)/2)
	c.abort(tc)
}

func serverUntilReset(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	c.untilReset(tc)
}

// untilReset reads once more, which the peer's RST is to end, logs how the
// read ended, then closes.
func (c convo) untilReset(tc *net.TCPConn) {
	_, err := tc.Read(make([]byte, 1))
	c.logf("read after the response: %v", err)
	c.close(tc)
}

// serverAbortConvo responds, then aborts 100 ms later.
func serverAbortConvo(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	time.Sleep(100 * time.Millisecond)
	c.abort(tc)
}

func clientUntilReset(tc *net.TCPConn, c convo) {
	clientExchange(tc, c)
	c.untilReset(tc)
}

// serverNoClose reads to the client's FIN and never closes (CLOSE_WAIT).
func serverNoClose(tc *net.TCPConn, c convo) {
	serverExchange(tc, c)
	c.recvEOF(tc)
}

// clientNoClose reads to the server's FIN and never closes.
func clientNoClose(tc *net.TCPConn, c convo) {
	clientExchange(tc, c)
	c.recvEOF(tc)
}

// clientConnectConvo connects and sends nothing (record.sh drops its ACKs).
func clientConnectConvo(*net.TCPConn, convo) {}

// trickle writes 200 bytes every 20 ms until the process is killed.
func (c convo) trickle(tc *net.TCPConn) {
	go func() {
		for {
			time.Sleep(20 * time.Millisecond)
			if !c.send(tc, 200) {
				return
			}
		}
	}()
}

func (c convo) readForever(tc *net.TCPConn) {
	go func() {
		n, err := io.Copy(io.Discard, tc)
		c.logf("read %d bytes, then %v", n, err)
	}()
}

func serverTrickle(tc *net.TCPConn, c convo) { serverExchange(tc, c); c.trickle(tc) }

func clientReadForever(tc *net.TCPConn, c convo) { clientExchange(tc, c); c.readForever(tc) }

// clientHalfCloseRead sends the request and shutdown(SHUT_WR), then reads
// whatever comes; the server responds and keeps sending (CLOSE_WAIT with data
// in flight).
func clientHalfCloseRead(tc *net.TCPConn, c convo) {
	c.send(tc, c.req)
	c.closeWrite(tc)
	c.recv(tc, c.resp)
	c.readForever(tc)
}

func serverTrickleAfterEOF(tc *net.TCPConn, c convo) {
	if n, _ := c.recvEOF(tc); n != int64(c.req) {
		c.logf("request of %d bytes, want %d", n, c.req)
	}
	c.send(tc, c.resp)
	c.trickle(tc)
}

// stream writes n bytes every 10 ms (if n > 0) and reads everything, until
// the process is killed.
func stream(tc *net.TCPConn, c convo, n int) {
	c.readForever(tc)
	if n == 0 {
		return
	}
	go func() {
		t := time.NewTicker(10 * time.Millisecond)
		for range t.C {
			if !c.send(tc, n) {
				return
			}
		}
	}()
}

func clientStream(n int) func(*net.TCPConn, convo) {
	return func(tc *net.TCPConn, c convo) { stream(tc, c, n) }
}

func serverStream(n int) func(*net.TCPConn, convo) {
	return func(tc *net.TCPConn, c convo) { stream(tc, c, n) }
}
