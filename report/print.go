package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Format is an output format.
type Format uint8

const (
	Table  Format = iota // tables for people (default)
	JSON                 // one JSON document at the end
	NDJSON               // one JSON event per line as it happens
)

// ParseFormat parses a --format value.
func ParseFormat(s string) (Format, error) {
	switch s {
	case "table", "":
		return Table, nil
	case "json":
		return JSON, nil
	case "ndjson":
		return NDJSON, nil
	}
	return 0, fmt.Errorf("unknown format %q (want table, json or ndjson)", s)
}

// PrintOptions control the table printer.
type PrintOptions struct {
	// All lists every connection. Otherwise a capture with more than
	// MaxRows connections lists only those that did not close cleanly, at
	// most MaxRows of them, and says how many were left out.
	All     bool
	MaxRows int
}

// DefaultMaxRows is how many connections the table lists by default.
const DefaultMaxRows = 50

// Print writes the report in the given format. It is the only place that
// switches on the format.
func Print(w io.Writer, r *Report, f Format, opts PrintOptions) error {
	switch f {
	case JSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case NDJSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Event  string  `json:"event"`
			Report *Report `json:"report"`
		}{"report", r})
	}
	return printTables(w, r, opts)
}

func printTables(w io.Writer, r *Report, opts PrintOptions) error {
	p := &printer{w: w}
	p.input(&r.Input)
	p.connections(r, opts)
	p.tunnels(r)
	p.states(r)
	p.anomalies(r)
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}

func (p *printer) table(header []string, rows [][]string, align []tw.Align) {
	p.tableWrapped(header, rows, align, 0)
}

// tableWrapped prints a table whose cells wrap at words past maxWidth
// characters (0: never).
func (p *printer) tableWrapped(header []string, rows [][]string, align []tw.Align, maxWidth int) {
	if p.err != nil {
		return
	}
	wrap := tw.WrapNone
	if maxWidth > 0 {
		wrap = tw.WrapNormal
	}
	t := tablewriter.NewTable(p.w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(wrap),
		tablewriter.WithRowMaxWidth(maxWidth),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignLeft, PerColumn: align}),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		p.err = err
		return
	}
	p.err = t.Render()
}

func (p *printer) input(in *Input) {
	var b strings.Builder
	switch {
	case in.Interface != "":
		fmt.Fprintf(&b, "interface %s", in.Interface)
	case len(in.Files) == 1:
		fmt.Fprintf(&b, "%s", in.Files[0])
	default:
		fmt.Fprintf(&b, "%d files", len(in.Files))
	}
	fmt.Fprintf(&b, ": %s packets, %s TCP", count(in.Packets), count(in.TCPPackets))
	var skipped []string
	for _, k := range Skips() {
		if n := in.Skipped[k]; n > 0 {
			skipped = append(skipped, fmt.Sprintf("%s %s", count(n), strings.ReplaceAll(k.String(), "_", " ")))
		}
	}
	if len(skipped) > 0 {
		fmt.Fprintf(&b, " (skipped: %s)", strings.Join(skipped, ", "))
	}
	if in.FirstPacket != 0 {
		first := time.Unix(0, int64(in.FirstPacket)).UTC()
		last := time.Unix(0, int64(in.LastPacket)).UTC()
		fmt.Fprintf(&b, ", %s → %s UTC (%s)", first.Format("2006-01-02 15:04:05.000000"),
			last.Format("15:04:05.000000"), duration(last.Sub(first)))
		if in.CaptureEnd != 0 {
			end := time.Unix(0, int64(in.CaptureEnd)).UTC()
			fmt.Fprintf(&b, ", capture stopped %s later", duration(end.Sub(last)))
		}
	}
	if ev := in.Evicted.Embryonic + in.Evicted.Established; ev > 0 {
		fmt.Fprintf(&b, ", evicted from the full flow table: %s (%s never completed their handshake)", count(ev), count(in.Evicted.Embryonic))
	}
	if n := in.Evicted.Forgotten; n > 0 {
		fmt.Fprintf(&b, ", %s connections that ended long before not kept (--keep)", count(n))
	}
	if n := in.Evicted.SynFlood; n > 0 {
		fmt.Fprintf(&b, ", %s half-open connections of SYN floods summarized in their syn_flood finding", count(n))
	}
	if in.Dropped.Kernel > 0 || in.Dropped.Interface > 0 {
		fmt.Fprintf(&b, ", dropped: %s by the kernel, %s by the interface", count(in.Dropped.Kernel), count(in.Dropped.Interface))
	}
	p.printf("%s\n", b.String())
	if in.Error != "" {
		p.printf("input ended early: %s\n", in.Error)
	}
	if in.Interrupted {
		p.printf("interrupted by a signal: the report covers what was read before it\n")
	}
	p.captureLoss(in.CaptureLoss)
}

