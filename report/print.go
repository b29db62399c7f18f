package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Format is an output format.
type Format uint8

const (
	Table  Format = iota // tables for people (default)
	JSON                 // one JSON document at the end
	NDJSON               // one JSON event per line as it happens
	CSV                  // one row per connection, with a header row
	Zeek                 // a conn.log in Zeek's TSV format
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
	case "csv":
		return CSV, nil
	case "zeek":
		return Zeek, nil
	}
	return 0, fmt.Errorf("unknown format %q (want table, json, ndjson, csv or zeek)", s)
}

// PrintOptions control the table printer.
type PrintOptions struct {
	// All lists every connection and finding. Otherwise a capture with
	// more than MaxRows connections is rolled up (Rollup).
	All     bool
	MaxRows int

	Quiet bool       // the header, the states and the findings only: no connections
	Times TimeFormat // how times are printed (tcpdump's -t flags)
	// Width is the terminal's width in columns, 0 when the output is no
	// terminal: the findings' sentences are wrapped narrower to fit it,
	// where they can be (fitDetail).
	Width int
}

// DefaultMaxRows is how many connections the table lists by default.
const DefaultMaxRows = 50

// Print writes the report in the given format. It is the only place that
// switches on the format.
func Print(w io.Writer, r *Report, f Format, opts PrintOptions) error {
	switch f {
	case JSON:
		return writeJSON(w, r) // (jsonstream.go)
	case NDJSON:
		return writeNDJSONReport(w, r) // (jsonstream.go)
	case CSV:
		return printCSV(w, r)
	case Zeek:
		return printZeek(w, r)
	}
	return printTables(w, r, opts)
}

func printTables(w io.Writer, r *Report, opts PrintOptions) error {
	p := &printer{w: w, dated: spansDays(&r.Input), times: opts.Times, first: r.Input.FirstPacket, width: opts.Width}
	p.input(&r.Input)
	if rolledUp(r, opts) {
		p.rollup(r, rollupOf(r), opts.Quiet)
		p.tunnels(r)
		return p.err
	}
	if !opts.Quiet {
		p.connections(r)
	} else {
		p.connectionsLine(r)
	}
	p.tunnels(r)
	p.states(r)
	p.anomalies(r)
	return p.err
}

type printer struct {
	w     io.Writer
	err   error
	width int // the terminal's, 0: none (PrintOptions.Width)
	// dated: the capture spans more than one day (UTC), so times of day
	// carry their date.
	dated bool

	times       TimeFormat
	first, prev Time // the first packet's time; the time printed last (DeltaTime)

	row       []byte // a streamed table's row, as asciiRow lays it out
	slowTable bool   // every row of a streamed table through the table library (tests)
}

// spansDays reports whether the input's first and last packets fall on
// different days (UTC).
func spansDays(in *Input) bool {
	if in.FirstPacket == 0 {
		return false
	}
	day := func(t Time) string { return time.Unix(0, int64(t)).UTC().Format(time.DateOnly) }
	return day(in.FirstPacket) != day(max(in.LastPacket, in.CaptureEnd))
}

