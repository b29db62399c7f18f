package tracker

// newConn starts a connection at its first segment and decides the roles:
// the sender of a SYN is the client, the sender of a SYN-ACK the server;
// otherwise the well-known or lower port is the server's (mid-stream).
func (t *Tracker) newConn(k FlowKey, seg *Segment, fromA bool) *Conn {
	for t.table.len() >= t.maxConns && t.evictOne() {
	}
	t.nextID++
	c := &Conn{ID: t.nextID, Key: k, First: seg.Time, Last: seg.Time}
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
	tm := timer{key: k, id: c.ID, due: seg.Time + int64(t.th.HandshakeTimeout)}
	if !c.Midstream {
		t.handshakes.push(tm)
	}
	t.pushEvictable(&t.lru, tm)
	return c
}

// evictOne drops one connection from the table: the oldest whose handshake
// never completed, else the least recently active of the oldest few. It
// reports false if the table is empty.
func (t *Tracker) evictOne() bool {
	for _, q := range []*timerQueue{&t.embryos, &t.handshakes} {
		for q.len() > 0 {
			c := t.timerConn(q.pop())
			if c == nil || !c.embryonic() {
				continue
			}
			if c.flood != nil {
				c.flood.evicted++
				t.floodFailed(c, c.First)
			}
			t.drop(c)
			t.evicted.Embryonic++
			return true
		}
	}
	var victim *Conn
	for tries := 0; t.lru.len() > 0 && tries < 8; {
		tm := t.lru.pop()
		c := t.timerConn(tm)
		if c == nil {
			continue
		}
		tries++
		if victim == nil || c.Last < victim.Last {
			if victim != nil {
				t.lru.push(timer{key: victim.Key, id: victim.ID})
			}
			victim = c
		} else {
			t.lru.push(tm)
		}
	}
	if victim == nil {
		return false
	}
	victim.Evicted = true
	t.evicted.Established++
	t.retire(victim)
	return true
}

// drop removes a connection from the table and from the report.
func (t *Tracker) drop(c *Conn) {
	if p, ok := t.pendingSyn[c.ID]; ok {
		t.unpend(c, p)
		delete(t.pendingSyn, c.ID)
	}
	if c.inTable {
		t.table.del(&c.Key)
		c.inTable = false
	}
	if t.conns[c.idx] == c {
		t.conns[c.idx] = nil
		t.holes++
	}
}

// retire removes a connection that ended (or was evicted) from the table;
// its record stays in the report, among the MaxKept most recent ones.
func (t *Tracker) retire(c *Conn) {
	t.check(c, t.now, final) // its last chance: nothing more will be seen of it
	if p, ok := t.pendingSyn[c.ID]; ok {
		t.unpend(c, p)
		delete(t.pendingSyn, c.ID)
	}
	t.table.del(&c.Key)
	c.inTable = false
	if c.half[Client].state == TimeWait && !c.Midstream {
		t.twLeave(c) // its expiry will not be followed
	}
	t.keep(c) // store.go
	if t.holes > len(t.conns)/2 && t.holes > 1024 {
		t.compact()
	}
}

// compact removes evicted connections' holes from conns.
func (t *Tracker) compact() {
	if t.holes == 0 {
		return
	}
	n := 0
	for _, c := range t.conns {
		if c != nil {
			c.idx = int32(n)
			t.conns[n] = c
			n++
		}
	}
	clear(t.conns[n:])
	t.conns = t.conns[:n]
	t.holes = 0
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
