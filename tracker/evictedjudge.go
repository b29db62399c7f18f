package tracker

// An open connection evicted from the full flow table (evictOne) is judged
// then, for the last time while followed (retire), and kept for the report
// as it was. Two things follow from a segment of its 4-tuple, or from
// none, after that:
//
//   - A segment of its 4-tuple brings it back into the table (readmit),
//     as one parked in TIME_WAIT is (unpark), while it is kept whole
//     (its judgement as it was evicted made no inference that only the end
//     of input allows, evicting): rather than a new connection
//     picked up mid-stream, whose states would be inferred without what it
//     knew (a client that sent its FIN before, seen in CLOSE_WAIT as it
//     acknowledges the server's). It is no longer counted as evicted.
//   - One evicted before it had been idle for Thresholds.Stuck, in
//     CLOSE_WAIT say, and never seen again, would have been judged at the
//     end of input, stuck by then, had the table had room. So one evicted
//     is judged as a sweep judges one in the table (evicting: no inference
//     that only the end of input allows, which would keep it from coming
//     back), and again at the end of input (Finish): one kept whole as
//     one still in the table is, as of the end; one frozen since, if in a
//     state that time alone may find stuck (judgedLate), by the detectors
//     time alone decides (close_wait_stuck, fin_wait_2_stuck,
//     zero_window), from what those detectors read of its sides, kept for
//     that (Record.late, lateSide). If a segment of its 4-tuple came after
//     its eviction that did not bring it back (it was frozen), it is
//     judged as of that segment instead: that went to a new connection or
//     to the lone table, and nothing says it stayed as it was after. The
//     connection opened on the 4-tuple since (picked up mid-stream, as a
//     rule: it took the one evicted over, succession.go) is followed as
//     any other: evicted open in turn, its next segment brings it back
//     while it is kept whole, and it is judged again (evictedRef.pred
//     keeps the first one's judgement as of that segment).

// evictedOpen holds, by 4-tuple, the connection evicted open last: while
// it is kept whole, or frozen to be judged again; with a nil conn once a
// segment of the 4-tuple came that did not bring it back, and when.
type evictedOpen struct {
	refs  map[FlowKey]evictedRef
	prune int // the size at which refs is pruned of connections no longer kept
}

type evictedRef struct {
	c      *Conn
	id     uint64
	seenAt int64 // when a segment of its 4-tuple came that did not bring it back; 0: none
	// pred and predSeenAt are the id and seenAt of the connection evicted
	// open first on the 4-tuple whose next segment did not bring it back,
	// once the connection that took it over is evicted open in turn: that
	// one can come back as any connection evicted open can, and the first
	// is still judged as of that segment. 0: none.
	pred       uint64
	predSeenAt int64
}

// evictedLate notes c, evicted open.
func (t *Tracker) evictedLate(c *Conn) {
	e := &t.late
	t.recent.add(t.table.hash(&c.Key), t.recentSize())
	next := evictedRef{c: c, id: c.ID}
	if ref, ok := e.refs[c.Key]; ok {
		// It took the 4-tuple over, or followed one that did, if a segment
		// came that did not bring the one evicted back (seenAt).
		next.pred, next.predSeenAt = ref.pred, ref.predSeenAt
		if ref.pred == 0 && ref.seenAt != 0 {
			next.pred, next.predSeenAt = ref.id, ref.seenAt
		}
	}
	if e.refs == nil {
		e.refs, e.prune = make(map[FlowKey]evictedRef), 1024
	}
	e.refs[c.Key] = next
	if len(e.refs) >= e.prune {
		t.pruneLate()
	}
}

// readmit brings back into the table the connection evicted open of k, if
// it is still kept whole; otherwise it notes that a segment of k came after the
// eviction, and reports whether there was one: the connection that
// segment opens takes its 4-tuple over.
func (t *Tracker) readmit(k *FlowKey) (c *Conn, takesOver bool) {
	e := &t.late
	if len(e.refs) == 0 {
		return nil, false
	}
	ref, ok := e.refs[*k]
	if !ok {
		return nil, false
	}
	if c = ref.c; t.keptEvicted(c, ref.id) {
		for t.table.len() >= t.maxConns && t.evictOne() {
		}
	}
	// (Making room can freeze or forget it, and its Conn be reused.)
	if t.keptEvicted(c, ref.id) {
		if ref.pred != 0 {
			e.refs[*k] = evictedRef{pred: ref.pred, predSeenAt: ref.predSeenAt}
		} else {
			delete(e.refs, *k)
		}
		t.table.put(c)
		c.inTable, c.Evicted = true, false
		if c.half[Client].state == TimeWait && !c.Midstream {
			t.twEnter(c, c.half[Client].twSince) // it left the build-up count when it was evicted (retire)
		}
		if c.embryonic() {
			t.evicted.Embryonic-- // (keepEvictedEmbryo)
		} else {
			t.evicted.Established--
		}
		t.evicted.Readmitted++
		t.queueReadmitted(c)
		return c, false
	}
	if ref.seenAt == 0 {
		e.refs[*k] = evictedRef{id: ref.id, seenAt: t.now, pred: ref.pred, predSeenAt: ref.predSeenAt}
	}
	return nil, true
}

