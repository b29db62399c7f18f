package tracker

import "time"

// A handshake in progress that the full flow table evicts (evictEmbryo)
// is not known to have failed: on a busy server whose open connections
// outnumber --max-conns, most are evicted within their round trip, and
// their SYN-ACK and ACK then follow. Counted as unanswered SYNs, they made
// every busy service a SYN flood. So the SYN of one evicted before its
// target is found under a flood waits here: a segment of its 4-tuple
// within evictedWait answers it (it counts for nothing); past that, or
// pushed out by maxEvictedSYNs more, or at the end of input, it counts as
// failed. A real flood that overflows the table is still found, its SYNs
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
	waiting map[FlowKey]uint64
	next    uint64
}

const (
	evictedWait    = time.Second
	maxEvictedSYNs = 1 << 14
)

// evictedSYN holds the SYN of c, a handshake in progress being evicted.
func (t *Tracker) holdEvictedSYN(c *Conn) {
	w := &t.evictedSYNs
	if w.waiting == nil {
		w.waiting = make(map[FlowKey]uint64)
	}
	ft := c.flood
	c.flood = nil
	ft.halfOpen--
	w.next++
	w.waiting[c.Key] = w.next
	w.q.push(evictedSYN{failedSYN: failedSYN{key: c.Key, clientIsA: c.clientIsA, first: c.First, verdict: verdictOf(c, t.now)},
		ft: ft, evicted: t.now, seq: w.next})
	t.settleEvictedSYNs(false)
}

// answeredEvictedSYN notes a segment of 4-tuple k that is in no table: an
// evicted SYN of k waiting is answered.
func (t *Tracker) answeredEvictedSYN(k *FlowKey) {
	if len(t.evictedSYNs.waiting) > 0 {
		delete(t.evictedSYNs.waiting, *k)
	}
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
		if seq, ok := w.waiting[e.key]; ok && seq == e.seq {
			delete(w.waiting, e.key)
			t.floodCount(e.ft, e.failedSYN, e.first)
		}
		w.q.pop()
	}
}