// captureLoss warns that the capture missed packets: the states account
// for what the evidence shows was sent, and the timeline marks those steps.
func (p *printer) captureLoss(l *CaptureLoss) {
	if l == nil {
		return
	}
	if l.NotCaptured > 0 || l.MissedBytes > 0 {
		p.printf("warning: the capture missed packets: %s not captured (about %.1f%%), %s bytes of data;"+
			" states account for them (inferred steps are marked in -v)\n",
			plural(l.NotCaptured, "TCP segment"), 100*l.Estimate, count(l.MissedBytes))
	}
	if l.OneSided > 0 {
		p.printf("note: %s captured in one direction only (> client's segments, < server's):"+
			" the other side's state is inferred from them\n", plural(l.OneSided, "connection"))
	}
}

// shown picks the connections the table lists.
func shown(r *Report, opts PrintOptions) (rows []int, notClean, left int) {
	max := opts.MaxRows
	if max <= 0 {
		max = DefaultMaxRows
	}
	if opts.All || len(r.Connections) <= max {
		for i := range r.Connections {
			rows = append(rows, i)
		}
		return rows, 0, 0
	}
	for i := range r.Connections {
		c := &r.Connections[i]
		if cleanlyClosed(c) {
			continue
		}
		notClean++
		if len(rows) < max {
			rows = append(rows, i)
		}
	}
	return rows, notClean, len(r.Connections) - len(rows)
}

// cleanlyClosed: both sides closed (TIME_WAIT at most) after a FIN
// exchange, with no anomaly.
func cleanlyClosed(c *Connection) bool {
	done := func(s tracker.State) bool { return s == tracker.Closed || s == tracker.TimeWait }
	return done(c.ClientState) && done(c.ServerState) && c.ConnState == ConnSF && len(c.Anomalies) == 0
}

func (p *printer) connections(r *Report, opts PrintOptions) {
	if len(r.Connections) == 0 {
		if ev := r.Input.Evicted; ev.Embryonic+ev.SynFlood+ev.Forgotten > 0 {
			p.printf("\nNo connections left to list: the input summary above counts those left out.\n")
		} else {
			p.printf("\nNo TCP connections.\n")
		}
		return
	}
	idx, notClean, left := shown(r, opts)
	if left > 0 {
		p.printf("\nConnections: %s; listing %s of the %s that did not close cleanly (--all lists every one)\n",
			count(uint64(len(r.Connections))), count(uint64(len(idx))), count(uint64(notClean)))
	} else {
		p.printf("\nConnections: %s\n", count(uint64(len(r.Connections))))
	}
	if len(idx) == 0 {
		return
	}
	rows := make([][]string, 0, len(idx))
	mid := false
	for _, i := range idx {
		c := &r.Connections[i]
		id := fmt.Sprint(c.ID)
		if c.Midstream {
			id += "*"
			mid = true
		}
		id += oneSidedMark(c)
		rows = append(rows, []string{
			id, c.Client.String(), c.Server.String(), c.ClientState.String(), c.ServerState.String(),
			duration(c.Duration()),
			fmt.Sprintf("%s/%s", count(c.Packets.Client), count(c.Packets.Server)),
			fmt.Sprintf("%s/%s", count(c.PayloadBytes.Client), count(c.PayloadBytes.Server)),
			c.History, kinds(c.Anomalies),
		})
	}
	p.table([]string{"ID", "CLIENT", "SERVER", "CLIENT STATE", "SERVER STATE", "DURATION", "PKTS C/S", "BYTES C/S", "HISTORY", "ANOMALIES"},
		rows, []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft})
	if mid {
		p.printf("* first seen mid-stream: client and server are inferred from the ports\n")
	}
	for _, i := range idx {
		if c := &r.Connections[i]; c.Transitions != nil { // with -v
			p.timeline(c)
		}
	}
}

// oneSidedMark is ">" for a connection of which only the client's
// segments were captured, "<" for only the server's.
func oneSidedMark(c *Connection) string {
	switch {
	case c.Capture != OneSided:
		return ""
	case c.Seen.Side == tracker.Client:
		return ">"
	}
	return "<"
}

func (p *printer) timeline(c *Connection) {
	p.printf("\n#%d %s → %s%s\n", c.ID, c.Client, c.Server, captureNote(c))
	for _, t := range c.TransitionList() {
		at := clock(t.Time)
		pkt := "timer"
		switch {
		case t.Packet > 0:
			pkt = fmt.Sprintf("pkt %d", t.Packet)
		case t.Inferred:
			pkt = "inferred"
		}
		why := t.Why
		if t.Inferred && t.Packet > 0 {
			why += " (inferred)"
		}
		p.printf("  %s  %-9s %-6s %-11s → %-11s %s\n", at, pkt, t.Side, t.From, t.To, why)
	}
}

func (p *printer) states(r *Report) {
	if len(r.Connections) == 0 {
		return
	}
	p.printf("\nStates\n")
	p.stateTable(&r.Summary.States)
}

