package report

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Sizes of the rollup's lists; each list that is cut says how many it left
// out ("N more: --all").
const (
	MaxServices = 15 // services listed
	MaxExamples = 3  // examples of each kind above info
	MaxTargets  = 3  // top services named for each kind
	MaxTop      = 20 // connections that matter most
)

// Rollup is the table format's summary of a large capture: the services
// (server ip:port) with their connections, states and findings, worst
// first; the findings grouped by kind; and the connections that matter
// most. It is built in one pass over the connections and one over the
// findings (rollupBuilder), keeping per service and per kind only counts,
// and only the few connections and examples it shows.
type Rollup struct {
	Services []Service // worst first
	Kinds    []KindGroup
	// Top are the connections that matter most, most first: by the worst
	// severity of their findings (one still open at the end counts as
	// info), then by how long they have been stuck (idle at the end of
	// input, if not ended), then by ID.
	Top []*Connection
	// Candidates counts the connections Top was chosen from: those with a
	// finding or that did not close cleanly.
	Candidates int
	// End is the end of input, from which an open connection's idle time
	// is counted.
	End Time
}

// Service is one server ip:port's part of a capture.
type Service struct {
	Server      netip.AddrPort
	Connections uint64
	// States count the connections by each side's final state.
	ClientStates, ServerStates [stateSlots]uint64
	// Findings count, by kind, the connections with that finding, and
	// target-wide findings (syn_flood) about this service.
	Findings [kindSlots]int
	// Open counts the connections still held beyond TIME_WAIT at the end
	// of input.
	Open uint64
	// bySeverity counts Findings by severity, for the order.
	bySeverity [tracker.Critical + 1]int
}

// KindGroup is every finding of one kind.
type KindGroup struct {
	Kind  tracker.Kind
	Count int // every finding of the kind, listed or not (summary)
	// Listed counts the findings in the report's list; First, Last and
	// Examples are taken from those, Targets from every one (the services').
	Listed      int
	First, Last Time
	Targets     []TargetCount // the services with the most connections with one, at most MaxTargets
	MoreTargets int           // services not named
	Examples    []Anomaly     // the first listed, at most MaxExamples
}

// TargetCount is how many connections of one service had a finding of a
// kind (a target's finding, a flood's, counts as one).
type TargetCount struct {
	Target netip.AddrPort
	Count  int
}

// Slots for states and kinds in fixed arrays: more than either has, so that
// counting does not touch a map per connection.
const (
	stateSlots = 16
	kindSlots  = 32
)

// rollupBuilder builds a Rollup from connections and findings fed one at a
// time, in any order.
type rollupBuilder struct {
	end        Time // end of input: stuck time is measured to it
	services   map[netip.AddrPort]*Service
	kinds      [kindSlots]*kindAcc
	top        []topConn
	candidates int
}

type kindAcc struct {
	listed      int
	first, last Time
	examples    []Anomaly
}

// topConn is a candidate for Top with its rank.
type topConn struct {
	c     *Connection
	rec   int   // of a streamed report: the index of its Record, to make c whole
	worst int   // the worst severity of its findings; -1 for none
	stuck int64 // idle at the end of input, if not ended
}

func newRollupBuilder(end Time) *rollupBuilder {
	return &rollupBuilder{end: end, services: map[netip.AddrPort]*Service{}}
}

// service returns the service of server s, making it if need be.
func (b *rollupBuilder) service(s netip.AddrPort) *Service {
	sv := b.services[s]
	if sv == nil {
		sv = &Service{Server: s}
		b.services[s] = sv
	}
	return sv
}

// addConnection counts c in its service and considers it for Top.
func (b *rollupBuilder) addConnection(c *Connection) { b.addConnectionAt(c, -1) }

// addConnectionAt is addConnection for the connection of Record rec of a
// streamed report.
func (b *rollupBuilder) addConnectionAt(c *Connection, rec int) {
	sv := b.service(c.Server)
	sv.Connections++
	if s := c.ClientState; s < stateSlots {
		sv.ClientStates[s]++
	}
	if s := c.ServerState; s < stateSlots {
		sv.ServerStates[s]++
	}
	worst := -1
	for _, k := range c.Anomalies {
		sv.count(k, 1)
		worst = max(worst, int(k.Severity()))
	}
	if !ended(c) {
		sv.Open++
	}
	if worst < 0 && cleanlyClosed(c) {
		return
	}
	b.candidates++
	t := topConn{c: c, rec: rec, worst: worst}
	if !ended(c) {
		// Still open at the end: as important as an info-level finding,
		// and more the longer it sat idle.
		t.worst = max(worst, int(tracker.Info))
		t.stuck = int64(b.end - c.LastPacket)
	}
	b.top = insertTop(b.top, t, MaxTop, topCmp)
}

// count adds n findings of kind k.
func (sv *Service) count(k tracker.Kind, n int) {
	if k < kindSlots {
		sv.Findings[k] += n
	}
	if s := k.Severity(); s <= tracker.Critical {
		sv.bySeverity[s] += n
	}
}

// ended reports whether neither side holds c beyond TIME_WAIT.
func ended(c *Connection) bool {
	done := func(s tracker.State) bool { return s == tracker.Closed || s == tracker.TimeWait }
	return done(c.ClientState) && done(c.ServerState)
}

// topCmp orders the connections that matter most first.
func topCmp(a, b topConn) int {
	return cmp.Or(cmp.Compare(b.worst, a.worst), cmp.Compare(b.stuck, a.stuck), cmp.Compare(a.c.ID, b.c.ID))
}

