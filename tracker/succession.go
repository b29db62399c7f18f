package tracker

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// A connection evicted open from the full flow table and no longer kept
// whole (frozen or forgotten, beyond --keep) cannot be brought back by its
// next segment (readmit): that segment opens a new connection, picked up
// mid-stream. Counted as it was forgotten and again as the new one, it
// would be two connections, the first left as it was evicted, ESTABLISHED
// say, for ever: with 2,000 connections open at once through --max-conns
// 1000 --keep 1000, 37,787 connections instead of 20,000.
//
// So a connection picked up mid-stream on the 4-tuple of one evicted open
// succeeds it: it takes over what the one evicted knew of its sides (past
// the handshake, where each had got to in sequence space, each one's FIN
// and its acknowledgment: closeFacts), and when the one evicted is
// forgotten (at once if it was already) it leaves the counts of
// connections and of states (its findings stay counted); the new one,
// counted as it goes on, stands for both. One frozen to the end of input
// with no finding leaves the report then. The connections evicted open and
// no longer kept whole last are remembered for this by 4-tuple (as many as
// recentEvicted holds), from when they are frozen or forgotten, with what
// they were counted as; so are the successors waiting for theirs to be
// forgotten. A successor's first segment must go on from where its
// sender had got to. A connection with a side in TIME_WAIT (whose count
// moves on as it runs out) or a SYN flood's is not taken over.
type forgottenOpen struct {
	m        lastKeys[forgottenOpenRec]
	awaiting lastKeys[uint64] // the ID of a successor whose predecessor was not forgotten yet
}

// lastKeys maps the 4-tuples put last to a value, as many as the size
// each put is given: beyond it the oldest goes. (A 4-tuple deleted and put
// again keeps its first place in the order, and goes from there.)
type lastKeys[V any] struct {
	m     map[FlowKey]V
	order fifo[FlowKey]
}

func (l *lastKeys[V]) get(k *FlowKey) (V, bool) {
	v, ok := l.m[*k]
	return v, ok
}

func (l *lastKeys[V]) put(k *FlowKey, v V, size int) {
	if l.m == nil {
		l.m = make(map[FlowKey]V)
	}
	if _, ok := l.m[*k]; !ok {
		if l.order.len() >= size {
			delete(l.m, l.order.pop())
		}
		l.order.push(*k)
	}
	l.m[*k] = v
}

func (l *lastKeys[V]) del(k *FlowKey) { delete(l.m, *k) } // (its place in order goes when it comes up)

func (l *lastKeys[V]) len() int { return len(l.m) }

// forgottenOpenRec is what was counted of a connection evicted open and
// forgotten, and where its endpoints had got to.
type forgottenOpenRec struct {
	id        uint64
	first     int64         // capture time of its first segment
	states    [2]State      // by side, as counted
	sides     [2]closeFacts // by side, with facts
	facts     bool          // sides holds them: both sides past the handshake, not a frozen Record's
	counted   bool          // forgotten, and counted so; else frozen
	other     bool          // of the lower rank: counted in ForgottenUnanswered too
	rank      uint8         // frozen (not counted): its Record's rank and number (frozenAt)
	seq       uint32
	clientIsA bool
}

// closeFacts is what a successor takes over of a side: where it had got
// to in sequence space, and its FIN.
type closeFacts struct {
	finTime, finLast   int64
	nxt, finSeq        seqnum.Value
	nxtValid, finSent  bool
	finFirst, finAcked bool
	peerFin            bool
}

func closeFactsOf(h *Half) closeFacts {
	return closeFacts{finTime: h.finTime, finLast: h.finLast, nxt: h.nxt, finSeq: h.finSeq, nxtValid: h.nxtValid,
		finSent: h.finSent, finFirst: h.finFirst, finAcked: h.finAcked, peerFin: h.peerFin}
}

