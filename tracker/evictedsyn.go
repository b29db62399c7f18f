package tracker

import "time"

// A handshake in progress that the full flow table evicts (evictEmbryo)
// is not known to have failed: on a busy server whose open connections
// outnumber --max-conns, most are evicted within their round trip, and
// their SYN-ACK and ACK then follow. Counted as unanswered SYNs, they made
// every busy service a SYN flood. So the SYN of one evicted before its
// target is found under a flood waits here: its client's next segment or
// an RST within evictedWait answers it (it counts for nothing;
// evictedSYNFor); past that, or pushed out by maxEvictedSYNs more, or at
// the end of input, it counts as failed. A real flood that overflows the table is still found, its SYNs
// counted at most evictedWait late (or maxEvictedSYNs evictions later,
// whichever is sooner).

// evictedSYN is the SYN of an evicted handshake, waiting.
type evictedSYN struct {
	failedSYN
	ft      *floodTarget
	evicted int64  // when
	seq     uint64 // its number, to find whether it was answered since
}

// evictedSYNs holds them, oldest first, and by 4-tuple the number of the
// latest one still waiting.
type evictedSYNs struct {
	q       fifo[evictedSYN]
	waiting map[FlowKey]waitingSYN
	next    uint64
}

// waitingSYN is the latest evicted SYN of a 4-tuple still waiting.
type waitingSYN struct {
	seq       uint64
	clientIsA bool
}

const (
	evictedWait    = time.Second
	maxEvictedSYNs = 1 << 14
)

// holdEvictedSYN holds the SYN of c, a handshake in progress being evicted.
func (t *Tracker) holdEvictedSYN(c *Conn) {
	w := &t.evictedSYNs
	if w.waiting == nil {
		w.waiting = make(map[FlowKey]waitingSYN)
	}
	ft := c.flood
	c.flood = nil
	ft.halfOpen--
	w.next++
	w.waiting[c.Key] = waitingSYN{seq: w.next, clientIsA: c.clientIsA}
	w.q.push(evictedSYN{failedSYN: failedSYN{key: c.Key, clientIsA: c.clientIsA, first: c.First, verdict: verdictOf(c, t.now)},
		ft: ft, evicted: t.now, seq: w.next})
	t.settleEvictedSYNs(false)
}

// evictedSYNFor judges a segment of 4-tuple k (fromA: sent by its
// endpoint A) for an evicted SYN of k waiting: a segment of its client
// (the SYN again, the ACK of the SYN-ACK, data) or an RST (a refusal)
// answers it. It reports whether one still waits: after the server's
// SYN-ACK alone (a server under a flood answers spoofed SYNs too, with
// SYN cookies) the client's answer must follow, on the connection the
// SYN-ACK opens (Conn.heldSYN).
func (t *Tracker) evictedSYNFor(k *FlowKey, seg *Segment, fromA bool) bool {
	w := &t.evictedSYNs
	if len(w.waiting) == 0 {
		return false
	}
	e, ok := w.waiting[*k]
	if !ok {
		return false
	}
	if seg.Flags&RST != 0 || fromA == e.clientIsA {
		delete(w.waiting, *k)
		return false
	}
	return true
}

// settleEvictedSYNs counts as failed the evicted SYNs that waited their
// time or for which there is no room, or all of them (end of input).
func (t *Tracker) settleEvictedSYNs(all bool) {
	w := &t.evictedSYNs
	for w.q.len() > 0 {
		e := w.q.front()
		if !all && w.q.len() <= maxEvictedSYNs && t.now-e.evicted <= int64(evictedWait) {
			return
		}
		if ws, ok := w.waiting[e.key]; ok && ws.seq == e.seq {
			delete(w.waiting, e.key)
			t.floodCount(e.ft, e.failedSYN, e.first)
		}
		w.q.pop()
	}
}
