package tracker

import (
	"hash/maphash"
	"math/bits"
	"sync/atomic"
)

// flowTable maps flow keys to their current connection. It is an
// open-addressing hash table with linear probing over a slot array of
// (hash, *Conn) pairs, about twice as fast as a Go map for this key on the
// packet path: a probe touches one 16-byte slot and compares the full key
// only on a hash match. The hash is keyed with a random seed per table, so
// spoofed addresses cannot be chosen to collide.
type flowTable struct {
	slots []flowSlot
	mask  uint64
	n     int
	seed  [2]uint64
	id    uint32 // tells tables apart, never 0 (FlowHash)
}

// tableIDs numbers flow tables.
var tableIDs atomic.Uint32

type flowSlot struct {
	hash uint64
	c    *Conn // nil: empty
}

func newFlowTable() *flowTable {
	t := &flowTable{}
	var h maphash.Hash
	t.seed[0] = h.Sum64() | 1
	h.WriteByte(1)
	t.seed[1] = h.Sum64()
	for t.id == 0 {
		t.id = tableIDs.Add(1)
	}
	t.resize(1024)
	return t
}

func (t *flowTable) resize(size int) {
	old := t.slots
	t.slots = make([]flowSlot, size)
	t.mask = uint64(size - 1)
	for _, s := range old {
		if s.c != nil {
			i := s.hash & t.mask
			for t.slots[i].c != nil {
				i = (i + 1) & t.mask
			}
			t.slots[i] = s
		}
	}
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

func (t *flowTable) hash(k *FlowKey) uint64 { return hashKey(k, t.seed[0], t.seed[1]) }

// hashKey hashes a flow key, keyed with two seeds.
func hashKey(k *FlowKey, s0, s1 uint64) uint64 {
	h := mix(k.A.hi^s0, k.A.lo^0x9E3779B97F4A7C15)
	h = mix(h^k.B.hi, k.B.lo^s1)
	return mix(h^(uint64(k.Tunnel)<<32|uint64(k.APort)<<16|uint64(k.BPort)), 0xBF58476D1CE4E5B9)
}

// get returns the connection for k, or nil.
func (t *flowTable) get(k *FlowKey) *Conn { return t.getHashed(k, t.hash(k)) }

// hashOf returns the hash of key k, h if it is a hash made for this table.
func (t *flowTable) hashOf(k *FlowKey, h FlowHash) uint64 {
	if h.table == t.id {
		return h.v
	}
	return t.hash(k)
}

// getHashed is get for a key whose hash is h.
func (t *flowTable) getHashed(k *FlowKey, h uint64) *Conn {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.c == nil {
			return nil
		}
		if s.hash == h && s.c.Key.eq(k) {
			return s.c
		}
	}
}

// peek returns the first connection on the probe run of hash h whose slot
// hash is h, without reading any connection: most likely the one of the
// key hashed, but unchecked.
func (t *flowTable) peek(h uint64) *Conn {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.c == nil || s.hash == h {
			return s.c
		}
	}
}

// put sets the connection for c.Key, replacing any other.
func (t *flowTable) put(c *Conn) {
	if 2*(t.n+1) > len(t.slots) {
		t.resize(2 * len(t.slots))
	}
	h := t.hash(&c.Key)
	i := h & t.mask
	for ; t.slots[i].c != nil; i = (i + 1) & t.mask {
		if t.slots[i].hash == h && t.slots[i].c.Key == c.Key {
			t.slots[i].c = c
			return
		}
	}
	t.slots[i] = flowSlot{hash: h, c: c}
	t.n++
}

// del removes k's entry, shifting later entries of its probe run back so
// that no tombstones are needed.
func (t *flowTable) del(k *FlowKey) {
	h := t.hash(k)
	i := h & t.mask
	for {
		s := &t.slots[i]
		if s.c == nil {
			return
		}
		if s.hash == h && s.c.Key == *k {
			break
		}
		i = (i + 1) & t.mask
	}
	for j := (i + 1) & t.mask; t.slots[j].c != nil; j = (j + 1) & t.mask {
		if fillsHole(i, j, t.slots[j].hash&t.mask) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = flowSlot{}
	t.n--
}

// fillsHole reports whether the entry at j of a linear-probing index,
// whose home position is home, moves back into the hole at i when an entry
// is deleted: unless its home lies cyclically in (i, j].
func fillsHole(i, j, home uint64) bool {
	return (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)
}

// eq compares keys field by field: the compiler turns a == on the whole
// 40-byte struct into a memequal call.
func (k *FlowKey) eq(o *FlowKey) bool {
	return k.A == o.A && k.B == o.B && k.APort == o.APort && k.BPort == o.BPort && k.Tunnel == o.Tunnel
}

// len returns the number of entries.
func (t *flowTable) len() int { return t.n }