// takeOver gives h, a side just picked up mid-stream, what its
// predecessor's side knew: past its handshake, and its FIN.
func (f *closeFacts) takeOver(h *Half) {
	h.synchronize()
	h.nxt, h.nxtValid = f.nxt, f.nxtValid
	h.finSent, h.finFirst, h.finAcked, h.peerFin = f.finSent, f.finFirst, f.finAcked, f.peerFin
	h.finSeq, h.finTime, h.finLast = f.finSeq, f.finTime, f.finLast
}

// A successor's first segment may be this far past where its predecessor's
// sender had got to in sequence space, or this far before (a
// retransmission): more than any window without scaling beyond 2^14, less
// than half the sequence space.
const (
	successorAhead  = 1 << 30
	successorBehind = 1 << 24
)

// forgottenOpenOf returns what is remembered of c, frozen or forgotten
// now: evicted open, past its handshake, not the flood's. One with a side
// in TIME_WAIT is not taken over, only followed to its end (finAcked).
func forgottenOpenOf(c *Conn, other bool) (forgottenOpenRec, bool) {
	if !c.Evicted || c.embryonic() || c.floodsOwn() {
		return forgottenOpenRec{}, false // (a handshake's answer finds it waiting, evictedsyn.go)
	}
	rec := forgottenOpenRec{id: c.ID, first: c.First, clientIsA: c.clientIsA, facts: true, other: other}
	for s := Client; s <= Server; s++ {
		h := &c.half[s]
		rec.states[s] = h.state
		rec.sides[s] = closeFactsOf(h)
		if h.state < Established {
			rec.facts = false // (not past its handshake, or reset: nothing to go on from)
		}
	}
	return rec, true
}

// forgottenOpenOfRecord is forgottenOpenOf for a frozen Record, whose
// sequence numbers are not kept (what was noted of it as it was frozen
// has them, noteNotWhole).
func forgottenOpenOfRecord(r *Record, other bool) (forgottenOpenRec, bool) {
	if !r.Evicted || r.embryonic || r.states[Client] < Established || r.states[Server] < Established ||
		r.states[Client] == TimeWait || r.states[Server] == TimeWait {
		return forgottenOpenRec{}, false
	}
	return forgottenOpenRec{id: r.ID, first: r.First, states: r.states, clientIsA: r.clientIsA, counted: true, other: other}, true
}

// noteNotWhole notes a connection evicted open and no longer kept whole:
// frozen just now, or forgotten and counted (rec.counted). One forgotten
// is taken over at once by a successor waiting for it; else it is
// remembered for one to come, with what was noted of it as it was frozen.
func (t *Tracker) noteNotWhole(k *FlowKey, rec forgottenOpenRec) {
	f := &t.forgottenOpen
	if rec.counted {
		if id, ok := f.awaiting.get(k); ok {
			f.awaiting.del(k)
			if id > rec.id {
				if old, ok := f.m.get(k); ok && old.id == rec.id {
					f.m.del(k)
				}
				t.uncountForgotten(k, &rec)
				return
			}
		}
		if old, ok := f.m.get(k); ok && old.id == rec.id && !rec.facts {
			old.states, old.counted, old.other = rec.states, true, rec.other
			rec = old // (frozen first: what was noted then)
		}
	}
	f.m.put(k, rec, t.recentSize())
}

// succeed makes c, just picked up mid-stream at seg, the successor of the
// connection evicted open last on its 4-tuple, no longer kept whole, if
// seg goes on from where its sender had got to: c takes over what it knew
// of its sides, and it leaves the counts, at once if it was forgotten,
// else when it is. One evicted open recently but no longer remembered is
// succeeded all the same, once it is forgotten.
func (t *Tracker) succeed(c *Conn, seg *Segment, fromA bool) {
	if !c.Midstream || seg.Flags&SYN != 0 {
		return
	}
	f := &t.forgottenOpen
	rec, ok := f.m.get(&c.Key)
	if ok && rec.inTimeWait() {
		return
	}
	if ok {
		f.m.del(&c.Key)
		sender := rec.sides[sideOf(fromA, rec.clientIsA)]
		if d := seg.Seq.Sub(sender.nxt); rec.facts && sender.nxtValid && (d > successorAhead || d < -successorBehind) {
			return
		}
		if rec.facts {
			c.clientIsA = rec.clientIsA // (the roles as its handshake told them)
			for s := Client; s <= Server; s++ {
				rec.sides[s].takeOver(&c.half[s])
				t.settle(c, s, seg.Time, seg.Packet, cMidstream)
			}
		}
		if rec.counted {
			t.lateEnded(&c.Key, rec.id, seg.Time) // (evictedjudge.go)
			t.uncountForgotten(&c.Key, &rec)
			return
		}
	} else if len(t.recent.n) == 0 || !t.recent.has(t.table.hash(&c.Key)) {
		return
	}
	f.awaiting.put(&c.Key, c.ID, t.recentSize())
}

