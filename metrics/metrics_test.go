package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/testenv"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

func TestListenAddrBarePortIsLocalhost(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"9713", "127.0.0.1:9713"}, {":9713", "127.0.0.1:9713"}, {"127.0.0.1:9713", "127.0.0.1:9713"},
		{"0.0.0.0:9713", "0.0.0.0:9713"}, {"[::1]:9713", "[::1]:9713"}, {"localhost:0", "localhost:0"},
		{"x", ""}, {"70000", ""}, {"host:", ""}, {":9713:1", ""}, {"", ""},
	} {
		got, err := ListenAddr(c.in)
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), "want [HOST:]PORT") {
				t.Errorf("ListenAddr(%q) = %q, %v; want an error saying what to give", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func sampleSnapshot(targets int) *Snapshot {
	s := &Snapshot{
		States:   report.StateCounts{Client: map[tracker.State]uint64{tracker.TimeWait: 3, tracker.Established: 2}, Server: map[tracker.State]uint64{tracker.Closed: 3, tracker.Established: 2}},
		Active:   2,
		Findings: map[tracker.Kind]int{tracker.ConnectionRefused: 1},
		Packets:  40, TCPPackets: 38, PayloadBytes: 1234, KernelDrops: 1,
		Evicted: tracker.Evictions{Embryonic: 5},
	}
	for i := range targets {
		s.Flood = append(s.Flood, tracker.FloodTarget{Target: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i)}), 80),
			Unanswered: uint64(i * 10), HalfOpen: 1})
	}
	return s
}

// serve serves e's metrics on a free localhost port until the test ends
// and returns the server's base URL.
func serve(t *testing.T, e *Exporter) string {
	t.Helper()
	s, err := Listen("127.0.0.1:0", e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return "http://" + s.Addr().String()
}

func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServesOnlyMetrics: /metrics has the snapshot's values; every other
// path is 404.
func TestServesOnlyMetrics(t *testing.T) {
	e := &Exporter{}
	e.Publish(sampleSnapshot(25))
	base := serve(t, e)
	code, body := scrape(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`tcpwatch_connections{side="client",state="TIME_WAIT"} 3`,
		`tcpwatch_connections{side="server",state="ESTABLISHED"} 2`,
		`tcpwatch_connections{side="server",state="FIN_WAIT_2"} 0`,
		`tcpwatch_findings_total{kind="connection_refused",severity="info"} 1`,
		`tcpwatch_findings_total{kind="syn_flood",severity="critical"} 0`,
		"tcpwatch_packets_total 40", "tcpwatch_tcp_payload_bytes_total 1234",
		`tcpwatch_dropped_packets_total{where="kernel"} 1`, `tcpwatch_evictions_total{reason="embryonic"} 5`,
		`tcpwatch_syn_unanswered_total{target="198.18.1.24:80"} 240`,
		// the 15 targets beyond the top 10 (0..14, 10 SYNs each times i) summed
		fmt.Sprintf(`tcpwatch_syn_unanswered_total{target="other"} %d`, 10*(14*15/2)),
		`tcpwatch_syn_half_open{target="other"} 15`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := strings.Count(body, "tcpwatch_syn_unanswered_total{"); n != TopTargets+1 {
		t.Errorf("%d target series, want %d (top targets and other)", n, TopTargets+1)
	}
	for _, path := range []string{"/", "/metrics/", "/debug/pprof/", "/favicon.ico"} {
		if code, _ := scrape(t, base+path); code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, code)
		}
	}
}

// TestPromtoolAcceptsMetrics: promtool check metrics finds no problem.
func TestPromtoolAcceptsMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.SkipOrFail(t, "promtool not installed (scripts/setup.sh installs Debian's prometheus)")
		return
	}
	e := &Exporter{}
	e.Publish(sampleSnapshot(12))
	_, body := scrape(t, serve(t, e)+"/metrics")
	promtoolCheck(t, promtool, body)
}

// promtoolCheck runs promtool check metrics on an exposition.
func promtoolCheck(t *testing.T, promtool, body string) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out.String())
	}
}

// TestEmptyExporterServesZeros: before the first snapshot every series
// is there, at zero.
func TestEmptyExporterServesZeros(t *testing.T) {
	_, body := scrape(t, serve(t, &Exporter{})+"/metrics")
	if !strings.Contains(body, `tcpwatch_connections{side="client",state="ESTABLISHED"} 0`) {
		t.Errorf("no zero gauge before the first snapshot:\n%s", body)
	}
}
