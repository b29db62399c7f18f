package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// syncBuffer is a bytes.Buffer that run writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveRun is tcpwatch -i running in the lab's server namespace.
type liveRun struct {
	out, err syncBuffer
	code     int
	done     chan struct{}
	opened   chan struct{} // closed once every reader is open
}

// startLive runs tcpwatch with args inside ns until ctx ends (or it stops
// by itself).
func startLive(ctx context.Context, ns *netlab.NS, args ...string) *liveRun {
	r := &liveRun{done: make(chan struct{}), opened: make(chan struct{})}
	ctx = context.WithValue(ctx, openedKey{}, func() { close(r.opened) })
	go func() {
		defer close(r.done)
		err := ns.Do(func() error {
			r.code = run(ctx, args, &r.out, &r.err)
			return nil
		})
		if err != nil {
			r.code = -1
			r.err.Write([]byte(err.Error()))
		}
	}()
	return r
}

// ready waits until tcpwatch has its capture open: what is sent from then
// on is captured.
func (r *liveRun) ready(t *testing.T) {
	t.Helper()
	select {
	case <-r.opened:
	case <-r.done:
		t.Fatalf("tcpwatch stopped (exit %d) before its capture was open: %s", r.code, r.err.String())
	case <-time.After(10 * time.Second):
		t.Fatal("tcpwatch did not open its capture")
	}
}

// wait waits for tcpwatch to stop.
func (r *liveRun) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatal("tcpwatch did not stop")
	}
}

// waitFor waits until tcpwatch's output satisfies ok.
func (r *liveRun) waitFor(t *testing.T, what string, ok func(out string) bool) {
	t.Helper()
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		if ok(r.out.String()) {
			return
		}
		select {
		case <-r.done:
			t.Fatalf("tcpwatch stopped (exit %d) before %s:\nstdout:\n%s\nstderr:\n%s", r.code, what, r.out.String(), r.err.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("timed out waiting for %s; stdout so far:\n%s", what, r.out.String())
}

// event is any ndjson line, decoded loosely.
type event struct {
	Event      string              `json:"event"`
	Connection json.RawMessage     `json:"connection"`
	Kind       tracker.Kind        `json:"kind"`
	Side       report.OptionalSide `json:"side"`
	From       tracker.State       `json:"from"`
	To         tracker.State       `json:"to"`
	Report     *report.Report      `json:"report"`
	Dropped    *report.Dropped     `json:"dropped"`
}

func events(t *testing.T, out string) []event {
	t.Helper()
	var evs []event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("ndjson line %q: %v", sc.Text(), err)
		}
		if e.Event == "" {
			t.Errorf("ndjson line without an event: %q", sc.Text())
		}
		evs = append(evs, e)
	}
	return evs
}

// server listens in the lab's server namespace. Each accepted connection
// is handed to handle.
func server(t *testing.T, l *netlab.Lab, addr string, handle func(c net.Conn)) {
	t.Helper()
	var ln net.Listener
	if err := l.Server.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go handle(c)
		}
	}()
}

func dial(t *testing.T, l *netlab.Lab, addr string) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	err := l.Client.Do(func() (err error) { c, err = net.Dial("tcp", addr); return err })
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// echoOnce answers one line and closes after the client's FIN.
func echoOnce(c net.Conn) {
	r := bufio.NewReader(c)
	if s, err := r.ReadString('\n'); err == nil {
		c.Write([]byte("world: " + s))
	}
	io.Copy(io.Discard, r)
	c.Close()
}

// neverClose reads up to the client's FIN and keeps its end open.
func neverClose(c net.Conn) { io.Copy(io.Discard, c) }

// request sends a line, reads the reply and closes.
func request(t *testing.T, l *netlab.Lab, addr string) {
	t.Helper()
	c, err := dial(t, l, addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	c.Close()
}

// TestLiveNDJSON captures three real kernel connections on the server's
// veth — a normal exchange, a server that never closes (CLOSE_WAIT, stuck
// after --stuck 2s with no further packet: the wall clock drives the
// detectors) and a refused SYN — streams them as ndjson, stops on context
// cancellation (what Ctrl-C does) and checks the final report.
//
// The interface is read each way tcpwatch can: an AF_PACKET ring (the
// default), libpcap, and two fanout sockets feeding the tracker in batches.
func TestLiveNDJSON(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"ring", nil},
		{"libpcap", []string{"--libpcap"}},
		{"fanout", []string{"--fanout", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) { liveNDJSON(t, tc.extra...) })
	}
}

