package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter/tw"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// LiveView is the table format's live view: every --interval, the
// connections by state, the open connections that matter most, the recent
// transitions and anomalies, packets per second and kernel drops. On a
// terminal each frame replaces the previous one, like top; elsewhere (a
// file, a pipe) frames are appended, each under a timestamped header.
//
// Transition and Anomaly are the tracker's hooks (tracker.Config); they
// only record, Render draws. LiveView is not safe for concurrent use.
type LiveView struct {
	w         io.Writer
	terminal  bool
	iface     string
	recent    []recentTransition // newest last, at most MaxRecent
	anomalies []Anomaly          // newest last, at most MaxRecent
	nAnom     int                // all anomalies fired
	frames    int
}

type recentTransition struct {
	id             uint64
	client, server string
	tr             tracker.Transition
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
	v.recent = append(v.recent, recentTransition{c.ID, c.Client().String(), c.Server().String(), tr})
}

// Anomaly records a finding (tracker.Config.OnAnomaly).
func (v *LiveView) Anomaly(a tracker.Anomaly) {
	v.nAnom++
	if len(v.anomalies) == MaxRecent {
		copy(v.anomalies, v.anomalies[1:])
		v.anomalies = v.anomalies[:MaxRecent-1]
	}
	v.anomalies = append(v.anomalies, AnomalyOf(a))
}

// Render draws one frame from the tracker's connections (in order of first
// packet) and the capture's progress.
func (v *LiveView) Render(s LiveStats, conns []*tracker.Conn) error {
	p := &printer{w: v.w}
	now := time.Unix(0, int64(s.Time)).UTC()
	if v.terminal {
		p.printf("%s", clearScreen)
	} else if v.frames > 0 {
		p.printf("\n")
	}
	v.frames++
	p.printf("--- %s  interface %s: %s packets (%s/s), %s TCP; dropped: %s by the kernel, %s by the interface\n",
		now.Format("2006-01-02 15:04:05"), v.iface, count(s.Packets), count(uint64(s.PacketsPerS+0.5)),
		count(s.TCPPackets), count(s.Dropped.Kernel), count(s.Dropped.Interface))

	var states [2]map[tracker.State]uint64
	states[0], states[1] = map[tracker.State]uint64{}, map[tracker.State]uint64{}
	var open []*tracker.Conn
	for _, c := range conns {
		states[0][c.State(tracker.Client)]++
		states[1][c.State(tracker.Server)]++
		if !c.Ended() {
			open = append(open, c)
		}
	}
	p.printf("\nConnections: %s seen, %s open\n", count(uint64(len(conns))), count(uint64(len(open))))
	var rows [][]string
	for _, st := range tracker.States() {
		if n, m := states[0][st], states[1][st]; n+m > 0 {
			rows = append(rows, []string{st.String(), count(n), count(m)})
		}
	}
	if len(rows) > 0 {
		p.table([]string{"STATE", "CLIENTS", "SERVERS"}, rows, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight})
	}
	v.open(p, open, int64(s.Time))
	v.transitions(p)
	v.anomalyList(p)
	return p.err
}

// open lists the open connections that matter most: those with an anomaly
// first, then those not ESTABLISHED on both sides, most recently active
// first within each group.
func (v *LiveView) open(p *printer, open []*tracker.Conn, now int64) {
	if len(open) == 0 {
		return
	}
	type ranked struct {
		c    *tracker.Conn
		rank int
	}
	rs := make([]ranked, len(open))
	for i, c := range open {
		rs[i] = ranked{c, 2}
		switch {
		case len(c.Kinds()) > 0:
			rs[i].rank = 0
		case c.State(tracker.Client) != tracker.Established || c.State(tracker.Server) != tracker.Established:
			rs[i].rank = 1
		}
	}
	slices.SortStableFunc(rs, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(b.c.Last, a.c.Last))
	})
	shown := rs[:min(len(rs), MaxOpenRows)]
	rows := make([][]string, 0, len(shown))
	for _, r := range shown {
		c := r.c
		var kinds []string
		for _, k := range c.Kinds() {
			kinds = append(kinds, k.String())
		}
		idle := time.Duration(max(0, now-c.Last))
		rows = append(rows, []string{fmt.Sprint(c.ID), c.Client().String(), c.Server().String(),
			c.State(tracker.Client).String(), c.State(tracker.Server).String(), duration(idle), strings.Join(kinds, ",")})
	}
	if len(shown) < len(open) {
		p.printf("\nOpen connections: the %d that matter most of %s\n", len(shown), count(uint64(len(open))))
	} else {
		p.printf("\nOpen connections\n")
	}
	p.table([]string{"ID", "CLIENT", "SERVER", "CLIENT STATE", "SERVER STATE", "IDLE", "ANOMALIES"}, rows,
		[]tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignLeft})
}

func (v *LiveView) transitions(p *printer) {
	if len(v.recent) == 0 {
		return
	}
	p.printf("\nRecent transitions\n")
	for _, r := range v.recent {
		at := time.Unix(0, r.tr.Time).UTC().Format("15:04:05.000000")
		p.printf("  %s  #%-5d %-6s %-11s → %-11s %s\n", at, r.id, r.tr.Side, r.tr.From, r.tr.To, r.tr.Why)
	}
}

func (v *LiveView) anomalyList(p *printer) {
	if v.nAnom == 0 {
		p.printf("\nNo anomalies.\n")
		return
	}
	p.printf("\nAnomalies: %d (latest last)\n", v.nAnom)
	for _, a := range v.anomalies {
		where := a.Target
		if a.Connection != 0 {
			where = fmt.Sprintf("#%d", a.Connection)
		}
		at := time.Unix(0, int64(a.Time)).UTC().Format("15:04:05.000000")
		p.printf("  %s  %-8s %-18s %-6s %-6s %s\n", at, a.Severity, a.Kind, where, a.Side, a.Detail)
	}
}
