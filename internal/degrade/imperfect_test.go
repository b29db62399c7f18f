package degrade

import (
	"cmp"
	"flag"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
)

var (
	onlyRow = flag.String("degrade.only", "", "run only the rows whose key is this or whose label starts with it (clean, loss1, loss5, 5%, c2s, late, ...)")
	onlyRec = flag.String("degrade.rec", "", "run only this recording (e.g. bulk or anomalies/bulk)")
	showWhy = flag.Bool("degrade.why", false, "log every kernel row tcpwatch gets wrong, with the degraded copy's flags (best with -degrade.rec)")
)

// captureRow is one row of the imperfect-capture table: a degradation, the
// fraction of sides tcpwatch gets right on it today (floor: the test fails
// below it) and the fraction it should eventually get right (goal). Raise
// a floor whenever the tracker improves.
type captureRow struct {
	key, label  string
	plans       []Plan
	mean        bool    // the mean of the recordings' fractions, not all sides together
	floor, goal float64 // percent
}

// seeds returns 20 copies of a random degradation, seeded 1 to 20.
func seeds(p Plan) []Plan {
	out := make([]Plan, 20)
	for i := range out {
		out[i] = p
		out[i].Seed = uint64(i + 1)
	}
	return out
}

// captureRows is the table. Every floor is its goal but the one-sided
// ones (see there): the test fails when tcpwatch falls below a floor (go test -run TestImperfectCapture -v
// ./internal/degrade prints the table); floors are checked only when every
// row and recording runs (no -degrade.only, no -degrade.rec).
var captureRows = []captureRow{
	{"clean", "clean", []Plan{{}}, false, 100, 100},
	{"loss1", "1% packets lost", seeds(Plan{Loss: 0.01}), false, 99, 99},
	{"loss5", "5% lost", seeds(Plan{Loss: 0.05}), false, 97, 97},
	{"loss5mean", "5% lost, mean per recording", seeds(Plan{Loss: 0.05}), true, 95, 95},
	{"loss10", "10% lost", seeds(Plan{Loss: 0.10}), false, 93, 93},
	// One direction: the goal is met on the first 39 recordings (95% and
	// 93%), not on the multi-connection ones, whose aborts by the unseen side
	// and CLOSE_WAIT sides still sending leave no trace in the seen
	// direction; the floors are what is measured. The 22 recordings of the
	// fresh sets took client→server from 88.8% to 87.6%, the 5 of ICMP
	// errors to 87.4%: most of them end with an RST or an ICMP error only
	// the unseen server sent. The seventh fresh set (FINs on data) took it
	// from 87.5% to 86.8%: a FIN on the unseen server's last data reads as
	// data.
	{"c2s", "client→server only", []Plan{{Only: ClientToServer}}, false, 86.5, 90},
	{"s2c", "server→client only", []Plan{{Only: ServerToClient}}, false, 83, 90},
	{"late", "first 1–3 packets missing", []Plan{{Late: 1}, {Late: 2}, {Late: 3}}, false, 99, 99},
	// Later starts leave only the connections longer than the start (the
	// rows of those shorter are not scored): mostly ends of bulk transfers
	// and closes whose first FIN came before the capture.
	{"latemid", "first 5, 10 or 20 packets missing", []Plan{{Late: 5}, {Late: 10}, {Late: 20}}, false, 92, 92},
	{"swap5", "5% adjacent pairs swapped", seeds(Plan{Swap: 0.05}), false, 99.5, 99.5},
}

