package tracker

// A handshake in progress that the full flow table evicts (evictEmbryo)
// is not known to have failed: on a busy server whose open connections
// outnumber --max-conns, most are evicted within their round trip, and
// their SYN-ACK and ACK then follow. Counted as unanswered SYNs, they made
// every busy service a SYN flood; dropped, their answers opened
// connections picked up mid-stream, and an RST that refused one refused
// nothing. So one evicted before its target is found under a flood waits
// here, whole, out of the table, until its handshake would time out in
// the table (Thresholds.HandshakeTimeout after its SYN): a segment of its
// 4-tuple by then brings it back into the table (evictedSYNFor), and is
// applied to it as if it had never left; past that, or pushed out by
// maxHeldSYNs more, its SYN counts as failed, as it would in the table,
// and it is dropped; at the end of input, its SYN counts as failed, and it
// is listed, as a handshake still in the table is. A real flood that
// overflows the table is still found, its SYNs counted when they time
// out, or maxHeldSYNs evictions later, whichever is sooner.

// evictedSYN is the SYN of an evicted handshake, waiting.
type evictedSYN struct {
	failedSYN
	seq uint64 // its number, to find whether it was answered since (waitingSYN)
}

// evictedSYNs holds them, oldest first, and by 4-tuple the number of the
// latest one still waiting.
type evictedSYNs struct {
	q       fifo[evictedSYN]
	waiting map[FlowKey]waitingSYN
	next    uint64
}

// waitingSYN is the latest evicted SYN of a 4-tuple still waiting: its
// connection, out of the table, and the flood target it counts for.
type waitingSYN struct {
	seq uint64
	c   *Conn
	ft  *floodTarget
}

const maxEvictedSYNs = 1 << 14

// maxHeldSYNs is how many evicted handshakes wait at most: maxEvictedSYNs
// (20 MB of connections), or four times the flow table if that is fewer,
// 4,096 at least, so that memory stays within what the caps allow. With
// 1,024 at --max-conns 2, a busy server's 3,000 handshakes in progress
// were dropped before their answers came, and made a SYN flood.
func (t *Tracker) maxHeldSYNs() int { return min(maxEvictedSYNs, max(4096, 4*t.maxConns)) }

// holdEvictedSYN holds c, a handshake in progress being evicted, out of
// the table.
func (t *Tracker) holdEvictedSYN(c *Conn) {
	w := &t.evictedSYNs
	if w.waiting == nil {
		w.waiting = make(map[FlowKey]waitingSYN)
	}
	ft := c.flood
	c.flood = nil
	ft.halfOpen--
	w.next++
	w.waiting[c.Key] = waitingSYN{seq: w.next, c: c, ft: ft}
	w.q.push(evictedSYN{failedSYN: failedSYN{key: c.Key, clientIsA: c.clientIsA, first: c.First, verdict: verdictOf(c, t.now)},
		seq: w.next})
	t.letGoPending(c)
	t.unlink(c)
	t.settleEvictedSYNs(false)
}

// evictedSYNFor brings back into the table the handshake of 4-tuple k
// evicted and waiting, if there is one, for a segment of k: it returns it,
// or nil.
func (t *Tracker) evictedSYNFor(k *FlowKey) *Conn {
	w := &t.evictedSYNs
	if len(w.waiting) == 0 {
		return nil
	}
	e, ok := w.waiting[*k]
	if !ok {
		return nil
	}
	delete(w.waiting, *k)
	c := e.c
	for t.table.len() >= t.maxConns && t.evictOne() {
	}
	t.table.put(c)
	c.inTable = true
	c.flood = e.ft
	e.ft.halfOpen++
	t.evicted.Embryonic--
	t.evicted.Readmitted++
	t.pushEvictable(&t.lru, timerOf(c, c.Last)) // (its entry may have gone while it waited)
	if due := c.First + int64(t.th.HandshakeTimeout); due > t.now {
		t.handshakes.push(timerOf(c, due))
	} else {
		t.pushEvictable(&t.embryos, timerOf(c, t.now))
	}
	return c
}

// settleEvictedSYNs counts as failed the evicted SYNs that waited their
// time or for which there is no room, or all of them (end of input).
func (t *Tracker) settleEvictedSYNs(all bool) {
	w := &t.evictedSYNs
	for w.q.len() > 0 {
		e := w.q.front()
		if !all && w.q.len() <= t.maxHeldSYNs() && t.now < e.first+int64(t.th.HandshakeTimeout) {
			return
		}
		if ws, ok := w.waiting[e.key]; ok && ws.seq == e.seq {
			delete(w.waiting, e.key)
			t.floodCount(ws.ft, e.failedSYN, e.first)
			if all {
				t.evicted.Embryonic-- // listed, as one still in the table is at the end
			} else {
				t.drop(ws.c)
			}
		}
		w.q.pop()
	}
}
