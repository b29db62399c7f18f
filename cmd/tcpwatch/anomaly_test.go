package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/degrade"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// anomalyDir holds the anomaly recordings and their expectations
// (testdata/pcaps/anomalies/README.md).
const anomalyDir = "../../testdata/pcaps/anomalies"

// expectation is one NAME.expect file: run tcpwatch on pcap with args, and
// find exactly kinds (when hasKinds), exactly findings findings (when ≥ 0),
// every finding aimed at target (when set), nothing above info (healthy).
type expectation struct {
	name     string
	pcap     string
	args     []string
	kinds    []tracker.Kind
	hasKinds bool
	also     []tracker.Kind // the kinds in the findings' also lists, when hasAlso
	hasAlso  bool
	findings int
	target   netip.AddrPort
	healthy  bool
}

// expectKinds adds the anomaly kinds val names to ks, sorted.
func expectKinds(t *testing.T, path, val string, ks []tracker.Kind) []tracker.Kind {
	t.Helper()
	for _, name := range strings.Fields(val) {
		k, ok := tracker.ParseKind(name)
		if !ok {
			t.Fatalf("%s: %q is not an anomaly kind", path, name)
		}
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func readExpectation(t *testing.T, path string) expectation {
	t.Helper()
	name := strings.TrimSuffix(filepath.Base(path), ".expect")
	e := expectation{name: name, findings: -1}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("%s: %q is not key: value", path, line)
		}
		val = strings.TrimSpace(val)
		switch key {
		case "pcap":
			e.pcap = filepath.Join(filepath.Dir(path), val)
		case "args":
			e.args = strings.Fields(val)
		case "kinds":
			e.hasKinds = true
			e.kinds = expectKinds(t, path, val, e.kinds)
		case "also":
			e.hasAlso = true
			e.also = expectKinds(t, path, val, e.also)
		case "findings":
			if e.findings, err = strconv.Atoi(val); err != nil {
				t.Fatalf("%s: findings: %v", path, err)
			}
		case "target":
			if e.target, err = netip.ParseAddrPort(val); err != nil {
				t.Fatalf("%s: target: %v", path, err)
			}
		case "healthy":
			e.healthy = val == "true"
		default:
			t.Fatalf("%s: unknown key %q", path, key)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if e.pcap == "" {
		for _, ext := range []string{".pcap", ".pcap.gz"} {
			if p := filepath.Join(filepath.Dir(path), name+ext); fileExists(p) {
				e.pcap = p
			}
		}
	}
	if e.pcap == "" || !fileExists(e.pcap) {
		t.Fatalf("%s: no capture (%q)", path, e.pcap)
	}
	if !e.hasKinds && !e.healthy {
		t.Fatalf("%s: says neither kinds: nor healthy: true", path)
	}
	return e
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readExpectations(t *testing.T) []expectation {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(anomalyDir, "*.expect"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no expectations in %s", anomalyDir)
	}
	var es []expectation
	for _, p := range paths {
		es = append(es, readExpectation(t, p))
	}
	return es
}

// TestAnomalyRecordings runs tcpwatch on every recording with an
// expectation and checks the kinds found, or that a healthy capture has no
// finding above info.
func TestAnomalyRecordings(t *testing.T) {
	for _, e := range readExpectations(t) {
		t.Run(e.name, func(t *testing.T) {
			rep := runJSON(t, append([]string{"-r", e.pcap}, e.args...)...)
			var got []tracker.Kind
			for _, a := range rep.Anomalies {
				if !slices.Contains(got, a.Kind) {
					got = append(got, a.Kind)
				}
			}
			slices.Sort(got)
			if e.hasKinds && !slices.Equal(got, e.kinds) {
				t.Errorf("kinds found %v, want %v\n%s", got, e.kinds, findings(rep))
			}
			var also []tracker.Kind
			for _, a := range rep.Anomalies {
				for _, k := range a.Also {
					if !slices.Contains(also, k) {
						also = append(also, k)
					}
				}
			}
			slices.Sort(also)
			if !slices.Equal(also, e.also) {
				t.Errorf("also kinds %v, want %v\n%s", also, e.also, findings(rep))
			}
			if e.findings >= 0 && len(rep.Anomalies) != e.findings {
				t.Errorf("%d findings, want %d\n%s", len(rep.Anomalies), e.findings, findings(rep))
			}
			for _, a := range rep.Anomalies {
				if e.target.IsValid() && a.Target != e.target {
					t.Errorf("%s finding aimed at %v, want %v", a.Kind, a.Target, e.target)
				}
				if a.Kind == tracker.SynFlood && (!a.Target.IsValid() || a.Connection != 0 || a.Side.Valid) {
					t.Errorf("syn_flood finding names target %v, connection %d, side %q: want the target only", a.Target, a.Connection, a.Side)
				}
				if a.Detail == "" {
					t.Errorf("%s finding without a detail", a.Kind)
				}
				if a.Severity != a.Kind.Severity() {
					t.Errorf("%s finding with severity %s", a.Kind, a.Severity)
				}
				if e.healthy && a.Severity != tracker.Info {
					t.Errorf("healthy capture: %s finding (%s): %s", a.Severity, a.Kind, a.Detail)
				}
			}
			if slices.Contains(e.kinds, tracker.SynFlood) {
				// One finding for the target, none per spoofed source.
				for _, c := range rep.Connections {
					if len(c.Anomalies) > 0 {
						t.Errorf("connection %d (%s) carries %v under a SYN flood", c.ID, c.Client, c.Anomalies)
					}
				}
			}
			if n := rep.Summary.AnomalyTotal(); n != len(rep.Anomalies) {
				t.Errorf("summary counts %d findings, the list has %d", n, len(rep.Anomalies))
			}
		})
	}
}

func findings(rep *report.Report) string {
	var b strings.Builder
	for _, a := range rep.Anomalies {
		fmt.Fprintf(&b, "    %s %s conn %d %s: %s\n", a.Severity, a.Kind, a.Connection, a.Side, a.Detail)
	}
	return b.String()
}

// TestAnomalyCatalogueRecorded checks that every kind in SPEC.md's
// catalogue is triggered by at least one recording (as a finding's kind, or
// in its also list), and that the healthy set
// covers request/response, keepalive, bulk and many short connections.
func TestAnomalyCatalogueRecorded(t *testing.T) {
	seen := map[tracker.Kind]bool{}
	healthy := map[string]bool{}
	for _, e := range readExpectations(t) {
		for _, k := range append(e.kinds, e.also...) { // a consequence within a finding counts (also)
			seen[k] = true
		}
		if e.healthy {
			healthy[filepath.Base(e.pcap)] = true
		}
	}
	for _, k := range tracker.Kinds() {
		if !seen[k] {
			t.Errorf("no recording triggers %s", k)
		}
	}
	for _, p := range []string{"request-response.pcap", "keepalive.pcap", "bulk.pcap.gz", "many-short.pcap"} {
		if !healthy[p] {
			t.Errorf("%s is not in the healthy set", p)
		}
	}
}

// TestAnomalyRecordingStates checks tcpwatch's states against the kernel's
// for the anomaly recordings, as TestKernelStates does for testdata/pcaps.
// Under a SYN flood the kernel lists every half-open connection; tcpwatch
// summarizes them in the flood's finding and counts them (checkKernelStates).
func TestAnomalyRecordingStates(t *testing.T) {
	states, err := filepath.Glob(filepath.Join(anomalyDir, "*.states"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sf := range states {
		name := strings.TrimSuffix(filepath.Base(sf), ".states")
		t.Run(name, func(t *testing.T) {
			checkKernelStates(t, sf, degrade.CaptureOf(strings.TrimSuffix(sf, ".states")))
		})
	}
}

// TestFailOnExitCodes is --fail-on's contract (SPEC.md, exit codes) on
// recorded captures.
func TestFailOnExitCodes(t *testing.T) {
	pcaps := map[string]string{
		"stuck":   filepath.Join(anomalyDir, "close-wait-fin-wait-2.pcap"), // warnings, with --stuck 2s
		"refused": "../../testdata/pcaps/refused.pcap",                     // one info finding
		"silence": filepath.Join(anomalyDir, "half-open-silence.pcap"),     // one warning
		"flood":   filepath.Join(anomalyDir, "syn-flood.pcap.gz"),          // one critical
		"bulk":    filepath.Join(anomalyDir, "bulk.pcap.gz"),               // nothing
		"lost":    filepath.Join(anomalyDir, "half-open-peer-lost.pcap"),   // half_open, also reset
	}
	cases := []struct {
		pcap string
		args []string
		want int
	}{
		{"stuck", []string{"--stuck", "2s", "--fail-on", "close_wait_stuck"}, 1},
		{"stuck", []string{"--stuck", "2s", "--fail-on", "syn_flood,fin_wait_2_stuck"}, 1},
		{"stuck", []string{"--stuck", "2s", "--fail-on", "syn_flood,zero_window"}, 0},
		{"stuck", []string{"--fail-on", "close_wait_stuck"}, 0}, // default --stuck 60s: not stuck yet
		{"stuck", []string{"--stuck", "2s", "--fail-on", "warning"}, 1},
		{"stuck", []string{"--stuck", "2s", "--fail-on", "critical"}, 0},
		{"refused", []string{"--fail-on", "connection_refused"}, 1},
		{"refused", []string{"--fail-on", "warning"}, 0}, // only info findings
		{"refused", []string{"--fail-on", "critical"}, 0},
		{"refused", []string{"--fail-on", "any"}, 1},
		{"refused", []string{"--fail-on", "info"}, 1},
		{"refused", nil, 0},
		{"silence", []string{"--fail-on", "half_open"}, 1},
		{"silence", []string{"--fail-on", "warning"}, 1},
		{"silence", []string{"--fail-on", "critical"}, 0},
		{"flood", []string{"--fail-on", "critical"}, 1},
		{"flood", []string{"--fail-on", "close_wait_stuck,syn_flood"}, 1},
		{"flood", []string{"--fail-on", "half_open,syn_timeout"}, 0},             // no per-connection findings
		{"stuck", []string{"--stuck", "2s", "--fail-on", "fin_wait_2_stuck"}, 1}, // within close_wait_stuck (also)
		{"lost", []string{"--fail-on", "reset"}, 1},                              // the abort, within half_open (also)
		{"lost", []string{"--fail-on", " reset , half_open "}, 1},                // said back as reset,half_open
		{"lost", []string{"--fail-on", "half_open"}, 1},
		{"lost", []string{"--fail-on", "close_wait_stuck"}, 0},
		{"bulk", []string{"--fail-on", "any"}, 0},
		{"bulk", []string{"--fail-on", "warning"}, 0},
	}
	for _, c := range cases {
		args := append([]string{"-r", pcaps[c.pcap], "-F", "json"}, c.args...)
		t.Run(c.pcap+" "+strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := run(context.Background(), args, &out, &errb); got != c.want {
				t.Errorf("exit %d, want %d; stderr: %s", got, c.want, errb.String())
			}
			// A match says why, in one line; no match, nothing.
			var list string // the --fail-on list as it is said back
			if len(c.args) > 0 {
				list = strings.ReplaceAll(c.args[len(c.args)-1], " ", "")
			}
			if msg := errb.String(); c.want == 0 && msg != "" || c.want == 1 && (!strings.HasPrefix(msg, "tcpwatch: --fail-on "+list+" matched: ") || strings.Count(msg, "\n") != 1) {
				t.Errorf("stderr: %q", msg)
			}
			if out.Len() == 0 {
				t.Error("no report on stdout")
			}
		})
	}
	for _, bad := range []string{"bogus", "close_wait", "syn_flood,nope", "WARNING"} {
		t.Run("bad "+bad, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := run(context.Background(), []string{"-r", pcaps["refused"], "--fail-on", bad}, &out, &errb); got != 2 {
				t.Errorf("exit %d, want 2", got)
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasSuffix(msg, "\n") || !strings.Contains(msg, "--fail-on") {
				t.Errorf("stderr is not one line naming --fail-on: %q", msg)
			}
		})
	}
}

// TestSynFloodDetailCounts: the flood recording has 1000 spoofed SYNs, none
// answered by a completed handshake; the finding's sentence must count all.
func TestSynFloodDetailCounts(t *testing.T) {
	rep := runJSON(t, "-r", filepath.Join(anomalyDir, "syn-flood.pcap.gz"))
	if len(rep.Anomalies) != 1 || !strings.Contains(rep.Anomalies[0].Detail, "received 1,000 SYNs") {
		t.Errorf("want one finding counting 1000 SYNs: %s", findings(rep))
	}
}
