package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
	"github.com/tcpwatch/tcpwatch/internal/testenv"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// scrapeIn fetches http://addr/metrics from inside ns (the listener is in
// the namespace tcpwatch runs in): the connection is made on the
// namespace's thread, and HTTP is spoken over it.
func scrapeIn(ns *netlab.NS, addr, path string) (code int, body string, err error) {
	err = ns.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		code, body = resp.StatusCode, string(b)
		return err
	})
	return code, body, err
}

// gauges parses the tcpwatch_connections series of an exposition.
func gauges(body string) map[string]map[tracker.State]uint64 {
	out := map[string]map[tracker.State]uint64{"client": {}, "server": {}}
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, `tcpwatch_connections{side="`)
		if !ok {
			continue
		}
		side, rest, _ := strings.Cut(rest, `",state="`)
		name, val, _ := strings.Cut(rest, `"} `)
		st, _ := tracker.ParseState(name)
		if n, err := strconv.ParseUint(val, 10, 64); err == nil && n > 0 {
			out[side][st] = n
		}
	}
	return out
}

// TestLiveMetrics: tcpwatch -i --metrics between two namespaces, with real
// connections (three closed, two held open, one refused): /metrics passes
// promtool check metrics, other paths are 404, and its gauges equal the
// final report's state counts, its counters the report's packets and bytes.
func TestLiveMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.SkipOrFail(t, "promtool not installed (scripts/setup.sh installs Debian's prometheus)")
	}
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8080", echoOnce)
	server(t, l, "198.18.0.2:8081", neverClose)
	const addr = "127.0.0.1:9713" // in the server's namespace: nothing else listens there

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tw := startLive(ctx, l.Server, "-i", l.Server.Link, "-F", "json", "--interval", "100ms", "--metrics", "9713", "tcp")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, _, err := scrapeIn(l.Server, addr, "/metrics"); err == nil && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never answered; stderr: %s", tw.err.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for range 3 {
		request(t, l, "198.18.0.2:8080")
	}
	for range 2 {
		c, err := dial(t, l, "198.18.0.2:8081")
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("hello\n"))
	}
	dial(t, l, "198.18.0.2:9") // refused

	// The counts settle once every packet was read and a snapshot taken:
	// wait for six connections and two that are established, as the
	// kernel holds them.
	var body string
	for deadline = time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, b, err := scrapeIn(l.Server, addr, "/metrics")
		g := gauges(b)
		total := uint64(0)
		for _, n := range g["client"] {
			total += n
		}
		if err == nil && total == 6 && g["server"][tracker.Established] == 2 && g["client"][tracker.TimeWait] == 3 {
			body = b
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gauges never settled at 6 connections: %v (%v)", g, err)
		}
	}
	time.Sleep(300 * time.Millisecond) // three more snapshots: nothing may change any more
	_, body, err = scrapeIn(l.Server, addr, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if code, _, err := scrapeIn(l.Server, addr, "/"); err != nil || code != 404 {
		t.Errorf("GET /: %d %v, want 404", code, err)
	}
	cancel()
	tw.wait(t)
	if tw.code != exitOK {
		t.Fatalf("exit %d: %s", tw.code, tw.err.String())
	}

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	var rep report.Report
	if err := json.Unmarshal([]byte(tw.out.String()), &rep); err != nil {
		t.Fatalf("final report: %v", err)
	}
	g := gauges(body)
	for side, want := range map[string]map[tracker.State]uint64{"client": rep.Summary.States.Client, "server": rep.Summary.States.Server} {
		if fmt.Sprint(g[side]) != fmt.Sprint(want) {
			t.Errorf("%s gauges %v, the final report counts %v", side, g[side], want)
		}
	}
	var payload uint64
	for _, c := range rep.Connections {
		payload += c.PayloadBytes.Client + c.PayloadBytes.Server
	}
	if got, want := grep(body, "tcpwatch_tcp_payload_bytes_total "), fmt.Sprintf("tcpwatch_tcp_payload_bytes_total %d", payload); got != want || payload == 0 {
		t.Errorf("%q, want %q (the report's payload bytes)", got, want)
	}
	if got, want := grep(body, "tcpwatch_tcp_packets_total "), fmt.Sprintf("tcpwatch_tcp_packets_total %d", rep.Input.TCPPackets); got != want {
		t.Errorf("%q, want %q (the report's TCP packets)", got, want)
	}
}

func grep(body, prefix string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// TestMetricsErrors: --metrics where it cannot serve is one line, exit 2.
func TestMetricsErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"file input", []string{"-r", sample, "--metrics", "9713"}, "--metrics serves a live capture's counts: give -i IFACE"},
		{"bad address", []string{"-i", "lo", "--metrics", "nine"}, `--metrics "nine": want [HOST:]PORT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != exitError || out != "" {
				t.Errorf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			if !strings.Contains(errOut, tc.stderr) || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q, want one line containing %q", errOut, tc.stderr)
			}
		})
	}
}