// unscored recordings are run through every degradation (nothing may
// crash) but not scored.
var unscored = map[string]string{
	"anomalies/syn-flood":            "a flood's embryonic connections are summarized in its finding, not listed",
	"anomalies/syn-flood-cookies":    "a flood's embryonic connections are summarized in its finding, not listed",
	"anomalies/syn-flood-no-cookies": "a flood's embryonic connections are summarized in its finding, not listed",
	"anomalies/time-wait-buildup":    "2000 connections alike would outweigh every other recording",
	"linger-timeout":                 "the client's FIN waits behind data in a zero window: nothing on the wire shows its close",
	"zero-window-fin":                "the client's FIN waits behind data in a zero window: nothing on the wire shows its close",
	"keepalive-timeout-silent":       "the client's RST is dropped after the capture point: the wire shows it reaching the server",
	"defer-accept-no-data":           "the server drops the handshake's bare ACK (TCP_DEFER_ACCEPT) and the capture ends before it shows it",
	"firewall-reject-midstream":      "a firewall, not the server's socket, sends the RST: the wire shows the server resetting",
	"both-bulk-then-close":           "the client's FIN waits behind its data while the server's arrives: the wire shows a close that answered the server's",
}

// recording is one kernel-verified capture with the kernel's states.
type recording struct {
	name, pcap string
	rows       []Row
}

// recordingDirs are the recordings TestImperfectCapture scores, and
// holdoutDirs those kept apart: the original scenarios recorded again over
// a delayed path from the other end, on which no rule was designed
// (TestImperfectCaptureHoldout).
var (
	recordingDirs = []string{"../../testdata/pcaps", "../../testdata/pcaps/anomalies"}
	holdoutDirs   = []string{"../../testdata/holdout"}
)

func recordings(t *testing.T, dirs ...string) []recording {
	t.Helper()
	var recs []recording
	for _, dir := range dirs {
		states, err := filepath.Glob(filepath.Join(dir, "*.states"))
		if err != nil {
			t.Fatal(err)
		}
		for _, sf := range states {
			base := strings.TrimSuffix(sf, ".states")
			name := filepath.Base(base)
			if strings.HasSuffix(dir, "anomalies") {
				name = "anomalies/" + name
			}
			if *onlyRec != "" && *onlyRec != name && *onlyRec != filepath.Base(name) {
				continue
			}
			rows, err := ReadStates(sf)
			if err != nil {
				t.Fatal(err)
			}
			recs = append(recs, recording{name, CaptureOf(base), rows})
		}
	}
	if len(recs) == 0 {
		t.Fatalf("no recordings (-degrade.rec=%q)", *onlyRec)
	}
	return recs
}

// cell is one tracker's result on one degraded copy of one recording.
type cell struct {
	tcpwatch, flags Score
	crash           string   // the panic, if a tracker crashed
	wrong           []string // with -degrade.why: the rows tcpwatch got wrong
}

func selectedRows() []captureRow {
	var rows []captureRow
	for _, r := range captureRows {
		if *onlyRow == "" || r.key == *onlyRow || strings.HasPrefix(r.label, *onlyRow) {
			rows = append(rows, r)
		}
	}
	return rows
}

// TestImperfectCapture scores tcpwatch and the flags-only baseline on
// degraded copies of every kernel recording; with -v it prints the table
// and the recordings each degradation gets most wrong. It fails if
// tcpwatch crashes, or falls below a row's floor.
func TestImperfectCapture(t *testing.T) { scoreImperfect(t, recordingDirs, false) }

// TestImperfectCaptureHoldout scores the holdout recordings the same way;
// there every floor is its goal, one direction included. Tune no rule on
// them: they tell whether the rules carry over to captures they were not
// made on.
func TestImperfectCaptureHoldout(t *testing.T) { scoreImperfect(t, holdoutDirs, true) }

