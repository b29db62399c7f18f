package tracker

import (
	"math/rand/v2"
	"testing"
)

// TestFlowTableAgainstMap drives the table and a Go map with the same random
// operations and checks they always agree (deletion shifts entries back).
func TestFlowTableAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tab := newFlowTable()
	ref := map[FlowKey]*Conn{}
	keys := make([]FlowKey, 3000)
	for i := range keys {
		keys[i] = FlowKey{A: AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), B: AddrFrom4([4]byte{198, 19, 0, 1}), APort: uint16(rng.IntN(4)), BPort: 80}
	}
	for step := 0; step < 200000; step++ {
		k := keys[rng.IntN(len(keys))]
		switch rng.IntN(3) {
		case 0, 1:
			c := &Conn{Key: k}
			tab.put(c)
			ref[k] = c
		case 2:
			tab.del(&k)
			delete(ref, k)
		}
		if step%1000 == 0 {
			if tab.len() != len(ref) {
				t.Fatalf("step %d: len %d, want %d", step, tab.len(), len(ref))
			}
			for _, k := range keys {
				if got := tab.get(&k); got != ref[k] {
					t.Fatalf("step %d: get(%v) = %p, want %p", step, k, got, ref[k])
				}
			}
		}
	}
}