// takenOverFrozen reports whether r, frozen, was evicted open and taken
// over by a successor still waiting for it at the end of input: the report
// leaves it out, unless a finding of its own is to be told.
func (t *Tracker) takenOverFrozen(r *Record) bool {
	if !r.Evicted || r.found != [2]uint32{} || r.open != nil || r.late != nil {
		return false
	}
	id, ok := t.forgottenOpen.awaiting.get(&r.Key)
	return ok && id > r.ID
}

// forgottenSegment applies seg, for no connection followed, to the
// connection evicted open and forgotten on its 4-tuple, if it ends it: the
// ACK of the FIN of a side in LAST_ACK or FIN_WAIT_1 (finAcked), or an RST
// that aborts it (forgottenReset). Neither is answered, so neither opens
// a connection (lone.go) to take the forgotten one over: its sides would
// stay counted in their states for ever, and its abort would be no
// finding. It reports whether seg is then the forgotten connection's own,
// no lone segment: an abort, or a bare ACK. (One with a FIN or data is
// held as a lone segment still, so that its answer opens the connection
// that takes the forgotten one over.)
func (t *Tracker) forgottenSegment(k *FlowKey, seg *Segment, fromA bool) (own bool) {
	f := &t.forgottenOpen
	rec, ok := f.m.get(k)
	if !ok || !rec.facts {
		return false
	}
	fr := t.frozenOpen(&rec)
	if fr == nil && !rec.counted {
		return false // (frozen, and forgotten since)
	}
	var ends bool
	switch seg.Flags & (ACK | RST | SYN) {
	case ACK:
		ends = t.finAcked(k, &rec, fr, seg, fromA)
		own = ends && seg.Flags&FIN == 0 && seg.Payload == 0
	case RST, RST | ACK:
		ends = t.forgottenReset(k, &rec, fr, seg, fromA)
		own = ends
	}
	if !ends {
		return false
	}
	f.m.put(k, rec, t.recentSize())
	if fr != nil {
		fr.packets[sideOf(fromA, rec.clientIsA)]++ // (a frozen one's Record counts its segments)
		fr.Last = seg.Time
	}
	return own
}

// finAcked: seg acknowledges the FIN of rec's side in LAST_ACK, which is
// CLOSED, or in FIN_WAIT_1, which goes on to FIN_WAIT_2, counted (or, rec
// frozen, its Record fr moved on) and told so.
// (The last ACK of a connection whose client is in TIME_WAIT is answered
// by nothing; nor is the ACK of a FIN its peer does not answer with its
// own, a server stuck in CLOSE_WAIT say.)
func (t *Tracker) finAcked(k *FlowKey, rec *forgottenOpenRec, fr *Record, seg *Segment, fromA bool) bool {
	p := sideOf(fromA, rec.clientIsA).Peer()
	fin := &rec.sides[p]
	if !fin.finSent || seg.Ack != fin.finSeq+1 {
		return false
	}
	to := Closed
	switch rec.states[p] {
	case LastAck:
	case FinWait1:
		to = FinWait2
	default:
		return false
	}
	t.lateFinAcked(k, rec.id, fr, p, to, seg.Time) // (evictedjudge.go)
	t.moveNotWhole(k, rec, fr, trans{time: seg.Time, packet: seg.Packet, why: cFinAcked, side: p, from: rec.states[p], to: to})
	rec.states[p], fin.finAcked = to, true
	return true
}