func scoreImperfect(t *testing.T, dirs []string, goals bool) {
	start := time.Now()
	rows := selectedRows()
	if len(rows) == 0 {
		t.Fatalf("-degrade.only=%q matches no row", *onlyRow)
	}
	var plans []Plan
	for _, r := range rows {
		for _, p := range r.plans {
			if !slices.Contains(plans, p) {
				plans = append(plans, p)
			}
		}
	}
	recs := recordings(t, dirs...)
	cells := runAll(t, recs, plans)
	t.Logf("%d recordings × %d degraded copies, scored in %v on %d CPUs",
		len(recs), len(plans), time.Since(start).Round(time.Millisecond), runtime.GOMAXPROCS(0))

	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %-10s %-12s %-7s %s\n", "capture", "tcpwatch", "flags-only", "floor", "goal")
	for _, r := range rows {
		tw, fl := r.aggregate(recs, cells)
		floor := r.floor
		if goals {
			floor = r.goal
		}
		fmt.Fprintf(&b, "%-32s %-10s %-12s %-7s %s\n", r.label, pct(tw), pct(fl), pct(floor/100), pct(r.goal/100))
		if 100*tw < floor && *onlyRow == "" && *onlyRec == "" {
			t.Errorf("%s: tcpwatch got %s of sides right, below the floor of %s", r.label, pct(tw), pct(floor/100))
		}
	}
	t.Log(b.String())
	t.Log(worst(rows, recs, cells))
}

// runAll runs every plan over every recording, the recordings spread over
// one goroutine per CPU. cells[i][p] is recording i's cell for plan p.
func runAll(t *testing.T, recs []recording, plans []Plan) []map[Plan]cell {
	cells := make([]map[Plan]cell, len(recs))
	errs := make([]error, len(recs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cells[i], errs[i] = runRecording(recs[i], plans)
			}
		}()
	}
	for i := range recs {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", recs[i].name, err)
		}
		for _, p := range plans {
			c := cells[i][p]
			if c.crash != "" {
				t.Errorf("%s, degraded with %q: %s", recs[i].name, p.Flags(), c.crash)
			}
			for _, w := range c.wrong {
				t.Logf("%s, degrade %s: %s", recs[i].name, p.Flags(), w)
			}
		}
	}
	return cells
}

// runRecording runs every plan over one recording.
func runRecording(rec recording, plans []Plan) (map[Plan]cell, error) {
	pkts, err := Load(rec.pcap)
	if err != nil {
		return nil, err
	}
	roles := RolesOf(rec.rows)
	out := make(map[Plan]cell, len(plans))
	for _, p := range plans {
		deg := p.Apply(pkts, roles)
		rows := rec.rows
		if p.Late > 0 {
			rows = keptRows(rows, deg)
		}
		var c cell
		var vs []Verdict
		vs, c.crash = matchSafely(rows, deg, Tcpwatch)
		c.tcpwatch = ScoreOf(vs)
		_, skip := unscored[rec.name]
		if *showWhy && !skip {
			c.wrong = wrongRows(rows, vs)
		}
		if c.crash == "" {
			vs, crash := matchSafely(rows, deg, FlagsOnly)
			c.flags = ScoreOf(vs)
			if crash != "" {
				c.crash = "flags-only baseline: " + crash
			}
		}
		if skip {
			c.tcpwatch, c.flags = Score{}, Score{}
		}
		out[p] = c
	}
	return out, nil
}

// keptRows returns the rows of which a packet is left in pkts: a late
// start drops every packet of a connection shorter than it, and a
// connection the capture never saw has no state to infer.
func keptRows(rows []Row, pkts []capture.Packet) []Row {
	seen := make(map[[2]netip.AddrPort]bool)
	for i := range pkts {
		if s := &pkts[i].Seg; pkts[i].Kind == capture.TCP {
			seen[pairOf(s.SrcAddrPort(), s.DstAddrPort())] = true
		}
	}
	var out []Row
	for _, r := range rows {
		if seen[pairOf(r.Client, r.Server)] {
			out = append(out, r)
		}
	}
	return out
}

// matchSafely runs a tracker and matches its connections with the rows,
// turning a panic into a message.
func matchSafely(rows []Row, pkts []capture.Packet, track func([]capture.Packet) []Result) (vs []Verdict, crash string) {
	defer func() {
		if e := recover(); e != nil {
			crash = fmt.Sprintf("panic: %v", e)
		}
	}()
	return Match(rows, track(pkts)), ""
}

