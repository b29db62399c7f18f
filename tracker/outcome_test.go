package tracker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// finding is a finding a scenario must make: its kind, the connection (by
// ID, 1 for the first), the side at fault, and the step (1-based) whose
// segment's time the finding gives as the time its condition began.
type finding struct {
	kind Kind
	conn uint64
	side Side
	step int
}

func (f finding) String() string {
	return fmt.Sprintf("{%v #%d %v step %d}", f.kind, f.conn, f.side, f.step)
}

// stepTimes returns the time of each step as run plays it.
func stepTimes(steps []step) []int64 {
	now := int64(1_700_000_000) * int64(time.Second)
	ts := make([]int64, len(steps))
	for i, st := range steps {
		now += st.wait()
		ts[i] = now
	}
	return ts
}

// timed is a finding as the tracker made it: the time instead of the step.
type timed struct {
	kind Kind
	conn uint64
	side Side
	time int64
}

// timedOf returns the findings at the steps' times (ts, as stepTimes
// returns them), in a fixed order.
func timedOf(fs []finding, ts []int64) []timed {
	out := make([]timed, 0, len(fs))
	for _, f := range fs {
		at := int64(-1) // no such step
		if f.step >= 1 && f.step <= len(ts) {
			at = ts[f.step-1]
		}
		out = append(out, timed{f.kind, f.conn, f.side, at})
	}
	sortTimed(out)
	return out
}

// found returns the tracker's findings in the same fixed order.
func found(tr *Tracker) []timed {
	var out []timed
	for _, a := range tr.Anomalies() {
		out = append(out, timed{a.Kind, a.Conn, a.Side, a.Time})
	}
	sortTimed(out)
	return out
}

func sortTimed(fs []timed) {
	slices.SortFunc(fs, func(a, b timed) int {
		return cmp.Or(cmp.Compare(a.conn, b.conn), cmp.Compare(a.kind, b.kind), cmp.Compare(a.side, b.side), cmp.Compare(a.time, b.time))
	})
}

// describe renders findings with the step each one's time is (0: none).
func describe(fs []timed, ts []int64) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, finding{f.kind, f.conn, f.side, slices.Index(ts, f.time) + 1}.String())
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// checkFindings checks that the tracker made exactly the findings want,
// at the times of their steps (ts), each complete (a sentence, a target).
func checkFindings(t *testing.T, tr *Tracker, ts []int64, want []finding) {
	t.Helper()
	if got, w := found(tr), timedOf(want, ts); !slices.Equal(got, w) {
		t.Errorf("findings %s, want %s", describe(got, ts), describe(w, ts))
		for _, a := range tr.Anomalies() {
			t.Logf("  #%d %v %v: %s", a.Conn, a.Kind, a.Side, a.Detail)
		}
	}
	for _, a := range tr.Anomalies() {
		if a.Detail == "" || !a.Target.IsValid() || !a.HasSide {
			t.Errorf("incomplete finding %+v", a)
		}
	}
}

// outcome is what a scenario must end with: the number of connections, the
// last one's states, and every finding.
type outcome struct {
	conns          int
	client, server string
	findings       []finding
}

// expect checks a scenario's outcome.
func expect(t *testing.T, tr *Tracker, steps []step, want outcome) {
	t.Helper()
	cs := tr.Conns()
	c := cs[len(cs)-1]
	if len(cs) != want.conns || c.State(Client).String() != want.client || c.State(Server).String() != want.server {
		t.Errorf("got %d connections, last %v/%v; want %d, %s/%s",
			len(cs), c.State(Client), c.State(Server), want.conns, want.client, want.server)
		dump(t, tr)
	}
	checkFindings(t, tr, stepTimes(steps), want.findings)
}

func dump(t *testing.T, tr *Tracker) {
	t.Helper()
	for _, c := range tr.Conns() {
		t.Logf("conn #%d %v/%v pk %d/%d badseq=%d\n%s", c.ID, c.State(Client), c.State(Server), c.Half(0).Packets(), c.Half(1).Packets(), c.BadSeq, timeline(c))
	}
	for _, a := range tr.Anomalies() {
		t.Logf("  anomaly #%d %v %v: %s", a.Conn, a.Kind, a.Side, a.Detail)
	}
}

// play runs a scenario with --stuck at 10 s, advances the clock by advance
// after its last segment, and finishes the input.
func play(t *testing.T, steps []step, advance time.Duration) *Tracker {
	t.Helper()
	tr := run(t, Config{Thresholds: Thresholds{Stuck: 10 * time.Second}}, steps)
	if advance > 0 {
		tr.Advance(tr.Now() + int64(advance))
	}
	tr.Finish()
	return tr
}

// playExpect plays a scenario (play) and checks its outcome (expect).
func playExpect(t *testing.T, steps []step, advance time.Duration, want outcome) *Tracker {
	t.Helper()
	tr := play(t, steps, advance)
	expect(t, tr, steps, want)
	return tr
}

// closed is a connection closed by the client first, the client left in
// TIME_WAIT.
var closed = with(established,
	step{from: Client, flags: FA, seq: 11, ack: 21},
	step{from: Server, flags: FA, seq: 21, ack: 12},
	step{from: Client, flags: A, seq: 12, ack: 22})
