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
// succeeds it: when the one evicted is forgotten (at once if it was
// already), it leaves the counts of connections and of states (its
// findings stay counted), and the new one, counted as it goes on, stands
// for both. The connections evicted open and forgotten last are
// remembered for this by 4-tuple (as many as recentEvicted holds), with
// what they were counted as and where each sender had got to in sequence
// space, which a successor's first segment must go on from; so are the
// successors waiting for theirs to be forgotten. Only a connection answered
// both ways, with no side in TIME_WAIT (whose count moves on as it runs
// out), and not a SYN flood's, is taken over; a frozen one never forgotten
// stays listed as it was.
type forgottenOpen struct {
	m        map[FlowKey]forgottenOpenRec
	order    fifo[FlowKey]
	awaiting map[FlowKey]uint64 // the ID of a successor whose predecessor was not forgotten yet
	awaitOrd fifo[FlowKey]
}

// forgottenOpenRec is what was counted of a connection evicted open and
// forgotten, and where its endpoints had got to.
type forgottenOpenRec struct {
	id        uint64
	states    [2]State        // by side, as counted
	nxt       [2]seqnum.Value // by endpoint, A's first: one past what it sent
	nxtValid  [2]bool
	clientIsA bool
}

// A successor's first segment may be this far past where its predecessor's
// sender had got to in sequence space, or this far before (a
// retransmission): more than any window without scaling beyond 2^14, less
// than half the sequence space.
const (
	successorAhead  = 1 << 30
	successorBehind = 1 << 24
)

// forgottenOpenOf returns what is remembered of c, forgotten now, if it
// may be taken over: evicted open, answered, no side in TIME_WAIT, not the
// flood's.
func forgottenOpenOf(c *Conn, other bool) (forgottenOpenRec, bool) {
	if !c.Evicted || other || c.floodsOwn() {
		return forgottenOpenRec{}, false
	}
	rec := forgottenOpenRec{id: c.ID, clientIsA: c.clientIsA}
	for s := Client; s <= Server; s++ {
		h := &c.half[s]
		if h.state == TimeWait {
			return forgottenOpenRec{}, false
		}
		rec.states[s] = h.state
		e := endpointOf(s, c.clientIsA)
		rec.nxt[e], rec.nxtValid[e] = h.nxt, h.nxtValid
	}
	return rec, true
}

// forgottenOpenOfRecord is forgottenOpenOf for a frozen Record, whose
// sequence numbers are not kept.
func forgottenOpenOfRecord(r *Record, other bool) (forgottenOpenRec, bool) {
	if !r.Evicted || other || r.embryonic || r.states[Client] == TimeWait || r.states[Server] == TimeWait {
		return forgottenOpenRec{}, false
	}
	return forgottenOpenRec{id: r.ID, states: r.states, clientIsA: r.clientIsA}, true
}

// endpointOf returns the endpoint (0: A, 1: B) side s of a connection is.
func endpointOf(s Side, clientIsA bool) int {
	if (s == Client) == clientIsA {
		return 0
	}
	return 1
}

// rememberForgottenOpen notes a connection evicted open and forgotten just
// now, counted already: taken over at once by a successor waiting for it,
// else remembered for one to come.
func (t *Tracker) rememberForgottenOpen(k *FlowKey, rec forgottenOpenRec) {
	f := &t.forgottenOpen
	if id, ok := f.awaiting[*k]; ok {
		delete(f.awaiting, *k)
		if id > rec.id {
			t.uncountForgotten(k, &rec)
			return
		}
	}
	if f.m == nil {
		f.m = make(map[FlowKey]forgottenOpenRec)
	}
	if _, ok := f.m[*k]; !ok {
		if f.order.len() >= t.recentSize() {
			delete(f.m, f.order.pop())
		}
		f.order.push(*k)
	}
	f.m[*k] = rec
}

// succeed makes c, just picked up mid-stream at seg, the successor of the
// connection evicted open last on its 4-tuple: of the one forgotten, if
// seg goes on from where its sender had got to; else, if one was evicted
// open recently, of that one once it is forgotten.
func (t *Tracker) succeed(c *Conn, seg *Segment, fromA bool) {
	if !c.Midstream || seg.Flags&SYN != 0 {
		return
	}
	f := &t.forgottenOpen
	if rec, ok := f.m[c.Key]; ok {
		delete(f.m, c.Key) // (its place in order goes when it comes up)
		if e := endpointOfSender(fromA); rec.nxtValid[e] {
			if d := seg.Seq.Sub(rec.nxt[e]); d > successorAhead || d < -successorBehind {
				return
			}
		}
		t.uncountForgotten(&c.Key, &rec)
		return
	}
	if !t.recent.has(t.table.hash(&c.Key)) {
		return
	}
	if f.awaiting == nil {
		f.awaiting = make(map[FlowKey]uint64)
	}
	if _, ok := f.awaiting[c.Key]; !ok {
		if f.awaitOrd.len() >= t.recentSize() {
			delete(f.awaiting, f.awaitOrd.pop())
		}
		f.awaitOrd.push(c.Key)
	}
	f.awaiting[c.Key] = c.ID
}

// endpointOfSender returns the endpoint (0: A, 1: B) a segment came from.
func endpointOfSender(fromA bool) int {
	if fromA {
		return 0
	}
	return 1
}

// uncountForgotten takes a forgotten connection, taken over, out of the
// counts of connections and of states; its findings stay counted.
func (t *Tracker) uncountForgotten(k *FlowKey, rec *forgottenOpenRec) {
	t.evicted.Forgotten--
	t.evicted.TakenOver++
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