// wrongRows describes the rows whose verdict is not all right.
func wrongRows(rows []Row, vs []Verdict) []string {
	var out []string
	for i, v := range vs {
		if v.Right == 2 {
			continue
		}
		r := rows[i]
		said := fmt.Sprintf("%v/%v", v.Said[0], v.Said[1])
		if !v.Found {
			said = "nothing (CLOSED/CLOSED)"
		}
		out = append(out, fmt.Sprintf("row %d %v → %v: kernel %v/%v, tcpwatch %s", i+1, r.Client, r.Server, r.State[0], r.State[1], said))
	}
	return out
}

// recScore is a row's score on one recording, all its plans together, and
// the plan tcpwatch did worst on.
func (r captureRow) recScore(c map[Plan]cell) (tw, fl Score, worst Plan, worstScore Score) {
	for i, p := range r.plans {
		tw.Add(c[p].tcpwatch)
		fl.Add(c[p].flags)
		if i == 0 || c[p].tcpwatch.Fraction() < worstScore.Fraction() {
			worst, worstScore = p, c[p].tcpwatch
		}
	}
	return tw, fl, worst, worstScore
}

// aggregate returns the fraction of sides tcpwatch and the baseline got
// right on the row, over all recordings (or their mean for a mean row).
func (r captureRow) aggregate(recs []recording, cells []map[Plan]cell) (tw, fl float64) {
	var all [2]Score
	var sum [2]float64
	n := 0
	for i := range recs {
		a, b, _, _ := r.recScore(cells[i])
		if a.Total == 0 {
			continue
		}
		all[0].Add(a)
		all[1].Add(b)
		sum[0] += a.Fraction()
		sum[1] += b.Fraction()
		n++
	}
	if r.mean && n > 0 {
		return sum[0] / float64(n), sum[1] / float64(n)
	}
	return all[0].Fraction(), all[1].Fraction()
}

// worst lists, for each row, the recordings tcpwatch gets most wrong, with
// the command that writes the copy it did worst on; then the ten worst
// (recording, degradation) cells overall.
func worst(rows []captureRow, recs []recording, cells []map[Plan]cell) string {
	type bad struct {
		rec, row string
		pcap     string
		tw       Score
		plan     Plan
		planTW   Score
	}
	var b strings.Builder
	var all []bad
	for _, r := range rows {
		if r.mean {
			continue // the same copies as the row it averages
		}
		var list []bad
		for i, rec := range recs {
			tw, _, p, ps := r.recScore(cells[i])
			if tw.Total > 0 && tw.Right < tw.Total {
				list = append(list, bad{rec.name, r.label, strings.TrimPrefix(rec.pcap, "../../"), tw, p, ps})
			}
		}
		slices.SortStableFunc(list, func(x, y bad) int { return worse(x.tw, y.tw) })
		all = append(all, list...)
		fmt.Fprintf(&b, "\n%s: %d recordings not all right", r.label, len(list))
		for _, x := range list[:min(len(list), 5)] {
			fmt.Fprintf(&b, "\n  %-28s %5d/%-5d worst copy %d/%d: degrade -r %s -w x.pcap %s",
				x.rec, x.tw.Right, x.tw.Total, x.planTW.Right, x.planTW.Total, x.pcap, x.plan.Flags())
		}
	}
	slices.SortStableFunc(all, func(x, y bad) int { return worse(x.tw, y.tw) })
	b.WriteString("\n\nworst cells (recording, degradation):")
	for _, x := range all[:min(len(all), 10)] {
		fmt.Fprintf(&b, "\n  %-28s %-28s %6s (%d/%d)", x.rec, x.row, pct(x.tw.Fraction()), x.tw.Right, x.tw.Total)
	}
	return b.String()
}

// worse orders scores worst first: the smaller fraction right, then the
// more sides wrong.
func worse(a, b Score) int {
	if c := cmp.Compare(a.Fraction(), b.Fraction()); c != 0 {
		return c
	}
	return cmp.Compare(b.Total-b.Right, a.Total-a.Right)
}

// pct prints a fraction as a percentage with one decimal, rounded down, so
// that a score printed as the floor is not below it.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", math.Floor(1000*f+1e-9)/10) }
