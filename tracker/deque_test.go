package tracker

import "testing"

// TestDequeIsAFIFO pushes and pops across block boundaries against a slice.
func TestDequeIsAFIFO(t *testing.T) {
	var q deque[int]
	var want []int
	next := 0
	for step := range 20_000 {
		if step%3 != 2 || len(want) == 0 {
			q.push(next)
			want = append(want, next)
			next++
		} else {
			if got := *q.front(); got != want[0] {
				t.Fatalf("step %d: front %d, want %d", step, got, want[0])
			}
			q.pop()
			want = want[1:]
		}
		if q.len() != len(want) {
			t.Fatalf("step %d: len %d, want %d", step, q.len(), len(want))
		}
		if i := len(want) / 2; len(want) > 0 && *q.at(i) != want[i] {
			t.Fatalf("step %d: at(%d) = %d, want %d", step, i, *q.at(i), want[i])
		}
	}
	if len(q.blocks) > len(want)/dequeBlock+2 {
		t.Errorf("%d blocks for %d elements", len(q.blocks), len(want))
	}
}
