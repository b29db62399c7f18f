package tracker

// An open connection evicted from the full flow table (evictOne) is judged
// then, for the last time while followed (retire). One evicted before it
// had been idle for Thresholds.Stuck, in CLOSE_WAIT say, was never judged
// again: had the table had room, it would have been judged at the end of
// input, stuck by then. So one evicted in a state that time alone may
// still find stuck (judgedLate) is judged again at the end of input
// (Finish), as of the end, by the detectors time alone decides
// (close_wait_stuck, fin_wait_2_stuck, zero_window; a pass that counts,
// and may move a state, ran when it was evicted), as one still in the
// table is — unless a segment of its 4-tuple came after its eviction
// (lateJudged.seen): that went to a new connection or to the lone table,
// and nothing says the evicted one stayed as it was. Nor is that new
// connection (Conn.takesOver): picked up mid-stream, its states are
// inferred without what the evicted one knew (a client that sent its FIN
// before, seen in CLOSE_WAIT as it acknowledges the server's). One frozen
// since keeps a copy of its sides for that (Record.late).

// lateJudged holds, by 4-tuple, the ID of the connection evicted in a
// state judged again at the end; 0 once a segment of the 4-tuple came.
type lateJudged struct {
	ids   map[FlowKey]uint64
	prune int // the size at which ids is pruned of connections no longer kept
}

// evictedLate notes that c, evicted, is to be judged again at the end.
func (t *Tracker) evictedLate(c *Conn) {
	l := &t.late
	if c.takesOver || !c.judgedLate() {
		return
	}
	if l.ids == nil {
		l.ids, l.prune = make(map[FlowKey]uint64), 1024
	}
	l.ids[c.Key] = c.ID
	if len(l.ids) >= l.prune {
		t.pruneLate()
	}
}

// seen notes a segment of 4-tuple k that no connection in the table
// follows, and reports whether a connection evicted was to be judged
// again then, or was until a segment came before: its ID is taken as 0,
// so that every segment after the first, lone or not, is seen as coming
// after the eviction too.
func (l *lateJudged) seen(k *FlowKey) bool {
	if len(l.ids) == 0 {
		return false
	}
	if _, ok := l.ids[*k]; ok {
		l.ids[*k] = 0
		return true
	}
	return false
}

// pruneLate drops the connections forgotten since they were evicted and
// the 4-tuples seen since (a segment of one after that opens a connection
// not known to take one over), and
// sets the next size to prune at to twice what is left: so the map stays
// within twice the connections kept, at a cost of one scan of them per as
// many evictions as are left.
func (t *Tracker) pruneLate() {
	l := &t.late
	kept := make(map[FlowKey]uint64, len(l.ids))
	t.eachLate(func(k FlowKey, id uint64) { kept[k] = id })
	l.ids, l.prune = kept, max(1024, 2*len(kept))
}

// eachLate calls f for each connection kept, whole or frozen, that is to
// be judged again at the end.
func (t *Tracker) eachLate(f func(FlowKey, uint64)) {
	for _, c := range t.conns {
		if c != nil && c.Evicted && !c.inTable && t.late.ids[c.Key] == c.ID {
			f(c.Key, c.ID)
		}
	}
	for r := range t.frozenRecords() {
		if r.late != nil && !r.dropped && t.late.ids[r.Key] == r.ID {
			f(r.Key, r.ID)
		}
	}
}

// rejudgeEvicted judges the evicted connections still to be, whole or
// frozen, as of the end of input.
func (t *Tracker) rejudgeEvicted() {
	if len(t.late.ids) == 0 {
		return
	}
	for _, c := range t.conns {
		if c != nil && c.Evicted && !c.inTable && t.late.ids[c.Key] == c.ID {
			t.check(c, t.now, pass{})
		}
	}
	for r := range t.frozenRecords() {
		if r.late != nil && !r.dropped && t.late.ids[r.Key] == r.ID {
			c := &t.lateScratch
			*c = Conn{ID: r.ID, First: r.First, Last: r.Last, Key: r.Key, clientIsA: r.clientIsA, found: r.found, half: *r.late}
			t.check(c, t.now, pass{})
			r.found = c.found
		}
		r.late = nil
	}
	t.late = lateJudged{}
}

// judgedLate reports whether a side of c is in a state that time alone
// may still find stuck.
func (c *Conn) judgedLate() bool {
	for s := range c.half {
		if h := &c.half[s]; h.state == CloseWait || h.state == FinWait2 || h.zeroSince != 0 {
			return true
		}
	}
	return false
}

// lateSides returns a copy of c's sides for its frozen Record if it is to
// be judged again at the end, else nil.
func (t *Tracker) lateSides(c *Conn) *[2]Half {
	if !c.Evicted || c.inTable || t.late.ids[c.Key] != c.ID {
		return nil
	}
	late := c.half
	return &late
}