// dayClock formats a capture time for a table: its time of day, with its
// date when the capture spans days.
func (p *printer) dayClock(t Time) string {
	if p.dated {
		return dateClock(t)
	}
	return clock(t)
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
	case len(in.Files) == 1 && in.Files[0] == "-":
		b.WriteString("standard input") // (as the error messages name it)
	case len(in.Files) == 1:
		fmt.Fprintf(&b, "%s", in.Files[0])
	default:
		fmt.Fprintf(&b, "%s files", count(uint64(len(in.Files))))
	}
	fmt.Fprintf(&b, ": %s, %s TCP", plural(in.Packets, "packet"), count(in.TCPPackets))
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
		endClock := clock
		if p.dated || last.Before(first) {
			endClock = dateClock // the end on another day: its date too
		}
		span := duration(last.Sub(first))
		if last.Before(first) {
			span = "the last packet is older than the first: files out of time order"
			if len(in.Files) <= 1 { // one file, or an interface: its clock stepped back
				span = "the last packet is older than the first: packets out of time order"
			}
		}
		fmt.Fprintf(&b, ", %s → %s UTC (%s)", dateClock(in.FirstPacket), endClock(in.LastPacket), span)
		if in.CaptureEnd != 0 {
			end := time.Unix(0, int64(in.CaptureEnd)).UTC()
			fmt.Fprintf(&b, ", capture stopped %s later", duration(end.Sub(last)))
		}
	}
	if ev := in.Evicted.Embryonic + in.Evicted.Established; ev > 0 {
		fmt.Fprintf(&b, ", evicted from the full flow table: %s (%s never completed their handshake, %s open and idle)",
			count(ev), count(in.Evicted.Embryonic), count(in.Evicted.Established))
	}
	if n := in.Evicted.Readmitted; n > 0 {
		fmt.Fprintf(&b, ", %s connections evicted from the full flow table and brought back by their next segment", count(n))
	}
	if n := in.Evicted.TakenOver; n > 0 {
		fmt.Fprintf(&b, ", %s connections evicted open and forgotten (--keep) followed on, counted once, by the connection their next segment opened mid-stream", count(n))
	}
	if n := in.Evicted.TimeWait; n > 0 {
		fmt.Fprintf(&b, ", %s ended connections no longer followed in TIME_WAIT (its table was full)", count(n))
	}
	if n := in.Evicted.TimeWaitAhead; n > 0 {
		fmt.Fprintf(&b, ", %s TIME_WAITs of forgotten connections taken as over ahead of time (too many to follow)", count(n))
	}
	if n := in.Evicted.Forgotten; n > 0 {
		fmt.Fprintf(&b, ", %s connections that ended earliest not kept (--keep)", count(n))
		if u := in.Evicted.ForgottenUnanswered; u > 0 {
			fmt.Fprintf(&b, " (%s never answered both ways)", count(u))
		}
	}
	if l := in.Lone; l != nil {
		b.WriteString(loneSummary(l))
	}
	if n := in.Evicted.SynFlood; n > 0 {
		fmt.Fprintf(&b, ", %s half-open connections of SYN floods summarized in their syn_flood finding", count(n))
	}
	if in.Dropped.Kernel > 0 || in.Dropped.Interface > 0 {
		fmt.Fprintf(&b, ", dropped: %s by the kernel, %s by the interface", count(in.Dropped.Kernel), count(in.Dropped.Interface))
	}
	p.printf("%s\n", b.String())
	for _, w := range in.Warnings {
		p.printf("warning: %s\n", w)
	}
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
	if l.SplitByTunnel > 0 {
		p.printf("note: %s seen one way in one tunnel and the other way in another (the tunnel's outer endpoints differ"+
			" between the directions): --merge-tunnels makes each pair one connection\n", plural(2*l.SplitByTunnel, "connection"))
	}
}

// cleanlyClosed: both sides closed (TIME_WAIT at most) after a FIN
// exchange, with no anomaly.
func cleanlyClosed(c *Connection) bool {
	return ended(c) && c.ConnState == ConnSF && len(c.Anomalies) == 0
}

func (p *printer) connections(r *Report) {
	if r.NumConnections() == 0 {
		switch ev := r.Input.Evicted; {
		case ev.Embryonic+ev.SynFlood+ev.Forgotten > 0:
			p.printf("\nNo connections left to list: the input line above counts those left out (evicted, summarized by a flood, or forgotten).\n")
		case r.Input.Lone != nil:
			p.printf("\nNo connections: every TCP segment was a lone one, of no connection seen open and never answered (the input line above counts them).\n")
		default:
			p.printf("\nNo TCP connections.\n")
		}
		return
	}
	p.connectionsLine(r)
	verbose := r.source != nil && r.source.verbose || r.source == nil && slices.ContainsFunc(r.Connections, func(c Connection) bool {
		return c.Transitions != nil
	})
	p.connTable(r.each, verbose, 0)
}

