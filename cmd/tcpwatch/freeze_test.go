package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/html"
	"github.com/tcpwatch/tcpwatch/report/ladder"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// reportJSON analyzes files with cfg and returns the report as -v -F json
// prints it.
func reportJSON(t *testing.T, files []string, cfg tracker.Config) (out []byte, frozen int) {
	t.Helper()
	tr := tracker.New(cfg)
	feedFile(t, tr, files...)
	tr.Finish()
	var b bytes.Buffer
	rep := report.Build(report.Input{Files: files}, tr, report.Options{Verbose: true})
	if err := report.Print(&b, rep, report.JSON, report.PrintOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), tr.Frozen()
}

// TestFrozenReportEqualsWhole checks that a report whose ended connections
// were frozen as soon as they ended (MaxFull 1) is byte for byte the report
// that kept them whole: on every recording, and on generated captures with
// floods, refusals, resets, retransmissions and TIME_WAITs that run out
// within the capture (a short MSL) or not.
func TestFrozenReportEqualsWhole(t *testing.T) {
	var files []string
	for _, pat := range []string{"../../testdata/pcaps/*.pcap", "../../testdata/pcaps/anomalies/*.pcap", "../../testdata/holdout/*.pcap"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 50 {
		t.Fatalf("only %d recordings found", len(files))
	}
	mix := synth.Config{Seed: 7, Conns: 3000, Concurrency: 300, Flood: 2000,
		FloodTarget: netip.MustParseAddrPort("198.18.0.9:80"), Interval: 200 * time.Microsecond,
		Mix: synth.Mix{IPv6: 0.1, Aborted: 0.05, Refused: 0.05, Retransmit: 0.05, MaxRounds: 3, Midstream: 0.3}}
	files = append(files, synthCapture(t, mix))
	total, frozenTWEnds := 0, 0
	for _, f := range files {
		for _, msl := range []time.Duration{0, 20 * time.Millisecond} {
			var wholeEvents, frozenEvents transitionLog
			whole, _ := reportJSON(t, []string{f}, wholeEvents.config(tracker.Config{MSL: msl, MaxFull: 1 << 30}))
			frozen, n := reportJSON(t, []string{f}, frozenEvents.config(tracker.Config{MSL: msl, MaxFull: 1, FrozenTransitions: true}))
			total += n
			frozenTWEnds += frozenEvents.frozen
			if !bytes.Equal(whole, frozen) {
				t.Errorf("%s (MSL %v): the report with frozen connections differs from the whole one:\n%s",
					filepath.Base(f), msl, firstDiff(whole, frozen))
			}
			// Without the frozen timers (no one told), as json and the
			// table run: the report is the same too.
			if quiet, _ := reportJSON(t, []string{f}, tracker.Config{MSL: msl, MaxFull: 1, FrozenTransitions: true}); !bytes.Equal(whole, quiet) {
				t.Errorf("%s (MSL %v): the report with frozen connections and no frozen timers differs from the whole one:\n%s",
					filepath.Base(f), msl, firstDiff(whole, quiet))
			}
			if i, ok := wholeEvents.sameAs(&frozenEvents); !ok {
				t.Errorf("%s (MSL %v): the transitions told with frozen connections differ from the whole ones' from the %dth on:\nwhole:  %v\nfrozen: %v",
					filepath.Base(f), msl, i, wholeEvents.at(i), frozenEvents.at(i))
			}
		}
	}
	if frozenTWEnds < 1000 {
		t.Errorf("only %d TIME_WAITs of frozen connections ended: the comparison of transitions proves little", frozenTWEnds)
	}
	// With the store's cap binding, frozen connections are forgotten as
	// whole ones are: the same findings and the same counts by state.
	for _, keep := range []int{300, 1500} {
		syn := files[len(files)-1]
		whole, _ := reportJSON(t, []string{syn}, tracker.Config{MaxKept: keep, MaxFull: 1 << 30})
		frozen, _ := reportJSON(t, []string{syn}, tracker.Config{MaxKept: keep, MaxFull: 1, FrozenTransitions: true})
		if !bytes.Equal(whole, frozen) {
			t.Errorf("--keep %d: the report with frozen connections differs from the whole one:\n%s", keep, firstDiff(whole, frozen))
		}
	}
	if total < 1000 {
		t.Errorf("only %d connections were frozen: the comparison proves little", total)
	}
}

// transitionLog records the transitions a tracker tells (OnTransition,
// OnFrozenTransition), in the order it tells them.
type transitionLog struct {
	trs    []report.ConnTransition
	frozen int // told of frozen connections
}

func (l *transitionLog) config(cfg tracker.Config) tracker.Config {
	cfg.OnTransition = func(c *tracker.Conn, tr tracker.Transition) { l.trs = append(l.trs, report.ConnTransitionOf(c, tr)) }
	cfg.OnFrozenTransition = func(r *tracker.Record, tr tracker.Transition) {
		l.trs = append(l.trs, report.FrozenTransitionOf(r, tr))
		l.frozen++
	}
	return cfg
}

// sameAs reports whether two logs tell the same transitions in the same
// order, but for those of the same time, which may come in any order (two
// TIME_WAITs that end at once); if not, the index of the first run of
// transitions of one time that differs.
func (l *transitionLog) sameAs(o *transitionLog) (int, bool) {
	key := func(t report.ConnTransition) string { return fmt.Sprint(t) }
	for i := 0; i < len(l.trs) || i < len(o.trs); {
		if i >= len(l.trs) || i >= len(o.trs) {
			return i, false
		}
		j := i + 1
		for j < len(l.trs) && j < len(o.trs) && l.trs[j].Time == l.trs[i].Time {
			j++
		}
		a, b := make([]string, 0, j-i), make([]string, 0, j-i)
		for k := i; k < j; k++ {
			a, b = append(a, key(l.trs[k])), append(b, key(o.trs[k]))
		}
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			return i, false
		}
		i = j
	}
	return 0, true
}