// keptEvicted reports whether c is the connection of ID id, evicted open
// and still kept whole: a Conn is reused once its connection is frozen or
// forgotten.
func (t *Tracker) keptEvicted(c *Conn, id uint64) bool {
	return c != nil && c.ID == id && c.Evicted && !c.inTable && t.stored(c)
}

// pruneLate drops the connections frozen (unless to be judged again),
// forgotten or back in the table since they were evicted, and the
// 4-tuples seen since (a segment of one after that opens a connection not
// known to take one over), and sets the next size to prune at to twice
// what is left: so the map stays within twice the connections kept, at a
// cost of one scan of them per as many evictions as are left.
func (t *Tracker) pruneLate() {
	e := &t.late
	kept := make(map[FlowKey]evictedRef, len(e.refs))
	for _, c := range t.conns {
		if c == nil {
			continue
		}
		if ref, ok := e.refs[c.Key]; ok && t.keptEvicted(c, ref.id) {
			kept[c.Key] = ref
		}
	}
	for r := range t.frozenRecords() {
		if r.late != nil && !r.dropped {
			e.keepRef(kept, &r.Key, r.ID)
		}
	}
	for _, g := range t.lateGone.m {
		e.keepRef(kept, &g.key, g.id)
	}
	e.refs, e.prune = kept, max(1024, 2*len(kept))
}

// keepRef copies into kept what refs holds of the connection of ID id and
// key k, evicted open: its own entry, or its successor's pred.
func (e *evictedOpen) keepRef(kept map[FlowKey]evictedRef, k *FlowKey, id uint64) {
	ref, ok := e.refs[*k]
	switch {
	case !ok:
	case ref.id == id:
		kept[*k] = ref
	case ref.pred == id:
		p := kept[*k]
		p.pred, p.predSeenAt = ref.pred, ref.predSeenAt
		kept[*k] = p
	}
}

// rejudgeEvicted judges the evicted connections still to be, whole or
// frozen, as of the end of input.
func (t *Tracker) rejudgeEvicted() {
	if len(t.late.refs) == 0 {
		return
	}
	for _, c := range t.conns {
		if c == nil || !c.Evicted || c.inTable {
			continue
		}
		if at, seen, ok := t.late.judgedAt(c.Key, c.ID, t.now); ok && seen {
			t.check(c, at, pass{}) // as of the segment it did not see
		} else if ok {
			t.check(c, at, final)
		}
	}
	for r := range t.frozenRecords() {
		if r.late != nil && !r.dropped {
			r.found = t.judgeLate(forgottenLateOf(r))
		}
		r.late = nil
	}
	for gone := &t.lateGone; gone.order.len() > 0; {
		k := gone.order.pop()
		if g, ok := gone.get(&k); ok {
			gone.del(&k)
			t.countLateFindings(&g, t.judgeLate(g))
		}
	}
	t.lateGone = lateTable{}
	t.late = evictedOpen{}
}

// judgeLate judges again, if it is to be, the sides of a connection
// evicted open no longer kept whole, as of the end of input or of the
// segment of its 4-tuple that did not bring it back; it returns the kinds
// found of it, by side, since and before.
func (t *Tracker) judgeLate(g forgottenLate) [2]uint32 {
	at, _, ok := t.late.judgedAt(g.key, g.id, t.now)
	if !ok {
		return g.found
	}
	return t.judgeLateAt(g, at)
}

// judgeLateAt judges g's sides as of at, and returns the kinds found of
// it, by side, since and before.
func (t *Tracker) judgeLateAt(g forgottenLate, at int64) [2]uint32 {
	c := &t.lateScratch
	*c = Conn{ID: g.id, First: g.first, Last: g.last, Key: g.key, clientIsA: g.clientIsA, found: g.found}
	for s := range c.half {
		g.late[s].restore(&c.half[s])
	}
	t.check(c, at, pass{})
	return c.found
}