// connectionsLine prints how many connections the summary counts, and how
// many of them are listed when some were forgotten beyond --keep (the
// input line counts them, and the others left out: evicted handshakes, a
// flood's half-open connections, which the summary does not count).
func (p *printer) connectionsLine(r *Report) {
	n, all := r.NumConnections(), r.Summary.Connections
	if all > n {
		p.printf("\nConnections: %s, %s listed\n", count(uint64(all)), count(uint64(n)))
		return
	}
	p.printf("\nConnections: %s\n", count(uint64(n)))
}

// connHeader and connAlign are the connection table's columns.
var (
	connHeader = []string{"ID", "CLIENT", "SERVER", "CLIENT STATE", "SERVER STATE", "DURATION", "PKTS C/S", "BYTES C/S", "HISTORY", "ANOMALIES"}
	connAlign  = []tw.Align{tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft}
)

// connTable lists the connections each yields in a table, then (verbose)
// their timelines. It goes through them twice, or three times: the
// widths of the columns first, so that the rows are printed as they come
// and a report of hundreds of thousands of connections, made one at a
// time (BuildStreamed), is never held whole.
//
// With idleEnd (the end of input; 0: not) an open connection without a
// finding says why it is listed in the ANOMALIES column: how long it has
// been idle.
func (p *printer) connTable(each func(func(*Connection) bool), verbose bool, idleEnd Time) {
	widths := make([]int, len(connHeader))
	for i, h := range connHeader {
		widths[i] = twwidth.Width(h)
	}
	mid := false
	row := make([]string, 0, len(connHeader))
	each(func(c *Connection) bool {
		row = connRowIdle(row[:0], c, idleEnd)
		for i, cell := range row {
			widths[i] = max(widths[i], cellWidth(cell))
		}
		mid = mid || c.Midstream
		return true
	})
	p.streamTable(connHeader, connAlign, widths, func(add func([]string) error) {
		each(func(c *Connection) bool { return add(connRowIdle(row[:0], c, idleEnd)) == nil })
	})
	if mid {
		p.printf("* first seen mid-stream: client and server are inferred, from a SYN-ACK if one was seen, else from the ports\n")
	}
	if verbose {
		each(func(c *Connection) bool {
			if c.Transitions != nil {
				p.timeline(c)
			}
			return p.err == nil
		})
	}
}

// connRowIdle is connRow, with an open connection without a finding's idle
// time since its last packet up to idleEnd in its ANOMALIES cell (idleEnd
// not 0).
func connRowIdle(row []string, c *Connection, idleEnd Time) []string {
	row = connRow(row, c)
	if idleEnd != 0 && len(c.Anomalies) == 0 && !ended(c) {
		row[len(row)-1] = "(open, idle " + duration(time.Duration(idleEnd-c.LastPacket)) + ")"
	}
	return row
}

// connRow appends a connection's cells to row.
func connRow(row []string, c *Connection) []string {
	id := fmt.Sprint(c.ID)
	if c.Midstream {
		id += "*"
	}
	id += oneSidedMark(c)
	return append(row, id, c.Client.String(), c.Server.String(), c.ClientState.String(), c.ServerState.String(),
		duration(c.Duration()),
		fmt.Sprintf("%s/%s", count(c.Packets.Client), count(c.Packets.Server)),
		fmt.Sprintf("%s/%s", count(c.PayloadBytes.Client), count(c.PayloadBytes.Server)),
		c.History, kinds(c.Anomalies))
}