func (l *transitionLog) at(i int) any {
	if i < len(l.trs) {
		return l.trs[i]
	}
	return "(none)"
}

// firstDiff shows the lines around the first difference of a and b.
func firstDiff(a, b []byte) string {
	al, bl := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			lo := max(0, i-3)
			return "whole:\n" + string(bytes.Join(al[lo:min(len(al), i+3)], []byte("\n"))) +
				"\nfrozen:\n" + string(bytes.Join(bl[lo:min(len(bl), i+3)], []byte("\n")))
		}
	}
	return "(one is a prefix of the other)"
}

// eachPacket reads files as the command does (no filter) and calls fn
// with each packet, i counting from 0; p is reused from one call to the
// next. A read error fails the test.
func eachPacket(t testing.TB, fn func(i int, p *capture.Packet), files ...string) {
	t.Helper()
	rd, err := capture.OpenFiles(files, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var p capture.Packet
	for i := 0; ; i++ {
		if err := rd.Next(&p); err == io.EOF {
			return
		} else if err != nil {
			t.Fatal(err)
		}
		fn(i, &p)
	}
}

// feedFile feeds every packet of files to tr.
func feedFile(t *testing.T, tr *tracker.Tracker, files ...string) {
	t.Helper()
	eachPacket(t, func(_ int, p *capture.Packet) { feed(tr, p) }, files...)
}

// TestStreamedReportPrintsTheSame checks that a report whose connections
// are made as they are printed (BuildStreamed), from a tracker released
// after (as tcpwatch does), prints in every format exactly what the report
// that holds them all prints.
func TestStreamedReportPrintsTheSame(t *testing.T) {
	files, err := filepath.Glob("../../testdata/pcaps/anomalies/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings: %v", err)
	}
	files = append(files, "../../testdata/pcaps/close-client-first-over-vxlan.pcap", "../../testdata/pcaps/many-short.pcap",
		synthCapture(t, synth.Config{Seed: 5, Conns: 2500, Concurrency: 200, Flood: 600, Interval: 300 * time.Microsecond,
			Mix: synth.Mix{IPv6: 0.2, Aborted: 0.05, Refused: 0.05, Retransmit: 0.05, MaxRounds: 2, Midstream: 0.3}}))
	formats := []report.Format{report.Table, report.JSON, report.NDJSON, report.CSV, report.Zeek}
	for _, f := range files {
		for _, verbose := range []bool{false, true} {
			opts := report.Options{Verbose: verbose}
			whole := make([][]byte, len(formats))
			for i, format := range formats {
				whole[i] = printed(t, report.Build(report.Input{}, analyzed(t, f), opts), format)
			}
			for i, format := range formats {
				tr := analyzed(t, f)
				rep := report.BuildStreamed(report.Input{}, tr, opts)
				tr.Release()
				if got := printed(t, rep, format); !bytes.Equal(got, whole[i]) {
					t.Errorf("%s, format %d, verbose %v: the streamed report prints differently:\n%s",
						filepath.Base(f), format, verbose, firstDiff(whole[i], got))
				}
			}
		}
	}
}

