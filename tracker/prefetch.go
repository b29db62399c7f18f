package tracker

import "unsafe"

// Following a connection reads its Conn, which for a busy capture is
// seldom in the processor's cache: the flow table slot and then the Conn
// are two cache misses in a row on every segment. A caller that holds the
// next segments (a batch of them) hides most of that wait by asking for
// them ahead of time: PrefetchSlot some segments ahead of Observe, then
// PrefetchConn for a nearer one, then PrefetchTransitions for a nearer one
// still. Neither changes anything: each only asks
// the processor to fetch memory, so a prefetch that turns out wrong (the
// table changed in between) costs a little time, never a result.

// connLines is how many cache lines a Conn spans, at most: it need not
// start on a line.
const connLines = (int(unsafe.Sizeof(Conn{}))+63)/64 + 1

// PrefetchSlot asks for the flow table slot seg's connection is found at.
// It keeps the hash in seg, for PrefetchConn and Observe, unless a Hasher
// of the tracker put it there already.
func (t *Tracker) PrefetchSlot(seg *Segment) {
	if seg.hashTable != t.table.id {
		t.Hasher().Hash(seg)
	}
	prefetch(unsafe.Pointer(&t.table.slots[seg.hash&t.table.mask]), 1)
}

// Hasher hashes segments for a tracker's flow table: what PrefetchSlot
// would compute, on another goroutine (the one that decodes them) since it
// holds only a copy of the table's seeds. Hashes made before Release are
// not used after it (they are recomputed).
type Hasher struct {
	seed [2]uint64
	id   uint32
}

// Hasher returns the tracker's Hasher.
func (t *Tracker) Hasher() Hasher { return Hasher{t.table.seed, t.table.id} }

// Hash keeps in seg the hash of its flow key.
func (h Hasher) Hash(seg *Segment) {
	k, _ := keyOf(seg)
	seg.hash, seg.hashTable = hashKey(&k, h.seed[0], h.seed[1]), h.id
}

// PrefetchConn asks for seg's connection, if the flow table has one whose
// slot's hash matches. It does nothing for a segment PrefetchSlot did not
// see first: the slot it reads should be on its way.
func (t *Tracker) PrefetchConn(seg *Segment) {
	if seg.hashTable != t.table.id {
		return
	}
	if c := t.table.peek(seg.hash); c != nil {
		prefetch(unsafe.Pointer(c), connLines)
	}
}

// blockLines is how many cache lines a block of transitions spans, at most.
const blockLines = (int(unsafe.Sizeof(transBlock{}))+63)/64 + 1

// PrefetchTransitions asks for the block of transitions seg's connection
// writes its next transition to, once it has used its inline ones (most
// do as they close); or for the spare block it would take. It reads the
// connection, so PrefetchConn should have asked for it first.
func (t *Tracker) PrefetchTransitions(seg *Segment) {
	if seg.hashTable != t.table.id {
		return
	}
	c := t.table.peek(seg.hash)
	switch {
	case c == nil:
	case c.trMore != nil:
		prefetch(unsafe.Pointer(c.trMore), blockLines)
	case c.nTrs+2 >= uint32(len(c.trs)) && len(t.spares.blocks) > 0:
		prefetch(unsafe.Pointer(t.spares.blocks[len(t.spares.blocks)-1]), blockLines)
	}
}