// streamTable prints a table whose columns are widths wide (as the
// widest cell of each), a row at a time as rows hands them to add: the
// same bytes table prints for the same rows, none of them held.
func (p *printer) streamTable(header []string, align []tw.Align, widths []int, rows func(add func([]string) error)) {
	if p.err != nil {
		return
	}
	pc := tw.NewMapper[int, int]()
	for i, w := range widths {
		pc.Set(i, w+2) // a space of padding each side
	}
	t := tablewriter.NewTable(p.w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignmentConfig(tw.CellAlignment{Global: tw.AlignLeft, PerColumn: align}),
		tablewriter.WithStreaming(tw.StreamConfig{Enable: true}),
		tablewriter.WithWidths(tw.CellWidth{PerColumn: pc}),
	)
	if p.err = t.Start(); p.err != nil {
		return
	}
	t.Header(header)
	first := true // the library prints the line under the header with it
	rows(func(row []string) error {
		if line, ok := asciiRow(p.row[:0], row, align, widths); ok && !first && !p.slowTable {
			p.row = line
			_, p.err = p.w.Write(line)
		} else {
			p.err = t.Append(row)
		}
		first = false
		return p.err
	})
	if err := t.Close(); p.err == nil {
		p.err = err
	}
}

// asciiRow appends to b a streamed table's row as the table library lays
// it out (one space of padding each side of a cell padded to its column's
// width, vertical bars between), when that is plain: every cell printable
// ASCII without spaces at its ends and no wider than its column, aligned
// left or right. Laying out the rows of --all's 150,000 connections took
// the library most of ten seconds. ok is false for any other row: the
// library prints it.
func asciiRow(b []byte, row []string, align []tw.Align, widths []int) (_ []byte, ok bool) {
	if len(row) != len(widths) || len(align) != len(widths) {
		return b, false
	}
	const bar = "│"
	for i, cell := range row {
		pad := widths[i] - len(cell)
		if pad < 0 || !plainCell(cell) || align[i] != tw.AlignLeft && align[i] != tw.AlignRight {
			return b, false
		}
		b = append(b, bar+" "...)
		if align[i] == tw.AlignRight {
			b = appendSpaces(b, pad)
		}
		b = append(b, cell...)
		if align[i] == tw.AlignLeft {
			b = appendSpaces(b, pad)
		}
		b = append(b, ' ')
	}
	return append(b, bar+"\n"...), true
}

// cellWidth is the width the table library gives s: its length if it is
// printable ASCII (as nearly every cell is), which measuring it would take
// longer to find.
func cellWidth(s string) int {
	if !printableASCII(s) {
		return twwidth.Width(s)
	}
	return len(s)
}

// plainCell reports whether s is printable ASCII with no space at its ends.
func plainCell(s string) bool {
	return printableASCII(s) && (s == "" || s[0] != ' ' && s[len(s)-1] != ' ')
}

// printableASCII reports whether every byte of s is printable ASCII.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

