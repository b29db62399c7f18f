package tracker

// A frozen connection (freeze.go) has no timer in timeWaits any more: those
// name whole connections. When its transitions are told as they happen
// (Config.OnFrozenTransition: ndjson, the live view), frozenTWs holds one
// timer per side of a frozen Record in TIME_WAIT, due when that TIME_WAIT
// runs out, so that the side closes then, as a whole one's does (expire),
// and not only when its compact record leaves the table (up to 2×MSL after
// its last segment, which can come a round trip after the TIME_WAIT
// began). Otherwise the report, made at the end, is the same without them
// (finishFrozen), and the timers' cost (a tenth of the tracker's time on
// the large capture) is not paid.

// A forgotten connection (beyond MaxKept) has only its compact record, if
// it still has one: forgottenRank timers end its TIME_WAITs as well, so
// that the summary counts a side whose TIME_WAIT ran out as CLOSED, and
// the end is told, when it happens.

// frozenTimer names a side of a frozen Record as a compact record names
// the Record: by its rank, its sequence number among the Records of that
// rank, and its ID; or, of forgottenRank, a side of a forgotten
// connection by its compact record's slot (seq) and ID.
//
// A side has one timer while it is in TIME_WAIT, or back in CLOSING after
// its FIN again (twrecords.go, finAgain), however often its TIME_WAIT
// starts over: set when the side was frozen or forgotten in TIME_WAIT,
// due no later than its TIME_WAIT ends. A timer that finds its side's
// TIME_WAIT started over since is set again for the new end; one that
// finds it in CLOSING, for 2×MSL on, as soon as a TIME_WAIT begun now
// would end. So a flood of FINs sent again costs no timers.
type frozenTimer struct {
	due  int64
	seq  uint32
	id   uint32
	rank uint8
	side Side
}

// forgottenRank is the rank of a forgotten connection's timer.
const forgottenRank = 2

// lostTimer ends the TIME_WAIT of a forgotten connection's side that has
// no compact record (dropped from the full table before it was forgotten,
// or after when its own timers cannot follow it: orphanTWs): nothing else
// can end it, so the timer does, unchecked. They are few (the table of
// compact records must be full), and hold the key. They and orphanTWs are
// capped as that table is (maxTimeWait), or at minLostTimers (56 MB of
// them) if that is more (Tracker.maxLost): with more, the one due first
// is taken as over ahead of its time (pushLostTW).
type lostTimer struct {
	due       int64
	key       FlowKey
	id        uint32
	clientIsA bool
	side      Side
	counted   bool // the client's TIME_WAIT is in the build-up count (timewait.go), which it leaves when it ends
}

// minLostTimers is the least lostTimers are capped at: as many as the
// compact records with the default caps, so that caps set small still
// count a million TIME_WAITs within 2×MSL exactly.
const minLostTimers = 1 << 20

func (tm frozenTimer) dueAt() int64 { return tm.due }
func (tm lostTimer) dueAt() int64   { return tm.due }

// pushLostTW adds a lostTimer for each side in TIME_WAIT (states) of the
// connection of key k (id: its ID's low bits), due when it ends.
func (t *Tracker) pushLostTW(k *FlowKey, id uint32, clientIsA bool, states [2]State, due [2]int64, counted bool) {
	for s := Client; s <= Server; s++ {
		if states[s] != TimeWait {
			continue
		}
		tm := lostTimer{due: due[s], key: *k, id: id, clientIsA: clientIsA, side: s, counted: counted && s == Client}
		if len(t.lostTWs)+len(t.orphanTWs) >= t.maxLost {
			if len(t.lostTWs) > 0 && tm.due > t.lostTWs[0].due {
				tm, t.lostTWs[0] = t.lostTWs[0], tm
				t.lostTWs.fix(0)
			}
			t.evicted.TimeWaitAhead++
			t.runLost(tm, t.now, cNotFollowed) // the one due first, ahead of its time: no room left to follow it
			continue
		}
		t.lostTWs.push(tm)
	}
}

// expireLost ends the TIME_WAITs of lostTimers due by until.
func (t *Tracker) expireLost(until int64) {
	for len(t.lostTWs) > 0 && t.lostTWs[0].due <= until {
		tm := t.lostTWs.pop()
		t.runLost(tm, tm.due, cExpired)
	}
}

