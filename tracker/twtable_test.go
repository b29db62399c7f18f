package tracker

import (
	"math/rand/v2"
	"testing"
)

// TestTWTableAgainstMap drives the table of compact records and a Go map
// with the same random operations and checks they always agree, while the
// slots handed out outgrow the index entries' slot bits several times
// (each time the tags lose a bit).
func TestTWTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	tab := newTWTable([2]uint64{5, 6})
	tab.slotBits = 4
	ref := map[FlowKey]uint32{}
	keys := make([]FlowKey, 3000)
	for i := range keys {
		keys[i] = FlowKey{A: AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), B: AddrFrom4([4]byte{198, 19, 0, 1}), APort: uint16(rng.IntN(4)), BPort: 80}
	}
	for step := uint32(1); step < 100000; step++ {
		k := keys[rng.IntN(len(keys))]
		_, in := ref[k]
		switch {
		case !in && rng.IntN(3) < 2:
			tab.put(twRecord{key: k, id: step, bits: twUsed})
			ref[k] = step
		case in:
			tab.del(&k)
			delete(ref, k)
		}
		if step%997 == 0 {
			agree(t, step, tab, ref, keys)
		}
	}
	if tab.slotBits < 11 {
		t.Errorf("slot bits %d: the test did not outgrow them", tab.slotBits)
	}
}

func agree(t *testing.T, step uint32, tab *twTable, ref map[FlowKey]uint32, keys []FlowKey) {
	t.Helper()
	if tab.len() != len(ref) {
		t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(ref))
	}
	for _, k := range keys {
		r := tab.get(&k)
		id, in := ref[k]
		switch {
		case in && (r == nil || r.id != id || r.key != k):
			t.Fatalf("step %d: get(%v) = %+v, want id %d", step, k, r, id)
		case !in && r != nil:
			t.Fatalf("step %d: get(%v) = %+v, want none", step, k, r)
		}
	}
}