func analyzed(t *testing.T, name string) *tracker.Tracker {
	t.Helper()
	tr := tracker.New(tracker.Config{MaxFull: 10, FrozenTransitions: true})
	feedFile(t, tr, name)
	tr.Finish()
	return tr
}

func printed(t *testing.T, rep *report.Report, f report.Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := report.Print(&b, rep, f, report.PrintOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestFrozenConnectionsTakeLittleMemory checks that the store of ended
// connections, frozen beyond MaxFull, holds them in a fraction of the
// memory it takes to keep them whole: the live heap after Finish, with
// 20,000 connections that ended (and a SYN flood, whose shed connections
// are in neither), measured both ways in one run.
func TestFrozenConnectionsTakeLittleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("analyzes a 20,000-connection capture twice")
	}
	name := synthCapture(t, synth.Config{Seed: 3, Conns: 20_000, Concurrency: 500, Flood: 5_000,
		FloodTarget: netip.MustParseAddrPort("198.18.0.9:80"), Interval: 200 * time.Microsecond,
		Mix: synth.Mix{Aborted: 0.05, Refused: 0.03, MaxRounds: 2}})
	live := func(cfg tracker.Config) (uint64, int) {
		base := heapBytes()
		tr := tracker.New(cfg)
		feedFile(t, tr, name)
		tr.Finish()
		n := heapBytes() - min(base, heapBytes())
		frozen := tr.Frozen()
		runtime.KeepAlive(tr)
		return n, frozen
	}
	whole, _ := live(tracker.Config{MaxFull: 1 << 30})
	frozen, n := live(tracker.Config{MaxFull: 1024})
	t.Logf("live heap: %d KB whole, %d KB with %d frozen", whole>>10, frozen>>10, n)
	if n < 15_000 {
		t.Fatalf("only %d connections frozen", n)
	}
	// A whole connection is a 1,280-byte object and its transitions past
	// four; a frozen one about 250 bytes.
	if saved := (int64(whole) - int64(frozen)) / int64(n); saved < 900 {
		t.Errorf("a frozen connection takes %d bytes less than a whole one (live heap %d KB whole, %d KB with %d frozen); want at least 900",
			saved, whole>>10, frozen>>10, n)
	}
}

// TestPicturesOfFrozenConnectionsEqualWhole checks that the ladders and the
// state charts drawn from Records frozen as soon as they ended (MaxFull 1,
// their transitions kept, as for --ladder and --html) are those drawn from
// connections kept whole.
func TestPicturesOfFrozenConnectionsEqualWhole(t *testing.T) {
	files, err := filepath.Glob("../../testdata/pcaps/anomalies/*.pcap")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings: %v", err)
	}
	files = append(files, "../../testdata/pcaps/many-short.pcap",
		synthCapture(t, synth.Config{Seed: 11, Conns: 1500, Concurrency: 150, Flood: 300, Interval: 200 * time.Microsecond,
			Mix: synth.Mix{IPv6: 0.1, Aborted: 0.05, Refused: 0.05, Retransmit: 0.05, MaxRounds: 3, Midstream: 0.2}}))
	frozen := 0
	for _, f := range files {
		for _, msl := range []time.Duration{0, 20 * time.Millisecond} {
			whole, _ := pictures(t, f, tracker.Config{MSL: msl, MaxFull: 1 << 30, FrozenTransitions: true})
			got, n := pictures(t, f, tracker.Config{MSL: msl, MaxFull: 1, FrozenTransitions: true})
			frozen += n
			if !bytes.Equal(whole, got) {
				t.Errorf("%s (MSL %v): the pictures of frozen connections differ from the whole ones':\n%s",
					filepath.Base(f), msl, firstDiff(whole, got))
			}
		}
	}
	if frozen < 1000 {
		t.Errorf("only %d connections were frozen: the comparison proves little", frozen)
	}
}

