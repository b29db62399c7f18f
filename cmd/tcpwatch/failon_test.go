package main

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestFailOnMatched: --fail-on against the summary's counts, which include
// the findings past the listing cap.
func TestFailOnMatched(t *testing.T) {
	rep := func(counts map[tracker.Kind]int) *report.Report {
		return &report.Report{Summary: report.Summary{Anomalies: counts}}
	}
	info := rep(map[tracker.Kind]int{tracker.ConnectionRefused: 2})
	warn := rep(map[tracker.Kind]int{tracker.Reset: 1, tracker.HalfOpen: 10001})
	crit := rep(map[tracker.Kind]int{tracker.SynFlood: 1})
	none := rep(map[tracker.Kind]int{})
	lost := rep(map[tracker.Kind]int{tracker.HalfOpen: 1}) // its half_open also a reset
	lost.Summary.Also = map[tracker.Kind]int{tracker.Reset: 1}
	for _, tc := range []struct {
		list string
		rep  *report.Report
		want bool
	}{
		{"", crit, false},
		{"any", none, false},
		{"any", info, true},
		{"warning", info, false},
		{"warning", warn, true},
		{"warning", crit, true},
		{"critical", warn, false},
		{"critical", crit, true},
		{"critical,connection_refused", info, true},
		{" half_open , syn_flood", warn, true},
		{"reset", info, false},
		{"info", info, true},
		{"info", none, false},
		{"reset", lost, true}, // a kind in a finding's also list matches
		{"half_open", lost, true},
		{"close_wait_stuck", lost, false},
		{"zero_window", rep(map[tracker.Kind]int{tracker.ZeroWindow: 0}), false},
	} {
		f, err := parseFailOn(tc.list)
		if err != nil {
			t.Fatalf("parseFailOn(%q): %v", tc.list, err)
		}
		if got := f.matched(tc.rep); got != tc.want {
			t.Errorf("--fail-on %q on %v: matched %v, want %v", tc.list, tc.rep.Summary.Anomalies, got, tc.want)
		}
	}
}

func TestFailOnParseError(t *testing.T) {
	_, err := parseFailOn("warning,nope")
	const want = `--fail-on "warning,nope": "nope" is not an anomaly kind, info, warning, critical or any (kinds: syn_flood, half_open, close_wait_stuck, fin_wait_2_stuck, unacked_fin, syn_timeout, connection_refused, reset, port_reuse, zero_window, invalid_flags, bad_sequence, time_wait_buildup, ack_flood, rst_flood, fin_flood, synack_backscatter)`
	if err == nil || err.Error() != want {
		t.Errorf("parseFailOn: %v\nwant %s", err, want)
	}
}

// TestFailOnSaysWhatMatched: the reason lists the matching kinds with
// their counts (grouped by thousands, as everywhere), in the kinds' order,
// and leaves out those not asked for.
func TestFailOnSaysWhatMatched(t *testing.T) {
	rep := &report.Report{Summary: report.Summary{Anomalies: map[tracker.Kind]int{
		tracker.Reset: 4, tracker.HalfOpen: 2, tracker.CloseWaitStuck: 13741}}}
	for list, want := range map[string]string{
		"warning":         "2 half_open, 13,741 close_wait_stuck",
		"any":             "2 half_open, 13,741 close_wait_stuck, 4 reset",
		"reset,syn_flood": "4 reset",
		"critical":        "",
	} {
		f, err := parseFailOn(list)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.reason(rep); got != want {
			t.Errorf("--fail-on %s: %q, want %q", list, got, want)
		}
	}
}