// runLost ends the TIME_WAIT of a lostTimer's side at at, for why.
func (t *Tracker) runLost(tm lostTimer, at int64, why cause) {
	t.forgottenLeftTW(tm.id, &tm.key, tm.clientIsA, tm.side, at, 0, why)
	if tm.counted {
		t.twLeaveKey(twKeyFor(&tm.key, tm.clientIsA)) // (timewait.go)
	}
}

// timerHeap is a min-heap of timers by due time: Records are frozen in the
// order their connections ended, by rank, and a side's TIME_WAIT need not
// begin with the connection's last segment, so the timers are not pushed
// in the order they are due.
type timerHeap[T interface{ dueAt() int64 }] []T

type (
	frozenTimers = timerHeap[frozenTimer]
	lostTimers   = timerHeap[lostTimer]
)

func (h *timerHeap[T]) push(tm T) {
	if len(*h) == cap(*h) {
		// Doubling, as fifo does: append grows a large slice by a quarter,
		// allocating five times what it ends with.
		grown := make([]T, len(*h), max(64, 2*cap(*h)))
		copy(grown, *h)
		*h = grown
	}
	*h = append(*h, tm)
	q := *h
	for i := len(q) - 1; i > 0; {
		up := (i - 1) / 2
		if q[up].dueAt() <= q[i].dueAt() {
			break
		}
		q[up], q[i] = q[i], q[up]
		i = up
	}
}

// pop removes the timer due first.
func (h *timerHeap[T]) pop() T {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	*h = q[:n]
	h.fix(0)
	return top
}

