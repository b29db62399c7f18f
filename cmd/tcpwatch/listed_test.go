package main

import (
	"net/netip"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestListedFindingsAreTheEarliest checks that with more findings than
// MaxAnomalies, those listed are the earliest in the report's order,
// whatever order the detectors made them in (refused handshakes are judged
// when their connection is forgotten, or at the end of input).
func TestListedFindingsAreTheEarliest(t *testing.T) {
	name := synthCapture(t, synth.Config{Seed: 11, Conns: 3000, Concurrency: 300, Flood: 1500,
		FloodTarget: netip.MustParseAddrPort("198.18.0.9:80"), Interval: 200 * time.Microsecond,
		Mix: synth.Mix{Aborted: 0.05, Refused: 0.08, MaxRounds: 2}})
	all := findingsOf(t, name, tracker.Config{MaxKept: 700})
	if len(all) < 300 {
		t.Fatalf("only %d findings: too few to cap", len(all))
	}
	for _, max := range []int{10, 100, 250} {
		got := findingsOf(t, name, tracker.Config{MaxKept: 700, Thresholds: tracker.Thresholds{MaxAnomalies: max}})
		if len(got) != max {
			t.Fatalf("MaxAnomalies %d: %d listed", max, len(got))
		}
		listed := map[findingKey]bool{}
		for _, a := range got {
			listed[keyOf(a)] = true
		}
		last := got[len(got)-1]
		for _, a := range all {
			if a.Time > last.Time {
				break
			}
			if a.Time < last.Time && !listed[keyOf(a)] {
				t.Errorf("MaxAnomalies %d: %s of connection %d at %v is not listed, though %s at %v is",
					max, a.Kind, a.Connection, a.Time, last.Kind, last.Time)
			}
		}
	}
}

type findingKey struct {
	kind tracker.Kind
	conn uint64
	at   report.Time
}

func keyOf(a report.Anomaly) findingKey { return findingKey{a.Kind, a.Connection, a.Time} }

// findingsOf returns the findings listed in the report of name.
func findingsOf(t *testing.T, name string, cfg tracker.Config) []report.Anomaly {
	t.Helper()
	tr := tracker.New(cfg)
	feedFile(t, tr, name)
	tr.Finish()
	return report.Build(report.Input{}, tr, report.Options{}).Anomalies
}
