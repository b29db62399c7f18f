package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// LiveView is the table format's live view: every --interval, the
// connections by state, the open connections that matter most, the recent
// transitions and anomalies, packets per second and kernel drops. On a
// terminal it draws in the terminal's alternate screen, like top: each
// frame overwrites the previous one in place (no clear-screen, so nothing
// piles up in a multiplexer's scrollback), cut to the window's size
// (SetSize): lines are truncated rather than wrapped, and a frame taller
// than the window ends with a line saying how many it left out. Close
// leaves the alternate screen. Elsewhere (a file, a pipe) frames are
// appended, each under a timestamped header.
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

	width, height int  // the terminal's size; 0: unknown (not cut)
	inAlt         bool // in the alternate screen
}

// Sizes of the live view's lists.
const (
	MaxRecent   = 8  // transitions and anomalies shown
	MaxOpenRows = 15 // open connections listed
)

// Terminal escapes (ECMA-48 and xterm's private modes).
const (
	enterAlt   = "\x1b[?1049h\x1b[?25l" // alternate screen, cursor hidden
	leaveAlt   = "\x1b[?25h\x1b[?1049l" // cursor shown, normal screen
	cursorHome = "\x1b[H"
	clearLine  = "\x1b[K" // to the end of the line
	clearBelow = "\x1b[J" // to the end of the screen
)

// NewLiveView returns a live view for the capture on iface, drawn on w;
// terminal says whether w is a terminal (redraw in place) or not (append).
func NewLiveView(w io.Writer, iface string, terminal bool) *LiveView {
	return &LiveView{w: w, iface: iface, terminal: terminal}
}

// Transition records a state change (tracker.Config.OnTransition).
func (v *LiveView) Transition(c *tracker.Conn, tr tracker.Transition) {
	v.add(ConnTransitionOf(c, tr))
}

// Hook sets cfg's callbacks to record the transitions of a tracker made
// with it.
func (v *LiveView) Hook(cfg *tracker.Config) {
	cfg.OnTransition, cfg.OnFrozenTransition = v.Transition, v.FrozenTransition
}

// FrozenTransition records a transition of a frozen connection (its
// TIME_WAIT ending). It has the signature of
// tracker.Config.OnFrozenTransition.
func (v *LiveView) FrozenTransition(r *tracker.Record, tr tracker.Transition) {
	v.add(FrozenTransitionOf(r, tr))
}

// add keeps a transition among the recent ones, the oldest dropped.
func (v *LiveView) add(t ConnTransition) {
	if len(v.recent) == MaxRecent {
		copy(v.recent, v.recent[1:])
		v.recent = v.recent[:MaxRecent-1]
	}
	v.recent = append(v.recent, t)
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
	snap := &Snapshot{Iface: v.iface, Stats: s, Summary: summarize(tr, connStates(tr, conns)), Recent: slices.Clone(v.recent)}
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
		rec := r.c.Record()
		snap.Rows[i] = row(&rec)
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
	return insertTop(top, r, n, func(a, b ranked) int {
		return cmp.Or(rankCmp(a, b), -1) // after the equal ones already there
	})
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

// SetSize sets the terminal's size in columns and rows, for the frames
// drawn from now on; 0 leaves that dimension uncut.
func (v *LiveView) SetSize(width, height int) { v.width, v.height = max(width, 0), max(height, 0) }

// Close leaves the alternate screen, if a frame entered it, so that what
// follows (the final report) goes to the normal screen.
func (v *LiveView) Close() error {
	if !v.inAlt {
		return nil
	}
	v.inAlt = false
	_, err := io.WriteString(v.w, leaveAlt)
	return err
}

// Draw draws one frame.
func (v *LiveView) Draw(snap *Snapshot) error {
	if !v.terminal {
		p := &printer{w: v.w}
		if v.frames > 0 {
			p.printf("\n")
		}
		v.frames++
		drawFrame(p, snap)
		return p.err
	}
	var b strings.Builder
	p := &printer{w: &b}
	drawFrame(p, snap)
	if p.err != nil {
		return p.err
	}
	v.frames++
	_, err := io.WriteString(v.w, v.screen(b.String()))
	return err
}

// screen turns a frame into what redraws it in place: into the alternate
// screen the first time, from the top left, each line cut to the width and
// cleared to its end, no more lines than the height, the rest of the
// screen cleared. It never writes a line break after the last row, which
// would scroll.
func (v *LiveView) screen(frame string) string {
	lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
	if v.height > 0 && len(lines) > v.height {
		left := len(lines) - (v.height - 1)
		lines = append(lines[:v.height-1], fmt.Sprintf("… %s more lines: a taller window shows them", count(uint64(left))))
	}
	var b strings.Builder
	if !v.inAlt {
		b.WriteString(enterAlt)
		v.inAlt = true
	}
	b.WriteString(cursorHome)
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(truncate(l, v.width))
		b.WriteString(clearLine)
	}
	b.WriteString(clearBelow)
	return b.String()
}

// width measures text as terminals display it, East Asian ambiguous
// characters (the tables' box drawing) as one column, whatever the locale.
var width = &runewidth.Condition{EastAsianWidth: false}

// truncate cuts s to at most w display columns, ending it with "…" when it
// cut; w 0 leaves it whole.
func truncate(s string, w int) string {
	if w <= 0 || width.StringWidth(s) <= w {
		return s
	}
	return width.Truncate(s, w, "…")
}

// drawFrame prints one frame's content.
func drawFrame(p *printer, snap *Snapshot) {
	s := &snap.Stats
	p.printf("--- %s  interface %s: %s packets (%s/s), %s TCP; dropped: %s by the kernel, %s by the interface\n",
		time.Unix(0, int64(s.Time)).UTC().Format("2006-01-02 15:04:05"), snap.Iface, count(s.Packets),
		count(uint64(s.PacketsPerS+0.5)), count(s.TCPPackets), count(s.Dropped.Kernel), count(s.Dropped.Interface))
	p.printf("\nConnections: %s seen, %s open\n", count(uint64(snap.Summary.Connections)), count(uint64(snap.Open)))
	p.stateTable(&snap.Summary.States)
	// Findings before the open connections and the recent transitions: a
	// window too short for the whole frame still shows them.
	p.latestAnomalies(snap.Anomalies, snap.Summary.AnomalyTotal())
	p.openRows(snap)
	p.recentTransitions(snap.Recent)
}