func liveNDJSON(t *testing.T, extra ...string) {
	l := netlab.New(t)
	before := runtime.NumGoroutine()
	server(t, l, "198.18.0.2:8080", echoOnce)
	server(t, l, "198.18.0.2:8081", neverClose)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tw := startLive(ctx, l.Server, append([]string{"-i", l.Server.Link, "-F", "ndjson", "--interval", "200ms", "--stuck", "2s", "tcp"}, extra...)...)
	tw.waitFor(t, "the first stats event", func(out string) bool { return strings.Contains(out, `"event":"stats"`) })

	request(t, l, "198.18.0.2:8080")
	stuck, err := dial(t, l, "198.18.0.2:8081")
	if err != nil {
		t.Fatal(err)
	}
	stuck.Write([]byte("hello\n"))
	stuck.(*net.TCPConn).CloseWrite() // FIN; the server never sends its own
	if _, err := dial(t, l, "198.18.0.2:9"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial port 9: %v, want connection refused", err)
	}
	stuckAt := time.Now()

	// Live: the transitions as they happen, the end of the normal
	// connection, and the stuck CLOSE_WAIT found while the wire is quiet.
	tw.waitFor(t, "close_wait_stuck", func(out string) bool { return strings.Contains(out, `"kind":"close_wait_stuck"`) })
	if d := time.Since(stuckAt); d < 2*time.Second-100*time.Millisecond {
		t.Errorf("close_wait_stuck fired %v after the FIN, before --stuck 2s", d)
	}
	cancel()
	tw.wait(t)
	if tw.code != exitOK {
		t.Fatalf("exit %d, stderr: %s", tw.code, tw.err.String())
	}

	evs := events(t, tw.out.String())
	seen := map[string]int{}
	var closeWait, refused bool
	for _, e := range evs {
		seen[e.Event]++
		switch {
		case e.Event == "transition" && e.Side == report.SideOf(tracker.Server) && e.To == tracker.CloseWait:
			closeWait = true
		case e.Event == "anomaly" && e.Kind == tracker.ConnectionRefused:
			refused = true
		}
	}
	for _, want := range []string{"stats", "transition", "end", "anomaly", "report"} {
		if seen[want] == 0 {
			t.Errorf("no %q event; events: %v", want, seen)
		}
	}
	if !closeWait || !refused {
		t.Errorf("server → CLOSE_WAIT transition streamed: %v; connection_refused streamed: %v", closeWait, refused)
	}
	last := evs[len(evs)-1]
	if last.Event != "report" || last.Report == nil {
		t.Fatalf("last line is %q, want the final report", last.Event)
	}
	checkFinal(t, l, last.Report)

	// Nothing left running: no goroutine, no handle (the capture's
	// thread ended with run).
	for i := 0; i < 50 && runtime.NumGoroutine() > before+4; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+4 { // the test's own servers and their connections
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after the run, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

// checkFinal checks the final report of the three connections.
func checkFinal(t *testing.T, l *netlab.Lab, rep *report.Report) {
	t.Helper()
	if rep.Input.Interface != l.Server.Link || rep.Input.Dropped.Kernel != 0 || len(rep.Input.Files) != 0 {
		t.Errorf("input %+v: want interface %s, no files, no drops", rep.Input, l.Server.Link)
	}
	want := map[netip.AddrPort][2]tracker.State{
		netip.MustParseAddrPort("198.18.0.2:8080"): {tracker.TimeWait, tracker.Closed},
		netip.MustParseAddrPort("198.18.0.2:8081"): {tracker.FinWait2, tracker.CloseWait},
		netip.MustParseAddrPort("198.18.0.2:9"):    {tracker.Closed, tracker.Closed},
	}
	got := map[netip.AddrPort]report.Connection{}
	for _, c := range rep.Connections {
		got[c.Server] = c
	}
	if len(rep.Connections) != 3 {
		t.Errorf("%d connections, want 3: %+v", len(rep.Connections), rep.Connections)
	}
	for srv, st := range want {
		c, ok := got[srv]
		if !ok {
			t.Errorf("no connection to %s", srv)
			continue
		}
		if c.ClientState != st[0] || c.ServerState != st[1] {
			t.Errorf("%s: client %s, server %s; want %s, %s", srv, c.ClientState, c.ServerState, st[0], st[1])
		}
	}
	kinds := map[tracker.Kind]report.OptionalSide{}
	for _, a := range rep.Anomalies {
		kinds[a.Kind] = a.Side
	}
	if side, ok := kinds[tracker.CloseWaitStuck]; !ok || side != report.SideOf(tracker.Server) {
		t.Errorf("anomalies %+v: want close_wait_stuck on the server side", rep.Anomalies)
	}
	if _, ok := kinds[tracker.ConnectionRefused]; !ok {
		t.Errorf("anomalies %+v: want connection_refused", rep.Anomalies)
	}
}

// TestLiveSnapshots: the table format with stdout not a terminal appends
// timestamped snapshots, stops by itself after --duration, and prints the
// same final table as file mode.
func TestLiveSnapshots(t *testing.T) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8081", neverClose)
	tw := startLive(context.Background(), l.Server, "-i", l.Server.Link, "--interval", "200ms", "--duration", "1500ms", "--stuck", "500ms")
	tw.waitFor(t, "the first snapshot", func(out string) bool { return strings.Contains(out, "--- ") })
	c, err := dial(t, l, "198.18.0.2:8081")
	if err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	start := time.Now()
	tw.wait(t)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("--duration 1500ms stopped after more than %v", d)
	}
	out := tw.out.String()
	if tw.code != exitOK {
		t.Fatalf("exit %d: %s", tw.code, tw.err.String())
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("escape sequences in output that is not a terminal")
	}
	frames := strings.Count(out, "\n--- ") + 1
	if frames < 4 {
		t.Errorf("%d snapshots in 1.5 s at 200ms, want at least 4:\n%s", frames, out)
	}
	for _, want := range []string{
		"interface " + l.Server.Link + ": ", "packets (", "dropped: 0 by the kernel", // header
		"Connections: 1 seen, 1 open", "CLOSE_WAIT", "FIN_WAIT_2", // states, open connections
		"Recent transitions", "→ CLOSE_WAIT", // transitions
		"close_wait_stuck",                                        // the anomaly, live and in the final report
		"\ninterface " + l.Server.Link + ": ", "Connections: 1\n", // the final report
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestLiveTinyInterval: --interval 1ns, positive as SPEC asks, runs (the
// ring's loop ticks at half the interval, which must not round to 0).
func TestLiveTinyInterval(t *testing.T) {
	l := netlab.New(t)
	tw := startLive(context.Background(), l.Server, "-i", l.Server.Link, "--interval", "1ns", "--duration", "300ms", "-F", "json")
	tw.wait(t)
	if tw.code != exitOK || !strings.Contains(tw.out.String(), `"schema_version"`) {
		t.Errorf("exit %d, stderr %q, stdout %.200q", tw.code, tw.err.String(), tw.out.String())
	}
}

// TestLiveCount: -c N stops after N packets and reports them.
func TestLiveCount(t *testing.T) {
	t.Run("one", func(t *testing.T) { liveCount(t) })
	t.Run("fanout", func(t *testing.T) { liveCount(t, "--fanout", "2") })
}

func liveCount(t *testing.T, extra ...string) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8080", echoOnce)
	tw := startLive(context.Background(), l.Server, append([]string{"-i", l.Server.Link, "-c", "3", "-F", "json", "--duration", "8s", "tcp port 8080"}, extra...)...)
	tw.ready(t)
	request(t, l, "198.18.0.2:8080")
	tw.wait(t)
	var rep report.Report
	if err := json.Unmarshal([]byte(tw.out.String()), &rep); err != nil {
		t.Fatalf("exit %d, output is not one JSON document: %v\n%s%s", tw.code, err, tw.out.String(), tw.err.String())
	}
	if rep.Input.Packets != 3 || len(rep.Connections) != 1 || rep.Connections[0].ClientState != tracker.Established {
		t.Errorf("after -c 3: %d packets, connections %+v; want 3 packets of one handshake", rep.Input.Packets, rep.Connections)
	}
}

// TestLiveErrorsCLI: capture errors are one line on stderr and exit 2.
func TestLiveErrorsCLI(t *testing.T) {
	l := netlab.New(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-i", "twnosuch0"}, `tcpwatch: open interface "twnosuch0": no such interface; available: `},
		{[]string{"-i", l.Server.Link, "tcp", "port"}, `tcpwatch: filter "tcp port": can't parse filter expression: syntax error`},
		{[]string{"-i", "nflog", "port", "80"}, `tcpwatch: open interface "nflog": filter "port 80" for link type NFLOG (239): `},
		{[]string{"-i", l.Server.Link, "--interval", "0s"}, `tcpwatch: --interval 0s: must be positive (tcpwatch --help for usage)`},
	} {
		tw := startLive(context.Background(), l.Server, tc.args...)
		tw.wait(t)
		msg := tw.err.String()
		if tw.code != exitError || !strings.HasPrefix(msg, tc.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("tcpwatch %v: exit %d, stderr %q; want 2 and one line starting %q", tc.args, tw.code, msg, tc.want)
		}
	}
}

// TestLiveInterrupt runs tcpwatch as its own process (this test binary,
// re-executed in the server namespace) and presses Ctrl-C: SIGINT stops it
// cleanly, and it prints the final report, marked interrupted, and exits 0.
func TestLiveInterrupt(t *testing.T) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8080", echoOnce)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := l.Server.Command(context.Background(), exe, "-test.run=^TestHelperProcess$", "--",
		"-i", l.Server.Link, "-F", "ndjson", "--interval", "100ms")
	cmd.Env = append(os.Environ(), helperEnv)
	var out syncBuffer
	var errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(8 * time.Second)
	for !strings.Contains(out.String(), `"event":"stats"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	request(t, l, "198.18.0.2:8080")
	time.Sleep(300 * time.Millisecond)
	// ip netns exec runs tcpwatch in its own process: signal that one.
	if err := signalChild(cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpwatch after SIGINT: %v; stderr: %s", err, errb.String())
	}
	evs := events(t, out.String())
	last := evs[len(evs)-1]
	if last.Event != "report" || last.Report == nil || len(last.Report.Connections) != 1 ||
		last.Report.Connections[0].ClientState != tracker.TimeWait {
		t.Errorf("after SIGINT the last line is not the final report of the connection:\n%s", out.String())
	} else if !last.Report.Input.Interrupted {
		t.Errorf("the report after SIGINT does not say the run was interrupted:\n%s", out.String())
	}
}

// signalChild sends sig to pid, or to its only child when pid is ip netns
// exec waiting for it (older iproute2 forks; newer ones exec).
func signalChild(pid int, sig syscall.Signal) error {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 1 {
			if child, err := strconv.Atoi(f[0]); err == nil {
				return syscall.Kill(child, sig)
			}
		}
	}
	return syscall.Kill(pid, sig)
}

// TestLiveCountEndsTheCaptureAtItsLastPacket: after -c's last packet
// nothing more is looked at, so the time that passes after it is no
// evidence: a FIN whose ACK came after the count is not taken for an ACK
// the capture missed, as in a file cut at the same packet.
func TestLiveCountEndsTheCaptureAtItsLastPacket(t *testing.T) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8082", neverClose)
	tw := startLive(context.Background(), l.Server, "-i", l.Server.Link, "-c", "4", "-F", "json", "--duration", "8s", "tcp port 8082")
	tw.ready(t)
	c, err := dial(t, l, "198.18.0.2:8082")
	if err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite() // SYN, SYN-ACK, ACK, the client's FIN: four; the server's ACK is the fifth
	tw.wait(t)
	var rep report.Report
	if err := json.Unmarshal([]byte(tw.out.String()), &rep); err != nil {
		t.Fatalf("exit %d, output is not one JSON document: %v\n%s%s", tw.code, err, tw.out.String(), tw.err.String())
	}
	if rep.Input.Packets != 4 || len(rep.Connections) != 1 {
		t.Fatalf("after -c 4: %d packets, %d connections", rep.Input.Packets, len(rep.Connections))
	}
	if cl := rep.Input.CaptureLoss; cl != nil {
		t.Errorf("capture loss %+v after -c 4: the ACK that came after the count is taken as missed", *cl)
	}
}

// TestLiveReportSaysWhenCaptureStopped: a live capture stopped by
// --duration well after its last packet gives that moment as capture_end,
// the end its findings' clock ran to.
func TestLiveReportSaysWhenCaptureStopped(t *testing.T) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8083", echoOnce)
	tw := startLive(context.Background(), l.Server, "-i", l.Server.Link, "-F", "json", "--duration", "3s", "tcp port 8083")
	tw.ready(t)
	request(t, l, "198.18.0.2:8083")
	tw.wait(t)
	var rep report.Report
	if err := json.Unmarshal([]byte(tw.out.String()), &rep); err != nil {
		t.Fatalf("exit %d, output is not one JSON document: %v\n%s%s", tw.code, err, tw.out.String(), tw.err.String())
	}
	in := rep.Input
	if in.LastPacket == 0 || in.CaptureEnd <= in.LastPacket || in.CaptureEnd-in.FirstPacket > report.Time(10*time.Second) {
		t.Errorf("first packet %v, last %v, capture_end %v: want the end after the last packet, within the run", in.FirstPacket, in.LastPacket, in.CaptureEnd)
	}
}