// pictures draws every connection of a capture as --ladder does, from a
// second reading, and the state chart as --html does, as text; and says
// how many connections were frozen.
func pictures(t *testing.T, name string, cfg tracker.Config) ([]byte, int) {
	t.Helper()
	tr := tracker.New(cfg)
	feedFile(t, tr, name)
	tr.Finish()
	records := tr.Records()
	rec := ladder.NewRecorder(cfg, records)
	eachPacket(t, func(_ int, p *capture.Packet) {
		if p.Kind == capture.TCP && rec.Wants(&p.Seg) {
			rec.Observe(&p.Seg)
		}
	}, name)
	var b bytes.Buffer
	for _, l := range rec.Ladders(tr.Anomalies()) {
		if err := ladder.Text(&b, l, ladder.TextOptions{Width: 120}); err != nil {
			t.Fatal(err)
		}
	}
	var first, last int64
	if len(records) > 0 {
		first, last = records[0].First, records[0].Last
		for _, r := range records {
			last = max(last, r.Last)
		}
	}
	fmt.Fprintf(&b, "%v\n", html.States(records, nil, html.Span{Start: first, End: last + int64(time.Second)}).Count)
	return b.Bytes(), tr.Frozen()
}

// TestEveryOutputFreezes: whatever the output, ended connections are
// frozen beyond the default cap on whole ones, so memory stays bounded;
// the pictures keep the transitions of frozen ones to draw them.
func TestEveryOutputFreezes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		trs  bool
	}{
		{[]string{"-r", "x.pcap"}, false},
		{[]string{"-r", "x.pcap", "-v"}, true},
		{[]string{"-r", "x.pcap", "-F", "ndjson"}, false},
		{[]string{"-r", "x.pcap", "--ladder"}, true},
		{[]string{"-r", "x.pcap", "--html", "x.html"}, true},
	} {
		c, err := parseArgs(tc.args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		got := trackerConfig(c)
		if got.MaxFull != 0 {
			t.Errorf("%v: MaxFull %d, want the default", tc.args, got.MaxFull)
		}
		if got.FrozenTransitions != tc.trs {
			t.Errorf("%v: FrozenTransitions %v, want %v", tc.args, got.FrozenTransitions, tc.trs)
		}
	}
}

// TestForgettingChangesNeitherStatesNorTransitions: connections forgotten
// beyond --keep are still counted in the summary in the state they end in
// (a TIME_WAIT that ran out as CLOSED), and their TIME_WAITs' ends are
// told when they happen, as when nothing is forgotten.
func TestForgettingChangesNeitherStatesNorTransitions(t *testing.T) {
	name := synthCapture(t, synth.Config{Seed: 13, Conns: 3000, Concurrency: 300, Interval: 200 * time.Microsecond,
		Mix: synth.Mix{IPv6: 0.1, Aborted: 0.05, Refused: 0.05, Retransmit: 0.05, MaxRounds: 3, Midstream: 0.2}})
	for _, msl := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond} {
		var base transitionLog
		whole := summaryOf(t, name, base.config(tracker.Config{MSL: msl}))
		for _, keep := range []int{30, 300} {
			var got transitionLog
			sum := summaryOf(t, name, got.config(tracker.Config{MSL: msl, MaxKept: keep, MaxFull: keep / 3}))
			if sum.Forgotten < 1000 {
				t.Fatalf("MSL %v, --keep %d: only %d connections forgotten", msl, keep, sum.Forgotten)
			}
			if !maps.Equal(sum.States.Client, whole.States.Client) || !maps.Equal(sum.States.Server, whole.States.Server) {
				t.Errorf("MSL %v, --keep %d: states %v, want %v as with nothing forgotten", msl, keep, sum.States, whole.States)
			}
			if i, ok := base.sameAs(&got); !ok {
				t.Errorf("MSL %v, --keep %d: the transitions told differ from the %dth on:\nall kept:  %v\nforgotten: %v",
					msl, keep, i, base.at(i), got.at(i))
			}
		}
	}
}

// keptSummary is what TestForgettingChangesNeitherStatesNorTransitions
// compares: the counts by state, and how many were forgotten.
type keptSummary struct {
	States    report.StateCounts
	Forgotten uint64
}

func summaryOf(t *testing.T, name string, cfg tracker.Config) keptSummary {
	t.Helper()
	tr := tracker.New(cfg)
	feedFile(t, tr, name)
	tr.Finish()
	rep := report.Build(report.Input{Files: []string{name}}, tr, report.Options{})
	return keptSummary{rep.Summary.States, tr.Evicted().Forgotten}
}