// fix moves the timer at i down to its place, once it is due later.
func (h *timerHeap[T]) fix(i int) {
	q, n := *h, len(*h)
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < n && q[l].dueAt() < q[least].dueAt() {
			least = l
		}
		if r < n && q[r].dueAt() < q[least].dueAt() {
			least = r
		}
		if least == i {
			return
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
}

// pushFrozenTW adds a timer for each side of r still in TIME_WAIT, r being
// the Record of rank rank numbered seq.
func (t *Tracker) pushFrozenTW(r *Record, rank int, seq uint32) {
	for s := Client; s <= Server; s++ {
		if r.states[s] == TimeWait {
			t.frozenTWs.push(frozenTimer{due: r.twSince[s] + t.twLen, seq: seq & twIdxMask, id: uint32(r.ID), rank: uint8(rank), side: s})
		}
	}
}

// expireFrozen closes the frozen sides whose TIME_WAIT ran out by until
// (at most now), and tells their compact records so: a FIN sent again
// after it no longer restarts it, and a SYN that takes over the 4-tuple
// no longer reuses a TIME_WAIT.
func (t *Tracker) expireFrozen(until int64) {
	for len(t.frozenTWs) > 0 && t.frozenTWs[0].due <= until {
		tm := t.frozenTWs.pop()
		if tm.rank == forgottenRank {
			t.expireForgotten(tm, until)
			continue
		}
		r := t.frozenAt(int(tm.rank), tm.seq, tm.id)
		if r == nil {
			continue // forgotten since
		}
		t.closeFrozen(r, 0, 0, cExpired)
		t.rearmed(tm, r.states[tm.side], r.twSince[tm.side]+t.twLen, until) // (one still in TIME_WAIT started over: it ends later)
		if tw := t.twRecs.get(&r.Key); tw != nil && t.frozenOf(tw) == r {
			for s := Client; s <= Server; s++ {
				if r.states[s] != TimeWait {
					tw.leaveTW(s)
				}
			}
		}
	}
}

// pushForgottenTW marks the compact record tw, in slot, of a connection
// forgotten now (counted: its client is in the build-up count), and adds a
// timer for each side in TIME_WAIT: states are its sides' states, due when
// each one's TIME_WAIT ends.
func (t *Tracker) pushForgottenTW(slot uint32, tw *twRecord, states [2]State, due [2]int64, counted bool) {
	tw.forgotten(counted)
	for s := Client; s <= Server; s++ {
		tm := frozenTimer{seq: slot, id: tw.id, rank: forgottenRank, side: s}
		switch {
		case states[s] == TimeWait && tw.inTW(s):
			tm.due = due[s]
		case states[s] == Closing && tw.state(s) == Closing: // (its FIN again: the timer waits for its TIME_WAIT)
			tm.due = t.now + t.twLen
		default:
			continue
		}
		t.frozenTWs.push(tm)
	}
}

// forgottenEnd is when the sides of the forgotten connection whose compact
// record has ID id end their TIME_WAIT, once one started over after it was
// forgotten (the record has no room for it): a FIN sent again, or the ACK
// of one (twrecords.go).
type forgottenEnd struct {
	id  uint32
	end [2]int64
}

// forgottenEndsAt notes that side s of the forgotten connection whose
// compact record r is in slot ends its TIME_WAIT at end.
func (t *Tracker) forgottenEndsAt(slot uint32, r *twRecord, s Side, end int64) {
	if t.forgottenEnds == nil {
		t.forgottenEnds = make(map[uint32]forgottenEnd)
	}
	e, ok := t.forgottenEnds[slot]
	if !ok || e.id != r.id {
		e = forgottenEnd{id: r.id}
	}
	e.end[s] = end
	t.forgottenEnds[slot] = e
}

// forgottenEndOf returns when side s of the forgotten connection whose
// compact record r is in slot ends its TIME_WAIT, due if it did not start
// over.
func (t *Tracker) forgottenEndOf(slot uint32, r *twRecord, s Side, due int64) int64 {
	if e, ok := t.forgottenEnds[slot]; ok && e.id == r.id {
		return max(due, e.end[s])
	}
	return due
}

// forgetEnds drops what forgottenEndsAt noted of r, whose TIME_WAITs end.
func (t *Tracker) forgetEnds(r *twRecord) {
	if len(t.forgottenEnds) == 0 {
		return
	}
	if slot, tw := t.twRecs.slotOf(&r.key); tw == r {
		if e, ok := t.forgottenEnds[slot]; ok && e.id == r.id {
			delete(t.forgottenEnds, slot)
		}
	}
}

// expireForgotten ends, by until, the TIME_WAIT of a forgotten
// connection's side, if its compact record still holds it; one started
// over since, or back in CLOSING, is given its timer again.
func (t *Tracker) expireForgotten(tm frozenTimer, until int64) {
	if tm.seq >= t.twRecs.used {
		return
	}
	r := t.twRecs.rec(tm.seq)
	if !r.used() || r.id != tm.id {
		t.expireOrphan(tm, until) // gone, taken over, or dropped before its TIME_WAIT ended
		return
	}
	if t.recConn(r) != nil || t.frozenOf(r) != nil {
		return // stored again
	}
	st := r.state(tm.side)
	end := t.forgottenEndOf(tm.seq, r, tm.side, tm.due)
	if t.rearmed(tm, st, end, until) || st != TimeWait {
		return
	}
	r.leaveTW(tm.side)
	t.forgottenLeftTW(r.id, &r.key, r.clientIsA(), tm.side, end, 0, cExpired)
	if tm.side == Client {
		t.uncount(r)
	}
}

// uncount takes the client of the forgotten connection whose compact
// record is r out of the build-up count, if it is in it (twCounted).
func (t *Tracker) uncount(r *twRecord) {
	if r.bits&twCounted != 0 {
		r.bits &^= twCounted
		t.twLeaveKey(twKeyFor(&r.key, r.clientIsA())) // (timewait.go)
	}
}

// rearmed sets tm again for its side, in state st, whose TIME_WAIT ends at
// end, if it has not ended by until: still in TIME_WAIT (it started over
// since the timer was set), for its end; back in CLOSING, for 2×MSL on,
// no later than a TIME_WAIT begun from now would end. It reports whether
// it did.
func (t *Tracker) rearmed(tm frozenTimer, st State, end, until int64) bool {
	switch {
	case st == TimeWait && end > until:
		tm.due = end
	case st == Closing:
		tm.due = max(tm.due, until) + t.twLen
	default:
		return false
	}
	t.frozenTWs.push(tm)
	return true
}

// forgottenLeftTW counts side s of a forgotten connection (the low bits of
// its ID, its key) CLOSED instead of TIME_WAIT from at, and tells it
// (OnFrozenTransition): its TIME_WAIT ran out (cExpired), or a new
// connection took over the 4-tuple. The build-up count is its caller's.
func (t *Tracker) forgottenLeftTW(id uint32, k *FlowKey, clientIsA bool, s Side, at int64, pkt uint64, why cause) {
	t.forgottenMove(t.latestID(id), k, clientIsA, trans{time: at, packet: pkt, why: why, side: s, from: TimeWait, to: Closed})
}

// forgottenMove counts a side of the forgotten connection of ID id and
// key k in its new state (tr.to for tr.from), and tells the transition.
func (t *Tracker) forgottenMove(id uint64, k *FlowKey, clientIsA bool, tr trans) {
	t.forgottenStep(k, clientIsA, tr.side, tr.from, tr.to) // (forgottensvc.go)
	t.tellForgotten(id, k, clientIsA, tr)
}

// tellForgotten tells a transition of the forgotten connection of ID id
// and key k to the hooks that want it.
func (t *Tracker) tellForgotten(id uint64, k *FlowKey, clientIsA bool, tr trans) {
	if t.cfg.OnFrozenTransition != nil {
		t.cfg.OnFrozenTransition(t.scratchRecord(id, k, clientIsA), tr.public())
	}
	if t.cfg.OnForgotten != nil {
		t.cfg.OnForgotten(tr.public())
	}
}

// scratchRecord returns the Record a transition of a forgotten connection
// is told with: what is left of it, its ID and key. It is the tracker's
// own, made again for each (OnFrozenTransition does not keep it), so that
// telling allocates nothing.
func (t *Tracker) scratchRecord(id uint64, k *FlowKey, clientIsA bool) *Record {
	t.scratch = Record{ID: id, Key: *k, clientIsA: clientIsA}
	return &t.scratch
}

// A forgotten connection's compact record can be dropped (evictParked: the
// table of them is full) while a side is in TIME_WAIT, before its timer
// (pushForgottenTW) is due: until, when it would end at the latest, is 2×MSL
// after its last segment, often an RTT after its TIME_WAIT began. So the
// timer ends it when it is due, from what orphanTWs keeps of the record.

// orphanRef names a dropped compact record as its timers do: by its slot
// and the low bits of its connection's ID.
type orphanRef struct{ slot, id uint32 }

// orphanTW is what the timers of a dropped compact record read of it: the
// sides still in TIME_WAIT, and when each ends if it started over since it
// was forgotten (forgottenEnds).
type orphanTW struct {
	key       FlowKey
	end       [2]int64
	inTW      [2]bool
	clientIsA bool
}

// orphan keeps for its timers what is left of r, the compact record of a
// forgotten connection dropped now, if a side is in TIME_WAIT. orphanTWs
// and lostTWs together hold at most maxLost: beyond it, pushLostTW takes
// the TIME_WAIT due first as over.
func (t *Tracker) orphan(r *twRecord) {
	slot, _ := t.twRecs.slotOf(&r.key)
	o := orphanTW{key: r.key, clientIsA: r.clientIsA()}
	var states [2]State
	for s := Client; s <= Server; s++ {
		if r.inTW(s) {
			o.inTW[s], states[s] = true, TimeWait
			o.end[s] = t.forgottenEndOf(slot, r, s, 0)
		}
	}
	t.forgetEnds(r)
	if !o.inTW[Client] && !o.inTW[Server] {
		return
	}
	if len(t.lostTWs)+len(t.orphanTWs) >= t.maxLost {
		t.pushLostTW(&r.key, r.id, r.clientIsA(), states, [2]int64{r.until, r.until}, false) // (one taken as over now)
		return
	}
	if t.orphanTWs == nil {
		t.orphanTWs = make(map[orphanRef]orphanTW)
	}
	t.orphanTWs[orphanRef{slot, r.id}] = o
}

// expireOrphan ends, by until, the TIME_WAIT of the side of tm's dropped
// compact record, if orphanTWs holds it; one started over is given its
// timer again.
func (t *Tracker) expireOrphan(tm frozenTimer, until int64) {
	ref := orphanRef{tm.seq, tm.id}
	o, ok := t.orphanTWs[ref]
	if !ok || !o.inTW[tm.side] {
		return
	}
	end := max(tm.due, o.end[tm.side])
	if end > until {
		tm.due = end
		t.frozenTWs.push(tm)
		return
	}
	o.inTW[tm.side] = false
	t.forgottenLeftTW(tm.id, &o.key, o.clientIsA, tm.side, end, 0, cExpired)
	if o.inTW[tm.side.Peer()] {
		t.orphanTWs[ref] = o
	} else {
		delete(t.orphanTWs, ref)
	}
}
