package main

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"testing"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestSummaryAlsoCountsTheAlsoLists: summary.also (what --fail-on matches
// as "(also)") is the count of the listed findings naming each kind in
// their also lists, and no side has a finding of the FIN_WAIT_2 it was
// shown never to be in, beside the unacked_fin of the FIN it sent again;
// on every recording, with a --stuck short enough to make them.
func TestSummaryAlsoCountsTheAlsoLists(t *testing.T) {
	names, _ := filepath.Glob("../../testdata/pcaps/*.pcap")
	if len(names) < 40 {
		t.Fatalf("%d recordings", len(names))
	}
	for _, name := range names {
		_, out, _ := runCLI("-r", name, "--stuck", "100ms", "-F", "json")
		var rep report.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.Summary.AnomalyTotal() > len(rep.Anomalies) {
			continue // (not all listed: the counts cover more)
		}
		also := map[tracker.Kind]int{}
		type sideOf struct {
			conn uint64
			side report.OptionalSide
		}
		kinds := map[sideOf]map[tracker.Kind]bool{}
		for _, a := range rep.Anomalies {
			for _, k := range a.Also {
				also[k]++
			}
			s := sideOf{a.Connection, a.Side}
			if kinds[s] == nil {
				kinds[s] = map[tracker.Kind]bool{}
			}
			kinds[s][a.Kind] = true
		}
		if !maps.Equal(also, rep.Summary.Also) && (len(also) > 0 || len(rep.Summary.Also) > 0) {
			t.Errorf("%s: summary.also %v, the also lists %v", filepath.Base(name), rep.Summary.Also, also)
		}
		for s, ks := range kinds {
			if ks[tracker.FinWait2Stuck] && ks[tracker.UnackedFin] {
				t.Errorf("%s: connection %d %v has fin_wait_2_stuck and unacked_fin", filepath.Base(name), s.conn, s.side)
			}
		}
	}
}

// TestFloodFiguresHoldTogether: a flood finding's sources (an estimate)
// are never more than its segments, and its rate over its seconds never
// makes more segments than it counted.
func TestFloodFiguresHoldTogether(t *testing.T) {
	names, _ := filepath.Glob("../../testdata/pcaps/anomalies/*-flood*.pcap.gz")
	if len(names) < 4 {
		t.Fatalf("%d flood recordings", len(names))
	}
	for _, name := range names {
		_, out, _ := runCLI("-r", name, "-F", "json")
		var rep report.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, a := range rep.Anomalies {
			n, ok := a.Fields["segments"].(float64)
			if !ok {
				n, ok = a.Fields["syns"].(float64)
			}
			src, _ := a.Fields["sources"].(float64)
			rate, _ := a.Fields["rate"].(float64)
			secs, _ := a.Fields["seconds"].(float64)
			if !ok {
				continue
			}
			if src > n || rate*secs > n+0.5 {
				t.Errorf("%s: %v: %v sources, rate %v over %vs, for %v segments: %s", filepath.Base(name), a.Kind, src, rate, secs, n, a.Detail)
			}
		}
	}
}

// TestFailOnLineNamesEachKindOnce: the line --fail-on writes names each
// kind once, in the kinds table's order, "(also)" for a kind matched only
// within other findings and "(+N also)" for one found on its own too.
func TestFailOnLineNamesEachKindOnce(t *testing.T) {
	code, _, errs := runCLI("-r", "../../testdata/pcaps/end-states.pcap", "--stuck", "1s", "--fail-on", "any")
	want := "tcpwatch: --fail-on any matched: 1 half_open (+1 also), 3 close_wait_stuck, 2 fin_wait_2_stuck (also), 8 unacked_fin, 1 syn_timeout, 1 connection_refused, 2 reset\n"
	if code != exitMatched || errs != want {
		t.Errorf("exit %d, stderr\n%q\nwant exit 1 and\n%q", code, errs, want)
	}
}
