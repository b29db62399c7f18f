package report

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// rolledUp reports whether the table shows the rollup of a large capture
// rather than every connection and finding: more connections than fit in
// a screen's table, and no --all.
func rolledUp(r *Report, opts PrintOptions) bool {
	max := opts.MaxRows
	if max <= 0 {
		max = DefaultMaxRows
	}
	return !opts.All && r.NumConnections() > max
}

// rollup prints a large capture's rollup under the input summary: the
// totals, the services worst first, the findings by kind, and (unless
// quiet: -q) the connections that matter most. Each list that is cut says
// how many it left out.
func (p *printer) rollup(r *Report, ru *Rollup, quiet bool) {
	p.printf("\nConnections: %s to %s; clients: %s; servers: %s\n",
		count(uint64(r.Summary.Connections)), plural(uint64(len(ru.Services)), "service"),
		stateList(r.Summary.States.Client), stateList(r.Summary.States.Server))
	p.services(ru.Services)
	p.kindGroups(ru.Kinds, r.Summary.AnomalyTotal(), r.Summary.Also)
	if !quiet {
		p.topConnections(ru)
	}
}

// more says how many items of a list were left out, and how to see them.
func (p *printer) more(n int, what string) {
	if what != "" {
		what = " " + what
	}
	if n > 0 {
		p.printf("%s more%s: --all\n", count(uint64(n)), what)
	}
}

func (p *printer) services(svs []Service) {
	if len(svs) == 0 {
		return
	}
	p.printf("\nServices, worst first\n")
	rows := make([][]string, 0, MaxServices)
	for i := range svs[:min(len(svs), MaxServices)] {
		sv := &svs[i]
		rows = append(rows, []string{sv.Server.String(), count(sv.Connections),
			atMost(stateArray(&sv.ClientStates), maxCellItems), atMost(stateArray(&sv.ServerStates), maxCellItems),
			atMost(serviceFindings(sv), maxCellItems+1)})
	}
	p.tableAligned([]string{"SERVER", "CONNS", "CLIENT STATES", "SERVER STATES", "FINDINGS"}, rows, "lrlll")
	p.more(len(svs)-len(rows), "services")
}

// maxCellItems is how many states a services table's cell lists (and one
// more kind of finding), so that a row fits a screen's width.
const maxCellItems = 3