// forgottenLate is what judgeLate reads of a connection evicted open in a
// state time alone may find stuck (judgedLate), and forgotten beyond
// --keep before the end of input: a CLOSE_WAIT never closed is stuck by
// then, whether or not the store still holds the connection.
type forgottenLate struct {
	id          uint64
	first, last int64
	key         FlowKey
	found       [2]uint32
	clientIsA   bool
	late        [2]lateSide
}

// forgottenLateOf returns what judgeLate reads of r, a frozen Record to be
// judged again (r.late).
func forgottenLateOf(r *Record) forgottenLate {
	return forgottenLate{id: r.ID, first: r.First, last: r.Last, key: r.Key, found: r.found, clientIsA: r.clientIsA, late: *r.late}
}

// maxLateGone bounds the connections forgotten that are still to be judged
// at the end (about 9 MB); beyond it the oldest goes unjudged.
const maxLateGone = 1 << 16

// lateTable holds the forgotten connections still to be judged at the
// end, by 4-tuple, at most maxLateGone of them: beyond it the one noted
// first goes. Those judged or ended before leave it (del), and their
// places in the order go as the order is rebuilt, once it holds twice the
// entries left: amortized O(1) each, and the order stays within twice
// the entries.
type lateTable struct {
	m     map[FlowKey]forgottenLate
	order fifo[FlowKey]
}

func (l *lateTable) get(k *FlowKey) (forgottenLate, bool) {
	g, ok := l.m[*k]
	return g, ok
}

// put adds g (or replaces what is held of its 4-tuple).
func (l *lateTable) put(g forgottenLate) {
	if l.m == nil {
		l.m = make(map[FlowKey]forgottenLate)
	}
	if _, ok := l.m[g.key]; !ok {
		if l.order.len() >= 2*len(l.m)+1024 {
			l.rebuild()
		}
		for len(l.m) >= maxLateGone {
			delete(l.m, l.order.pop())
		}
		l.order.push(g.key)
	}
	l.m[g.key] = g
}

func (l *lateTable) del(k *FlowKey) { delete(l.m, *k) }

// rebuild drops from the order the 4-tuples no longer held, and the later
// places of those held twice.
func (l *lateTable) rebuild() {
	seen := make(map[FlowKey]bool, len(l.m))
	for n := l.order.len(); n > 0; n-- {
		k := l.order.pop()
		if _, ok := l.m[k]; ok && !seen[k] {
			seen[k] = true
			l.order.push(k)
		}
	}
}

// lateFinAcked notes, of the connection of ID id and key k evicted open,
// frozen (its Record fr) or forgotten, and to be judged at the end, that
// the FIN of its side s was acknowledged at at (finAcked): it is judged as
// of then, that side is in state to since, and the segment was the
// connection's own, not one that went to another (readmit's seenAt).
func (t *Tracker) lateFinAcked(k *FlowKey, id uint64, fr *Record, s Side, to State, at int64) {
	var g forgottenLate
	if fr != nil {
		if fr.late == nil {
			return
		}
		g = forgottenLateOf(fr)
	} else if held, ok := t.lateGone.get(k); ok && held.id == id {
		g = held
	} else {
		return
	}
	found := t.judgeLateAt(g, at) // as a whole one is just before a segment
	g.late[s].state, g.late[s].since, g.late[s].finAcked = to, at, true
	if fr != nil {
		fr.found, *fr.late = found, g.late
	} else {
		t.countLateFindings(&g, found)
		g.found = found
		if !g.stillLate() {
			t.lateGone.del(k)
			return
		}
		t.lateGone.put(g) // (held: only replaced)
	}
	if ref, ok := t.late.refs[*k]; ok && ref.id == id && ref.seenAt == at {
		ref.seenAt = 0
		t.late.refs[*k] = ref
	}
}

// lateEnded judges, as of at, the connection of ID id and key k forgotten
// and to be judged at the end, if it is, as a segment at at ends it or
// gives it a successor (succession.go): nothing after says it stayed as
// it was. It is not judged again.
func (t *Tracker) lateEnded(k *FlowKey, id uint64, at int64) {
	if g, ok := t.lateGone.get(k); ok && g.id == id {
		t.lateGone.del(k)
		t.countLateFindings(&g, t.judgeLateAt(g, at))
	}
}

