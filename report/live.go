package report

import (
	"cmp"
	"io"
	"slices"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// LiveView is the table format's live view: every --interval, the
// connections by state, the open connections that matter most, the recent
// transitions and anomalies, packets per second and kernel drops. On a
// terminal each frame replaces the previous one, like top; elsewhere (a
// file, a pipe) frames are appended, each under a timestamped header.
//
// Each frame is drawn from a [Snapshot], the part of the report's model the
// view shows, built from the tracker at each redraw (Render). Transition is
// the tracker's hook (tracker.Config.OnTransition) that records the recent
// transitions. LiveView is not safe for concurrent use.
type LiveView struct {
	w        io.Writer
	terminal bool
	iface    string
	recent   []ConnTransition // newest last, at most MaxRecent
	frames   int
}

// Sizes of the live view's lists.
const (
	MaxRecent   = 8  // transitions and anomalies shown
	MaxOpenRows = 15 // open connections listed
)

// ANSI escapes: cursor home, clear screen.
const clearScreen = "\x1b[H\x1b[2J"

// NewLiveView returns a live view for the capture on iface, drawn on w;
// terminal says whether w is a terminal (redraw in place) or not (append).
func NewLiveView(w io.Writer, iface string, terminal bool) *LiveView {
	return &LiveView{w: w, iface: iface, terminal: terminal}
}

// Transition records a state change (tracker.Config.OnTransition).
func (v *LiveView) Transition(c *tracker.Conn, tr tracker.Transition) {
	if len(v.recent) == MaxRecent {
		copy(v.recent, v.recent[1:])
		v.recent = v.recent[:MaxRecent-1]
	}
	v.recent = append(v.recent, ConnTransitionOf(c, tr))
}

// Snapshot is one frame of the live view in the report's model: only what
// the frame shows, so that building one per redraw stays cheap.
type Snapshot struct {
	Iface string
	Stats LiveStats
	// Summary counts every connection seen by state (as the report's
	// summary does) and every finding by kind.
	Summary Summary
	Open    int // connections open (not ended)
	// Rows are the open connections that matter most, at most MaxOpenRows
	// of them (ID, addresses, states, first and last packet, anomalies):
	// those with an anomaly first, then those not ESTABLISHED on both
	// sides, most recently active first within each group.
	Rows      []Connection
	Recent    []ConnTransition // the latest transitions, oldest first
	Anomalies []Anomaly        // the latest findings, oldest first
}

// Snapshot builds the frame to draw from the tracker's state and the
// capture's progress.
func (v *LiveView) Snapshot(s LiveStats, tr *tracker.Tracker) *Snapshot {
	conns := tr.Conns()
	snap := &Snapshot{Iface: v.iface, Stats: s, Summary: summarize(tr, conns), Recent: slices.Clone(v.recent)}
	var top []ranked
	for _, c := range conns {
		if c.Ended() {
			continue
		}
		snap.Open++
		top = insertRanked(top, ranked{c, rank(c)}, MaxOpenRows)
	}
	snap.Rows = make([]Connection, len(top))
	for i, r := range top {
		snap.Rows[i] = row(r.c)
	}
	as := tr.Anomalies()
	for _, a := range as[max(0, len(as)-MaxRecent):] {
		snap.Anomalies = append(snap.Anomalies, AnomalyOf(a))
	}
	return snap
}

// ranked is an open connection with its rank in the live view: 0 with an
// anomaly, 1 not ESTABLISHED on both sides, 2 otherwise.
type ranked struct {
	c    *tracker.Conn
	rank int
}

func rank(c *tracker.Conn) int {
	switch {
	case len(c.Kinds()) > 0:
		return 0
	case c.State(tracker.Client) != tracker.Established || c.State(tracker.Server) != tracker.Established:
		return 1
	}
	return 2
}

// insertRanked inserts r into top, kept in order of rank, then most recent
// last packet, then insertion, and at most n long: a stable sort of all the
// open connections, cut to its first n, without sorting them all.
func insertRanked(top []ranked, r ranked, n int) []ranked {
	if len(top) == n && rankCmp(top[n-1], r) <= 0 {
		return top // the usual case once full: not among the first n
	}
	i, _ := slices.BinarySearchFunc(top, r, func(a, b ranked) int {
		if c := rankCmp(a, b); c != 0 {
			return c
		}
		return -1 // after the equal ones already there
	})
	if len(top) == n {
		top = top[:n-1]
	}
	return slices.Insert(top, i, r)
}

// rankCmp orders by rank, then most recent last packet first.
func rankCmp(a, b ranked) int {
	return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(b.c.Last, a.c.Last))
}

// Render draws one frame from the tracker's state and the capture's
// progress.
func (v *LiveView) Render(s LiveStats, tr *tracker.Tracker) error {
	return v.Draw(v.Snapshot(s, tr))
}

// Draw draws one frame.
func (v *LiveView) Draw(snap *Snapshot) error {
	p := &printer{w: v.w}
	if v.terminal {
		p.printf("%s", clearScreen)
	} else if v.frames > 0 {
		p.printf("\n")
	}
	v.frames++
	s := &snap.Stats
	p.printf("--- %s  interface %s: %s packets (%s/s), %s TCP; dropped: %s by the kernel, %s by the interface\n",
		time.Unix(0, int64(s.Time)).UTC().Format("2006-01-02 15:04:05"), snap.Iface, count(s.Packets),
		count(uint64(s.PacketsPerS+0.5)), count(s.TCPPackets), count(s.Dropped.Kernel), count(s.Dropped.Interface))
	p.printf("\nConnections: %s seen, %s open\n", count(uint64(snap.Summary.Connections)), count(uint64(snap.Open)))
	p.stateTable(&snap.Summary.States)
	p.openRows(snap)
	p.recentTransitions(snap.Recent)
	p.latestAnomalies(snap.Anomalies, snap.Summary.AnomalyTotal())
	return p.err
}
