package tracker

// newConn starts a connection at its first segment and decides the roles:
// the sender of a SYN is the client, the sender of a SYN-ACK the server;
// otherwise the well-known or lower port is the server's (mid-stream).
func (t *Tracker) newConn(k FlowKey, seg *Segment, fromA bool) *Conn {
	for t.table.len() >= t.maxConns && t.evictOne() {
	}
	t.compactIfSparse() // (a flood's dropped connections leave holes, and no connection ends to compact them)
	t.nextID++
	c := t.spares.take()
	*c = Conn{ID: t.nextID, Key: k, First: seg.Time, Last: seg.Time}
	c.half[0].wscale, c.half[1].wscale = -1, -1
	senderIsClient := true
	switch {
	case seg.Flags&(SYN|ACK) == SYN:
	case seg.Flags&(SYN|ACK) == SYN|ACK:
		senderIsClient = false
		c.Midstream = true
	default:
		c.Midstream = true
		senderIsClient = serverPort(seg.DstPort, seg.SrcPort)
	}
	c.clientIsA = fromA == senderIsClient
	if c.Midstream && seg.Flags&(SYN|RST|ACK) == ACK {
		// An ordinary segment of an established connection: both ends are
		// taken to be past their handshake.
		for s := Client; s <= Server; s++ {
			c.half[s].synchronize()
			t.settle(c, s, seg.Time, seg.Packet, cMidstream)
		}
	}
	c.idx = int32(len(t.conns))
	t.conns = append(t.conns, c)
	t.table.put(c)
	c.inTable = true
	tm := timerOf(c, seg.Time+int64(t.th.HandshakeTimeout))
	if !c.Midstream {
		t.handshakes.push(tm)
	}
	t.pushEvictable(&t.lru, timerOf(c, c.Last))
	t.succeed(c, seg, fromA) // (succession.go)
	return c
}

// evictOne drops one connection from the full flow table, losing the
// least: a handshake that timed out (an unanswered SYN), or the oldest
// still in progress to a target found under a SYN flood (the flood's own);
// else the least recently active connection past its handshake
// (idlest), if it was idle for longer than Thresholds.Stuck (a
// connection idle that long has to be flagged, or is a keepalive's); else
// the oldest handshake still in progress; else that connection all the
// same. (Connections that ended are not in the table: they wait out
// TIME_WAIT as compact records, twrecords.go, so a SYN waiting for its
// answer is never dropped for one.) It reports false if the table is empty.
func (t *Tracker) evictOne() bool {
	if t.evictEmbryo(&t.embryos) || t.floodsOldest() && t.evictEmbryo(&t.handshakes) {
		return true
	}
	victim := t.idlest()
	if victim != nil && t.now-victim.Last < int64(t.th.Stuck) && t.evictEmbryo(&t.handshakes) {
		return true
	}
	if victim == nil {
		return t.evictEmbryo(&t.handshakes)
	}
	victim.Evicted = true
	t.evicted.Established++
	t.retire(victim)
	return true
}

// floodsOldest reports whether the oldest handshake in progress is to a
// target found under a SYN flood.
func (t *Tracker) floodsOldest() bool {
	for t.handshakes.len() > 0 {
		if c := t.tableConn(*t.handshakes.front()); c != nil {
			return c.embryonic() && t.flood.flooded(c)
		}
		t.handshakes.pop() // (gone: its timer does nothing)
	}
	return false
}

// evictEmbryo evicts the oldest connection of q whose handshake never
// completed: one to a target found under a SYN flood, the flood's own, is
// dropped from the report too (the flood's finding summarizes it); one in
// progress to another target waits out of the table for an answer first
// (evictedsyn.go); any other is kept for the report, as one evicted open
// is (keepEvictedEmbryo).
func (t *Tracker) evictEmbryo(q *timerQueue) bool {
	for q.len() > 0 {
		c := t.tableConn(q.pop())
		if c == nil || !c.embryonic() {
			continue
		}
		// (Decided first: holding one can find the flood, in floodCount.)
		own := !t.cfg.KeepFlood && t.flood.flooded(c)
		held := false
		if ft := c.flood; ft != nil {
			ft.evicted++
			ft.noteSYNsAgain(c)
			if ft.anomaly != 0 {
				t.floodFailed(c, c.First) // the flood's own, most likely
			} else {
				t.holdEvictedSYN(c) // (evictedsyn.go)
				held = true
			}
		}
		switch {
		case held:
		case own:
			t.rememberOwn(c, t.flood.target(c, false)) // (evictedsyn.go)
			t.drop(c)
		default:
			t.keepEvictedEmbryo(c)
		}
		if own {
			t.evicted.Flood++ // the flood's own: its finding summarizes it, as at the end (Finish)
		} else {
			t.evicted.Embryonic++
		}
		return true
	}
	return false
}