// atMost cuts a comma-separated list to n items, saying how many it left
// out ("... +2 more").
func atMost(list string, n int) string {
	items := strings.Split(list, ", ")
	if len(items) <= n {
		return list
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(", +%d more", len(items)-n)
}

// stateList lists the states of a summary's side, most first: "TIME_WAIT
// 79,080, CLOSED 49,504".
func stateList(m map[tracker.State]uint64) string {
	var a [stateSlots]uint64
	for s, n := range m {
		if s < stateSlots {
			a[s] = n
		}
	}
	return stateArray(&a)
}

// stateArray lists the states counted in a: those that still hold a
// connection first, then CLOSED and TIME_WAIT, most first within each
// (ties in RFC order), so that a cut list keeps what matters.
func stateArray(a *[stateSlots]uint64) string {
	var parts, done []string
	for _, s := range byCount(a[:]) {
		part := fmt.Sprintf("%s %s", tracker.State(s), count(a[s]))
		if st := tracker.State(s); st == tracker.Closed || st == tracker.TimeWait {
			done = append(done, part)
		} else {
			parts = append(parts, part)
		}
	}
	parts = append(parts, done...)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// byCount returns the indices of a's non-zero counts, largest first, ties
// in index order.
func byCount[T int | uint64](a []T) []int {
	var idx []int
	for i, n := range a {
		if n > 0 {
			idx = append(idx, i)
		}
	}
	for i := 1; i < len(idx); i++ { // insertion sort: a dozen entries at most
		for j := i; j > 0 && a[idx[j]] > a[idx[j-1]]; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
	return idx
}

// serviceFindings lists a service's findings, worst kind first, then most.
func serviceFindings(sv *Service) string {
	var parts []string
	for s := tracker.Critical; ; s-- {
		var a [kindSlots]int
		for k, n := range sv.Findings {
			if tracker.Kind(k).Severity() == s {
				a[k] = n
			}
		}
		for _, k := range byCount(a[:]) {
			parts = append(parts, fmt.Sprintf("%s %s", tracker.Kind(k), count(uint64(a[k]))))
		}
		if s == tracker.Info {
			break
		}
	}
	return strings.Join(parts, ", ")
}

// kindGroups prints the findings grouped by kind, worst first, then
// examples of each kind above info: info-level kinds get their one line.
func (p *printer) kindGroups(gs []KindGroup, total int, also map[tracker.Kind]int) {
	if len(gs) == 0 {
		p.printf("\nNo anomalies.\n")
		return
	}
	listed := 0
	for i := range gs {
		listed += gs[i].Listed
	}
	p.printf("\nFindings: %s of %s, worst first", count(uint64(total)), plural(uint64(len(gs)), "kind"))
	if listed < total {
		p.printf(" (first and last of the %s listed)", count(uint64(listed)))
	}
	p.printf("\n")
	defer p.notInTimeOrder()() // (and the examples, by kind)
	rows := make([][]string, 0, len(gs))
	for i := range gs {
		g := &gs[i]
		first, last := "", ""
		if g.Listed > 0 {
			first, last = p.clock(g.First), p.clock(g.Last)
		}
		rows = append(rows, []string{g.Kind.Severity().String(), g.Kind.String(), count(uint64(g.Count)), first, last, targetList(g)})
	}
	p.tableAligned([]string{"SEVERITY", "KIND", "COUNT", "FIRST", "LAST", "TOP SERVICES"}, rows, "llrlll")
	if line := alsoLine(also); line != "" {
		p.printf("%s\n", line)
	}
	for i := range gs {
		if g := &gs[i]; g.Kind.Severity() > tracker.Info {
			p.examples(g)
		}
	}
}

// alsoLine names the kinds findings of other kinds carry in their also
// lists, with how many carry each, in the kinds' order: --fail-on matches
// them, so a table that named only the findings' own kinds would hide why
// it did. "" when there are none.
func alsoLine(also map[tracker.Kind]int) string {
	var parts []string
	for _, k := range tracker.Kinds() {
		if n := also[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", k, count(uint64(n))))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "In other findings' also lists (--fail-on matches them): " + strings.Join(parts, ", ")
}

// targetList names a kind's top services with their counts.
func targetList(g *KindGroup) string {
	var parts []string
	for _, t := range g.Targets {
		parts = append(parts, fmt.Sprintf("%s (%s)", t.Target, count(uint64(t.Count))))
	}
	if g.MoreTargets > 0 {
		parts = append(parts, fmt.Sprintf("%s more", count(uint64(g.MoreTargets))))
	}
	return strings.Join(parts, ", ")
}

// examples prints the first findings of a kind, one line each.
func (p *printer) examples(g *KindGroup) {
	p.printf("\n%s (%s)\n", g.Kind, count(uint64(g.Count)))
	for i := range g.Examples {
		a := &g.Examples[i]
		conn := "" // a target-wide finding's sentence names its target
		if a.Connection != 0 {
			conn = fmt.Sprintf("%-7s ", fmt.Sprintf("#%d", a.Connection))
		}
		prefix := "  " + p.clock(a.Time) + "  " + conn
		p.printf("%s%s\n", prefix, wrapText(a.Detail, p.exampleWidth()-utf8.RuneCountInString(prefix), strings.Repeat(" ", utf8.RuneCountInString(prefix))))
	}
	p.more(g.Count-len(g.Examples), "")
}

// exampleWidth is the width a finding's example line is wrapped to:
// 110 columns, or a narrower terminal's width (wrapText keeps at least 20
// columns for the sentence).
func (p *printer) exampleWidth() int {
	if p.width > 0 {
		return min(110, p.width)
	}
	return 110
}

// wrapText breaks s at spaces into lines of at most width runes (a word
// longer stays whole), each after the first starting with indent.
func wrapText(s string, width int, indent string) string {
	width = max(width, 20)
	var b strings.Builder
	n := 0
	for i, w := range strings.Split(s, " ") {
		l := utf8.RuneCountInString(w)
		switch {
		case i == 0:
		case n+1+l > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += l
	}
	return b.String()
}

// topConnections lists the connections that matter most.
func (p *printer) topConnections(ru *Rollup) {
	switch {
	case ru.Candidates == 0 && len(ru.Kinds) > 0:
		// The findings listed are about a target (a flood, a TIME_WAIT
		// build-up), not about one connection.
		p.printf("\nEvery connection closed cleanly, with no finding of its own.\n")
		return
	case ru.Candidates == 0:
		p.printf("\nEvery connection closed cleanly, with no finding.\n")
		return
	}
	p.printf("\nConnections that matter most (by severity, then time stuck): %s of the %s with a finding or not closed cleanly\n",
		count(uint64(len(ru.Top))), count(uint64(ru.Candidates)))
	p.connTable(slices.Values(ru.Top), slices.ContainsFunc(ru.Top, func(c *Connection) bool { return c.Transitions != nil }), ru.End)
	p.more(ru.Candidates-len(ru.Top), "connections")
}
