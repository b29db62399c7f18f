package tracker

import (
	"cmp"
	"container/heap"
	"slices"
)

// The findings listed are at most MaxAnomalies, and they are the earliest
// — in the report's order: time, then connection, then kind — whatever
// the order the detectors made them in: one made at the end of input about
// something early (a handshake judged when its connection was forgotten,
// or at the end) takes the place of the latest connection finding listed.
// Findings of a whole target (a flood, a build-up) are listed before any
// connection finding is given up for them, and never given up.

// before reports whether a comes before b in the report's order.
func before(a, b *Anomaly) bool {
	return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Conn, b.Conn), cmp.Compare(a.Kind, b.Kind)) < 0
}

// list lists a finding, and returns its index in t.anomalies, or -1 if it
// is counted only.
func (t *Tracker) list(a Anomaly) int {
	if len(t.free) > 0 {
		return t.reuse(a)
	}
	if len(t.anomalies) < t.th.MaxAnomalies {
		t.anomalies = append(t.anomalies, a)
		return len(t.anomalies) - 1
	}
	if t.latest.as == nil {
		t.latest.as = &t.anomalies
		for i := range t.anomalies {
			if t.anomalies[i].Conn != 0 {
				t.latest.slots = append(t.latest.slots, i)
			}
		}
		heap.Init(&t.latest)
	}
	if t.latest.Len() == 0 {
		return -1
	}
	top := t.latest.slots[0]
	old := &t.anomalies[top]
	if a.Conn != 0 && !before(&a, old) {
		return -1
	}
	if k := (anomalyKey{old.Conn, old.Kind, old.Side}); t.listed[k] == top {
		delete(t.listed, k) // (of a finding of a target, there is no entry)
	}
	*old = a
	if a.Conn != 0 {
		heap.Fix(&t.latest, 0)
	} else {
		heap.Pop(&t.latest)
	}
	return top
}

// reuse lists a finding in the slot of one withdrawn, and returns it.
func (t *Tracker) reuse(a Anomaly) int {
	slot := t.free[len(t.free)-1]
	t.free = t.free[:len(t.free)-1]
	t.anomalies[slot] = a
	if t.latest.as != nil {
		// The withdrawn one was a connection finding, in the heap.
		i := slices.Index(t.latest.slots, slot)
		if a.Conn != 0 {
			heap.Fix(&t.latest, i)
		} else {
			heap.Remove(&t.latest, i)
		}
	}
	return slot
}

// slotHeap orders indexes of connection findings, the latest first.
type slotHeap struct {
	as    *[]Anomaly
	slots []int
}

func (h *slotHeap) Len() int { return len(h.slots) }
func (h *slotHeap) Less(i, j int) bool {
	return before(&(*h.as)[h.slots[j]], &(*h.as)[h.slots[i]])
}
func (h *slotHeap) Swap(i, j int) { h.slots[i], h.slots[j] = h.slots[j], h.slots[i] }
func (h *slotHeap) Push(x any)    { h.slots = append(h.slots, x.(int)) }
func (h *slotHeap) Pop() any {
	n := len(h.slots) - 1
	x := h.slots[n]
	h.slots = h.slots[:n]
	return x
}
