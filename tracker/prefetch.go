package tracker

import "unsafe"

// Following a connection reads its Conn, which for a busy capture is
// seldom in the processor's cache: the flow table slot and then the Conn
// are two cache misses in a row on every segment. A caller that holds the
// next segments (a batch of them) hides most of that wait by asking for
// them ahead of time, by the segments' FlowHashes: PrefetchSlot some
// segments ahead of ObserveHashed, then PrefetchConn for a nearer one,
// then PrefetchTransitions for a nearer one still. None changes anything:
// each only asks the processor to fetch memory, so a prefetch that turns
// out wrong (the table changed in between) costs a little time, never a
// result.

// connLines is how many cache lines a Conn spans, at most: it need not
// start on a line.
const connLines = (int(unsafe.Sizeof(Conn{}))+63)/64 + 1

// FlowHash is the hash of a segment's flow key in one tracker's flow
// table (Hasher). The zero FlowHash is none.
type FlowHash struct {
	v     uint64 // in the flow table
	tw    uint64 // in the table of compact TIME_WAIT records (twrecords.go)
	table uint32 // the flowTable's id
}

// Hasher hashes segments for a tracker's flow table. It holds only a copy
// of the table's seeds, so it may run on another goroutine (the one that
// decodes the segments). A hash made before Release is not used after it
// (it is computed again).
type Hasher struct {
	seed [2]uint64
	id   uint32
}

// Hasher returns the tracker's Hasher.
func (t *Tracker) Hasher() Hasher { return Hasher{t.table.seed, t.table.id} }

// Hash returns the hashes of seg's flow key.
func (h Hasher) Hash(seg *Segment) FlowHash {
	k, _ := keyOf(seg)
	return FlowHash{hashKey(&k, h.seed[0], h.seed[1]), hashKey(&k, h.seed[1], h.seed[0]), h.id} // (twTable.hash)
}

// ObserveHashed is Observe for a segment whose FlowHash h is known.
func (t *Tracker) ObserveHashed(seg *Segment, h FlowHash) {
	t.Advance(seg.Time)
	if seg.Checksum != ChecksumUnverified && t.dropChecksum(seg) {
		return
	}
	t.observe(seg, h)
}

// PrefetchSlot asks for the flow table slot of the segment whose hash is h.
func (t *Tracker) PrefetchSlot(h FlowHash) {
	if h.table == t.table.id {
		prefetch(unsafe.Pointer(&t.table.slots[h.v&t.table.mask]), 1)
	}
}

// PrefetchConn asks for the connection of the segment whose hash is h, if
// the flow table has one whose slot's hash matches: the slot it reads
// should be on its way (PrefetchSlot). If it has none, the segment will
// be looked up among the compact TIME_WAIT records: it asks for the slot
// of their index.
func (t *Tracker) PrefetchConn(h FlowHash) {
	if h.table != t.table.id {
		return
	}
	if c := t.table.peek(h.v); c != nil {
		prefetch(unsafe.Pointer(c), connLines)
	} else {
		t.twRecs.prefetchIndex(h.tw)
	}
}

// blockLines is how many cache lines a block of transitions spans, at most.
const blockLines = (int(unsafe.Sizeof(transBlock{}))+63)/64 + 1

// PrefetchTransitions asks for the block of transitions the connection of
// the segment whose hash is h writes its next transition to, once it has
// used its inline ones (most do as they close); or for the spare block it
// would take. It reads the connection, so PrefetchConn should have asked
// for it first. For a connection that is closing it asks for the index
// slot of the compact record it would be parked in; for a segment of no
// connection in the flow table, for the compact record the index names.
func (t *Tracker) PrefetchTransitions(h FlowHash) {
	if h.table != t.table.id {
		return
	}
	c := t.table.peek(h.v)
	switch {
	case c == nil:
		t.twRecs.prefetchRecord(h.tw)
		return
	case c.closing():
		t.twRecs.prefetchIndex(h.tw) // where it is parked if this segment ends it
	}
	switch {
	case c.trMore != nil:
		prefetch(unsafe.Pointer(c.trMore), blockLines)
	case c.nTrs+2 >= uint32(len(c.trs)) && len(t.spares.blocks) > 0:
		prefetch(unsafe.Pointer(t.spares.blocks[len(t.spares.blocks)-1]), blockLines)
	}
}

// closing reports whether a side sent a FIN or an RST: the connection
// may end, and be parked, with one of its next segments.
func (c *Conn) closing() bool {
	return c.half[Client].finSent || c.half[Server].finSent || c.half[Client].reset || c.half[Server].reset
}

// prefetchIndex asks for the index slot of the record whose hash is h.
func (t *twTable) prefetchIndex(h uint64) {
	if t.n > 0 {
		prefetch(unsafe.Pointer(&t.index[h&t.mask]), 1)
	}
}

// prefetchRecord asks for the record the index slot of hash h names, if
// its tag matches; the slot should be on its way (prefetchIndex).
func (t *twTable) prefetchRecord(h uint64) {
	if t.n == 0 {
		return
	}
	ref := t.index[h&t.mask]
	if ref == 0 || (ref^uint32(h>>32))&t.tagMask() != 0 {
		return
	}
	if slot := t.slot(ref); slot < t.used {
		prefetch(unsafe.Pointer(t.rec(slot)), 2)
	}
}

// PrefetchTimers asks for the connections whose timers come due by until,
// the time of a segment a few places ahead: the first few of each queue.
// A timer's connection is read when it runs, and by then it has seldom
// been touched for a while.
func (t *Tracker) PrefetchTimers(until int64) {
	for _, q := range [...]*timerQueue{&t.timeWaits, &t.handshakes, &t.closed} {
		for i := range min(q.len(), timersAhead) {
			tm := q.at(i)
			if tm.due > until {
				break
			}
			if uint(tm.idx) < uint(len(t.conns)) {
				if c := t.conns[tm.idx]; c != nil {
					prefetch(unsafe.Pointer(c), connLines)
				}
			}
		}
	}
}

// timersAhead is how many timers of a queue PrefetchTimers asks for.
const timersAhead = 2