// stateTable prints the states either side is in, in RFC order, with the
// number of clients and of servers in each; nothing if there are none.
func (p *printer) stateTable(sc *StateCounts) {
	var rows [][]string
	for _, s := range tracker.States() {
		if c, sv := sc.Client[s], sc.Server[s]; c+sv > 0 {
			rows = append(rows, []string{s.String(), count(c), count(sv)})
		}
	}
	if len(rows) > 0 {
		p.table([]string{"STATE", "CLIENTS", "SERVERS"}, rows, []tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight})
	}
}

func (p *printer) anomalies(r *Report) {
	if len(r.Anomalies) == 0 {
		p.printf("\nNo anomalies.\n")
		return
	}
	as := slices.Clone(r.Anomalies)
	slices.SortStableFunc(as, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Time, b.Time))
	})
	rows := make([][]string, 0, len(as))
	for i := range as {
		a := &as[i]
		rows = append(rows, []string{a.Severity.String(), a.Kind.String(), where(a), a.Side.String(), clock(a.Time), a.Detail})
	}
	total := r.Summary.AnomalyTotal()
	if total > len(as) {
		p.printf("\nAnomalies: %s (listing the first %s)\n", count(uint64(total)), count(uint64(len(as))))
	} else {
		p.printf("\nAnomalies: %d\n", total)
	}
	p.tableWrapped([]string{"SEVERITY", "KIND", "WHERE", "SIDE", "SINCE", "DETAIL"}, rows, nil, 72)
}

// openRows lists the live view's open connections that matter most.
func (p *printer) openRows(snap *Snapshot) {
	if len(snap.Rows) == 0 {
		return
	}
	now := int64(snap.Stats.Time)
	rows := make([][]string, 0, len(snap.Rows))
	for i := range snap.Rows {
		c := &snap.Rows[i]
		idle := time.Duration(max(0, now-int64(c.LastPacket)))
		rows = append(rows, []string{fmt.Sprint(c.ID), c.Client.String(), c.Server.String(),
			c.ClientState.String(), c.ServerState.String(), duration(idle), kinds(c.Anomalies)})
	}
	if len(snap.Rows) < snap.Open {
		p.printf("\nOpen connections: the %d that matter most of %s\n", len(snap.Rows), count(uint64(snap.Open)))
	} else {
		p.printf("\nOpen connections\n")
	}
	p.table([]string{"ID", "CLIENT", "SERVER", "CLIENT STATE", "SERVER STATE", "IDLE", "ANOMALIES"}, rows,
		[]tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignLeft})
}

// recentTransitions lists the live view's latest transitions.
func (p *printer) recentTransitions(recent []ConnTransition) {
	if len(recent) == 0 {
		return
	}
	p.printf("\nRecent transitions\n")
	for _, t := range recent {
		p.printf("  %s  #%-5d %-6s %-11s → %-11s %s\n", clock(t.Time), t.Connection, t.Side, t.From, t.To, t.Why)
	}
}

// latestAnomalies lists the live view's latest findings of the total made.
func (p *printer) latestAnomalies(latest []Anomaly, total int) {
	if total == 0 {
		p.printf("\nNo anomalies.\n")
		return
	}
	p.printf("\nAnomalies: %d (latest last)\n", total)
	for i := range latest {
		a := &latest[i]
		p.printf("  %s  %-8s %-18s %-6s %-6s %s\n", clock(a.Time), a.Severity, a.Kind, where(a), a.Side, a.Detail)
	}
}

// where names a finding's connection ("#3") or, for a target-wide one,
// its target.
func where(a *Anomaly) string {
	switch {
	case a.Connection != 0:
		return fmt.Sprintf("#%d", a.Connection)
	case a.Target.IsValid():
		return a.Target.String()
	}
	return ""
}

// clock formats a capture time of day for a table: 15:04:05.000000 UTC.
func clock(t Time) string {
	return time.Unix(0, int64(t)).UTC().Format("15:04:05.000000")
}

// kinds joins anomaly kinds with commas.
func kinds(ks []tracker.Kind) string {
	var b strings.Builder
	for i, k := range ks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.String())
	}
	return b.String()
}

// count formats n with thousands separators.
func count(n uint64) string {
	s := fmt.Sprint(n)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// duration formats d for people: 0.000183 s, 12.3 s, 4m05s.
func duration(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.6f s", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%.3f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%06.3fs", int(d.Minutes()), (d % time.Minute).Seconds())
	}
	return fmt.Sprintf("%dh%02dm%02ds", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// captureNote says what the capture missed of a connection, for its
// timeline's heading.
func captureNote(c *Connection) string {
	var notes []string
	if c.Capture == OneSided {
		notes = append(notes, "captured "+c.Seen.String()+"'s segments only")
	}
	if c.NotCaptured > 0 {
		notes = append(notes, fmt.Sprintf("%d segments not captured", c.NotCaptured))
	}
	if m := c.MissedBytes; m != nil {
		notes = append(notes, fmt.Sprintf("%s/%s bytes missed", count(m.Client), count(m.Server)))
	}
	if len(notes) == 0 {
		return ""
	}
	return " (" + strings.Join(notes, "; ") + ")"
}

// plural counts things: "1 connection", "2 connections".
func plural(n uint64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return count(n) + " " + thing + "s"
}