// idlest returns the least recently active connection past its
// handshake, nil if the table holds none. The LRU queue holds each
// connection in the table once, with its Last when queued: one found at
// the front active since is queued again with its Last, and the first
// found idle since it was queued is the one, its entry left at the front.
// So the front is soon the connection idle longest (a second-chance LRU),
// and each packet costs at most one entry queued again. A connection idle
// in its handshake leaves the queue (eviction takes those by their
// handshake's age) until a segment takes it past it (requeue).
func (t *Tracker) idlest() *Conn {
	for t.lru.len() > 0 {
		tm := *t.lru.front()
		c := t.tableConn(tm)
		switch {
		case c == nil:
		case c.Last > tm.due:
			t.lru.push(timerOf(c, c.Last))
		case c.embryonic():
			c.lruGone = true
		default:
			return c
		}
		t.lru.pop()
	}
	return nil
}

// requeue queues again a connection that idlest let go in its handshake,
// once it is past it.
func (t *Tracker) requeue(c *Conn) {
	if c.lruGone && !c.embryonic() && c.inTable && !c.parked {
		c.lruGone = false
		t.pushEvictable(&t.lru, timerOf(c, c.Last))
	}
}

// drop removes a connection from the table and from the report.
func (t *Tracker) drop(c *Conn) {
	t.letGoPending(c)
	if c.inTable {
		t.unlink(c)
	}
	if t.conns[c.idx] == c {
		t.conns[c.idx] = nil
		t.holes++
	}
}

// retire removes a connection that ended (or was evicted) from the table;
// its record stays in the report, among the MaxKept most recent ones.
func (t *Tracker) retire(c *Conn) {
	p := final // its last chance: nothing more will be seen of it
	if c.Evicted {
		p = evicting // (it may come back: evictedjudge.go)
	}
	t.check(c, t.now, p)
	t.letGoPending(c)
	t.unlink(c)
	if c.half[Client].state == TimeWait && !c.Midstream {
		t.twLeave(c) // its expiry will not be followed
	}
	if c.Evicted {
		t.evictedLate(c) // before keep, which may freeze it at once (evictedjudge.go)
	}
	t.keep(c) // store.go
}

// compactIfSparse compacts conns once holes are more than half of it: so
// that it grows with the connections kept, not with those dropped, at a
// cost of one compaction per as many drops as it holds.
func (t *Tracker) compactIfSparse() {
	if t.holes > len(t.conns)/2 && t.holes > 1024 {
		t.compact()
	}
}

// compact removes evicted connections' holes from conns.
func (t *Tracker) compact() {
	if t.holes == 0 {
		return
	}
	moved := make([]int32, len(t.conns))
	n := 0
	for i, c := range t.conns {
		moved[i] = -1
		if c != nil {
			moved[i] = int32(n)
			c.idx = int32(n)
			t.conns[n] = c
			n++
			if r := t.parkedRec(c); r != nil {
				r.bits = r.bits&(1<<twFlags-1) | uint32(n-1)<<twFlags
			}
		}
	}
	clear(t.conns[n:])
	t.conns = t.conns[:n]
	t.holes = 0
	t.renumberTimers(moved)
}

// serverPort reports whether port a looks more like the server's than port
// b: a well-known port (below 1024) against one that is not, otherwise the
// lower port. Ties go to b.
func serverPort(a, b uint16) bool {
	if (a < 1024) != (b < 1024) {
		return a < 1024
	}
	return a < b
}