// addAnomaly groups a listed finding by kind; a target-wide one (no
// connection) also counts in its target's service.
func (b *rollupBuilder) addAnomaly(a *Anomaly) {
	if a.Kind >= kindSlots {
		return
	}
	if a.Connection == 0 && a.Target.IsValid() {
		b.service(a.Target).count(a.Kind, 1)
	}
	k := b.kinds[a.Kind]
	if k == nil {
		k = &kindAcc{first: a.Time, last: a.Time}
		b.kinds[a.Kind] = k
	}
	k.listed++
	k.first, k.last = min(k.first, a.Time), max(k.last, a.Time)
	if len(k.examples) < MaxExamples {
		k.examples = append(k.examples, *a)
	}
}

// result returns the rollup; counts are every finding by kind (the
// report's summary), also those not listed.
func (b *rollupBuilder) result(counts map[tracker.Kind]int) *Rollup {
	r := &Rollup{Candidates: b.candidates, End: b.end}
	for _, sv := range b.services {
		r.Services = append(r.Services, *sv)
	}
	slices.SortFunc(r.Services, serviceCmp)
	for k, n := range counts {
		g := KindGroup{Kind: k, Count: n}
		if k < kindSlots && b.kinds[k] != nil {
			acc := b.kinds[k]
			g.Listed, g.First, g.Last, g.Examples = acc.listed, acc.first, acc.last, acc.examples
		}
		if k < kindSlots {
			g.Targets, g.MoreTargets = topServices(r.Services, k)
		}
		r.Kinds = append(r.Kinds, g)
	}
	slices.SortFunc(r.Kinds, func(a, b KindGroup) int {
		return cmp.Or(cmp.Compare(b.Kind.Severity(), a.Kind.Severity()), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Kind, b.Kind))
	})
	for _, t := range b.top {
		r.Top = append(r.Top, t.c)
	}
	return r
}

// serviceCmp puts the worst services first: most critical findings, then
// warnings, then infos and connections still open at the end (which count
// as much: the connections that matter most rank them alike), then most
// connections, then by address.
func serviceCmp(a, b Service) int {
	info := func(sv *Service) uint64 { return uint64(sv.bySeverity[tracker.Info]) + sv.Open }
	return cmp.Or(cmp.Compare(b.bySeverity[tracker.Critical], a.bySeverity[tracker.Critical]),
		cmp.Compare(b.bySeverity[tracker.Warning], a.bySeverity[tracker.Warning]),
		cmp.Compare(info(&b), info(&a)),
		cmp.Compare(b.Connections, a.Connections), a.Server.Compare(b.Server))
}

// topServices returns the services with the most connections with a
// finding of kind k (every one, as the services table counts them: also
// beyond the findings listed, and forgotten), at most MaxTargets, and how
// many others had one.
func topServices(svs []Service, k tracker.Kind) ([]TargetCount, int) {
	var top []TargetCount
	n := 0
	for i := range svs {
		c := svs[i].Findings[k]
		if c == 0 {
			continue
		}
		n++
		top = insertTop(top, TargetCount{svs[i].Server, c}, MaxTargets, func(a, b TargetCount) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), a.Target.Compare(b.Target))
		})
	}
	return top, n - len(top)
}

// insertTop inserts x into top, kept sorted by order and at most n long: the
// first n of a sort of everything inserted, without sorting it all.
func insertTop[T any](top []T, x T, n int, order func(a, b T) int) []T {
	if len(top) == n && order(top[n-1], x) <= 0 {
		return top
	}
	i, _ := slices.BinarySearchFunc(top, x, order)
	if len(top) == n {
		top = top[:n-1]
	}
	return slices.Insert(top, i, x)
}

// addRecords adds the connections of a streamed report. What the rollup
// reads of a connection is in its row (and its Zeek state), so only the
// few that make Top are made whole: the others cost no Community ID, Zeek
// history or byte counts.
func (b *rollupBuilder) addRecords(src *connSource) {
	for i, rec := range src.recs {
		c := row(rec)
		c.ConnState = ConnState(rec.ConnState())
		b.addConnectionAt(&c, i)
	}
	for i := range b.top {
		whole := src.conn(b.top[i].rec)
		b.top[i].c = &whole
	}
}

// rollupOf builds the rollup of a report.
func rollupOf(r *Report) *Rollup {
	end := max(r.Input.LastPacket, r.Input.CaptureEnd)
	b := newRollupBuilder(end)
	if r.source != nil {
		b.addRecords(r.source)
	} else {
		for i := range r.Connections {
			b.addConnection(&r.Connections[i])
		}
	}
	for _, f := range r.forgotten {
		b.addForgotten(f)
	}
	for i := range r.Anomalies {
		b.addAnomaly(&r.Anomalies[i])
	}
	return b.result(r.Summary.Anomalies)
}

// addForgotten counts in their service the connections forgotten beyond
// --keep: their states and findings, as the summary counts them (none is
// a candidate for Top: the report no longer holds them).
func (b *rollupBuilder) addForgotten(f *tracker.ForgottenService) {
	sv := b.service(f.Server)
	sv.Connections += f.Conns
	for st := range min(len(f.States[tracker.Client]), stateSlots) {
		sv.ClientStates[st] += f.States[tracker.Client][st]
		sv.ServerStates[st] += f.States[tracker.Server][st]
	}
	for k, n := range f.Findings {
		if n > 0 {
			sv.count(tracker.Kind(k), int(n)) // (count keeps within kindSlots)
		}
	}
}