func appendSpaces(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// tableAligned prints a table whose columns are aligned as align says, one
// letter a column: 'r' right, anything else left. Printers in other files
// use it, so that only this one knows the table library.
func (p *printer) tableAligned(header []string, rows [][]string, align string) {
	as := make([]tw.Align, len(align))
	for i, a := range align {
		as[i] = tw.AlignLeft
		if a == 'r' {
			as[i] = tw.AlignRight
		}
	}
	p.table(header, rows, as)
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
		at := p.clock(t.Time)
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
	if r.NumConnections() == 0 {
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

// notInTimeOrder makes a list that is not in time order (by severity,
// by kind) print, under -ttt, the time since the first packet: the time
// since the one before would go back and forth. It returns what puts the
// format back.
func (p *printer) notInTimeOrder() (restore func()) {
	t := p.times
	if t == DeltaTime {
		p.times = SinceFirst
	}
	return func() { p.times = t }
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
	defer p.notInTimeOrder()()
	header := []string{"SEVERITY", "KIND", "WHERE", "SIDE", "SINCE", "DETAIL"}
	if p.times == NoTime { // (-t: no column of empty cells)
		header = slices.Delete(header, 4, 5)
	}
	for i := range as {
		a := &as[i]
		row := []string{a.Severity.String(), kindWithAlso(a), where(a), a.Side.String(), p.clock(a.Time), a.Detail}
		if p.times == NoTime {
			row = slices.Delete(row, 4, 5)
		}
		rows = append(rows, row)
	}
	total := r.Summary.AnomalyTotal()
	if total > len(as) {
		p.printf("\nAnomalies: %s (listing the first %s)\n", count(uint64(total)), count(uint64(len(as))))
	} else {
		p.printf("\nAnomalies: %s\n", count(uint64(total)))
	}
	p.tableWrapped(header, rows, nil, fitDetail(header, rows, p.width))
}

// detailWidth is the widest a finding's sentence is laid out in the
// anomalies table, and minDetailWidth the narrowest it is made to fit a
// terminal: below it, the table is left wider than the terminal.
const (
	detailWidth    = 72
	minDetailWidth = 30
)

// fitDetail is the width to wrap the last column of the table of header
// and rows to, so that the table fits a terminal width columns wide (0:
// none): detailWidth at most, minDetailWidth at least.
func fitDetail(header []string, rows [][]string, width int) int {
	if width <= 0 {
		return detailWidth
	}
	used := 3*len(header) + 1 // "│ " before each cell, " │" after the last, " │ " between
	for i := range len(header) - 1 {
		w := cellWidth(header[i])
		for _, row := range rows {
			for line := range strings.SplitSeq(row[i], "\n") {
				w = max(w, cellWidth(line))
			}
		}
		used += w
	}
	return min(detailWidth, max(minDetailWidth, width-used))
}

// kindWithAlso is a finding's kind, and on a line each the kinds of its
// also list: --fail-on matches those too.
func kindWithAlso(a *Anomaly) string {
	s := a.Kind.String()
	for _, k := range a.Also {
		s += "\nalso " + k.String()
	}
	return s
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
		p.printf("\nOpen connections: the %s that matter most of %s\n", count(uint64(len(snap.Rows))), count(uint64(snap.Open)))
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
	p.printf("\nAnomalies: %s (latest last)\n", count(uint64(total)))
	for i := range latest {
		a := &latest[i]
		p.printf("  %s  %-8s %-18s %-6s %-6s %s\n", clock(a.Time), a.Severity, a.Kind, where(a), a.Side, a.Detail)
	}
}

// where names a finding's connection ("#3") or, for a target-wide one,
// its target.
func where(a *Anomaly) string {
	switch {
	case a.Connection != 0 && a.Unlisted:
		return fmt.Sprintf("#%d (not listed)", a.Connection)
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

// dateClock formats a capture time with its date: 2006-01-02 15:04:05.000000 UTC.
func dateClock(t Time) string {
	return time.Unix(0, int64(t)).UTC().Format("2006-01-02 15:04:05.000000")
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

// count formats n with thousands separators (tracker.Grouped).
func count(n uint64) string { return tracker.Grouped(n) }

// duration formats d as everything tcpwatch prints (tracker.FormatDuration).
func duration(d time.Duration) string { return tracker.FormatDuration(d) }

// captureNote says what the capture missed of a connection, for its
// timeline's heading.
func captureNote(c *Connection) string {
	var notes []string
	if c.Capture == OneSided {
		notes = append(notes, "captured "+c.Seen.String()+"'s segments only")
	}
	if c.NotCaptured > 0 {
		notes = append(notes, plural(c.NotCaptured, "segment")+" not captured")
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

// loneSummary is the input line's account of lone segments: ", 1,000,000
// lone segments to 999,980 4-tuples, never answered".
func loneSummary(l *Lone) string {
	var s string
	if l.Segments > 0 {
		s = fmt.Sprintf(", %s to %s, never answered", plural(l.Segments, "lone segment"), plural(l.Tuples, "4-tuple"))
	}
	if l.Refused > 0 {
		s += fmt.Sprintf(", %s refused by an RST", plural(l.Refused, "lone segment"))
	}
	return s
}