// stillLate reports whether a side of g is in a state time alone may
// still find stuck (judgedLate).
func (g *forgottenLate) stillLate() bool {
	return stuckable(g.late[Client].state, g.late[Client].zeroSince) || stuckable(g.late[Server].state, g.late[Server].zeroSince)
}

// countLateFindings counts for its service the kinds found of g, a
// connection forgotten (counted there with what it had then), since it
// was forgotten.
func (t *Tracker) countLateFindings(g *forgottenLate, found [2]uint32) {
	sv := t.forgottenService(&g.key, g.clientIsA, false)
	if sv == nil {
		return
	}
	for s := range found {
		for kind := Kind(1); kind < numKinds; kind++ {
			if (found[s]&^g.found[s])&(1<<kind) != 0 {
				sv.Findings[kind]++
			}
		}
	}
}

// judgedAt reports whether the connection of ID id, evicted open with key
// k, is to be judged again, and as of when: end, the end of input, unless
// a segment of k came after its eviction that did not bring it back
// (seen).
func (e *evictedOpen) judgedAt(k FlowKey, id uint64, end int64) (at int64, seen, ok bool) {
	ref, ok := e.refs[k]
	if ok && ref.pred != 0 && ref.pred == id {
		return ref.predSeenAt, true, true
	}
	if !ok || ref.id != id {
		return 0, false, false
	}
	if ref.seenAt != 0 {
		return ref.seenAt, true, true
	}
	return end, false, true
}

// judgedLate reports whether a side of c is in a state that time alone
// may still find stuck.
func (c *Conn) judgedLate() bool {
	return stuckable(c.half[Client].state, c.half[Client].zeroSince) || stuckable(c.half[Server].state, c.half[Server].zeroSince)
}

// stuckable reports whether a side in state st, advertising a zero window
// since zeroSince (0: not), may be found stuck by time alone.
func stuckable(st State, zeroSince int64) bool {
	return st == CloseWait || st == FinWait2 || zeroSince != 0
}

// lateSide is what the detectors time alone decides read of a side
// (detectClose, detectPath, with a pass that does not count): a frozen
// Record's, to be judged again at the end.
type lateSide struct {
	since, lastData, zeroSince int64
	state                      State
	gaveUp, finSent, finAcked  bool
}

func (l *lateSide) restore(h *Half) {
	h.since, h.lastData, h.zeroSince, h.state = l.since, l.lastData, l.zeroSince, l.state
	h.gaveUp, h.finSent, h.finAcked = l.gaveUp, l.finSent, l.finAcked
}

// lateSides returns what is judged again at the end of c's sides, for its
// frozen Record, if it is to be; else nil.
func (t *Tracker) lateSides(c *Conn) *[2]lateSide {
	if !c.Evicted || c.inTable || t.late.refs[c.Key].id != c.ID || !c.judgedLate() {
		return nil
	}
	late := lateOf(c)
	return &late
}

// lateOf returns what is judged again at the end of c's sides.
func lateOf(c *Conn) [2]lateSide {
	var late [2]lateSide
	for s := range late {
		h := &c.half[s]
		late[s] = lateSide{since: h.since, lastData: h.lastData, zeroSince: h.zeroSince, state: h.state,
			gaveUp: h.gaveUp, finSent: h.finSent, finAcked: h.finAcked}
	}
	return late
}

// recentEvicted remembers the 4-tuples (by hash) of the connections evicted
// open last, however soon the store forgets them: a segment of one, held
// as a lone segment, is its connection's, not a flood's (loneFor). It holds
// as many as twice the flow table, 65,536 at least, 1,048,576 at most.
type recentEvicted struct {
	order fifo[uint64]
	n     map[uint64]uint32 // how many times each hash is in order
}

func (r *recentEvicted) add(h uint64, size int) {
	if r.n == nil {
		r.n = make(map[uint64]uint32)
	}
	if r.order.len() >= size {
		old := r.order.pop()
		if r.n[old]--; r.n[old] == 0 {
			delete(r.n, old)
		}
	}
	r.order.push(h)
	r.n[h]++
}

func (r *recentEvicted) has(h uint64) bool {
	if len(r.n) == 0 {
		return false
	}
	_, ok := r.n[h]
	return ok
}

// recentSize is how many 4-tuples recentEvicted holds.
func (t *Tracker) recentSize() int { return min(max(1<<16, 2*t.maxConns), 1<<20) }