// forgottenReset: seg, an RST, carries exactly the sequence number its
// sender had got to (as an abort's does, RFC 793 §3.4; RFC 5961 §3.2: one
// merely in the window is challenged, and the connection may go on), and
// neither side is closed or in TIME_WAIT: it aborts the connection. Both
// sides are CLOSED, counted and told so, and the abort is a finding, as it
// is of a connection followed, counted for its service too (rec frozen:
// on its Record fr).
func (t *Tracker) forgottenReset(k *FlowKey, rec *forgottenOpenRec, fr *Record, seg *Segment, fromA bool) bool {
	s := sideOf(fromA, rec.clientIsA)
	sender := &rec.sides[s]
	if !sender.nxtValid || seg.Seq != sender.nxt {
		return false
	}
	for _, st := range rec.states {
		if st == Closed || st == TimeWait {
			return false
		}
	}
	for p := Client; p <= Server; p++ {
		why := cRstRcvd
		if p == s {
			why = cRstSent
		}
		t.moveNotWhole(k, rec, fr, trans{time: seg.Time, packet: seg.Packet, why: why, side: p, from: rec.states[p], to: Closed})
		rec.states[p] = Closed
	}
	t.lateEnded(k, rec.id, seg.Time) // (evictedjudge.go)
	a := abortFinding(endpointOf(k, rec.clientIsA, s), s, seg.Time, rec.first)
	a.Conn, a.Target = rec.id, k.endpoint(!rec.clientIsA)
	t.emit(nil, a)
	if fr != nil {
		fr.found[s] |= 1 << Reset // (its service counts it from its Record)
	} else if sv := t.forgottenService(k, rec.clientIsA, false); sv != nil {
		sv.Findings[Reset]++
	}
	return true
}

// inTimeWait reports whether a side is in TIME_WAIT: its count moves on
// as it runs out, so it is not taken over, only followed to its end
// (finAcked).
func (r *forgottenOpenRec) inTimeWait() bool {
	return r.states[Client] == TimeWait || r.states[Server] == TimeWait
}

// uncountForgotten takes a forgotten connection, taken over, out of the
// counts of connections and of states; its findings stay counted.
func (t *Tracker) uncountForgotten(k *FlowKey, rec *forgottenOpenRec) {
	t.evicted.Forgotten--
	t.evicted.TakenOver++
	if rec.other {
		t.evicted.ForgottenUnanswered--
	}
	for s, st := range rec.states {
		t.forgotten[s][st]--
	}
	sv := t.forgottenService(k, rec.clientIsA, false)
	if sv == nil || sv.Conns == 0 {
		return
	}
	sv.Conns--
	for s, st := range rec.states {
		if sv.States[s][st] > 0 {
			sv.States[s][st]--
		}
	}
}

// frozenOpen returns the frozen Record of rec, a connection evicted open
// and frozen, not forgotten since; nil if rec was forgotten (counted), or
// its Record since.
func (t *Tracker) frozenOpen(rec *forgottenOpenRec) *Record {
	if rec.counted {
		return nil
	}
	return t.frozenAt(int(rec.rank), rec.seq, uint32(rec.id))
}

// moveNotWhole makes tr, a side's move, in rec, a connection evicted open
// and no longer kept whole: one forgotten is counted in its new state
// (forgottenMove); one frozen, whose Record is fr, has its Record's state
// and transitions moved on, as a whole one would, and the move told.
func (t *Tracker) moveNotWhole(k *FlowKey, rec *forgottenOpenRec, fr *Record, tr trans) {
	if fr == nil {
		t.forgottenMove(rec.id, k, rec.clientIsA, tr)
		return
	}
	fr.states[tr.side] = tr.to
	if t.cfg.FrozenTransitions {
		fr.trs = append(fr.trs, tr)
	}
	if t.cfg.OnFrozenTransition != nil {
		t.cfg.OnFrozenTransition(fr, tr.public())
	}
}
