package html

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// randomTransitions returns n transitions within span, in random order,
// each at least a 64th of a chart slice away from a slice boundary.
func randomTransitions(rng *rand.Rand, n int, span Span) []tracker.Transition {
	states := tracker.States()
	slice := (span.End - span.Start + 1) / Buckets
	out := make([]tracker.Transition, n)
	for i := range out {
		b := rng.Int64N(Buckets)
		at := span.Start + b*slice + slice/8 + rng.Int64N(slice*3/4)
		out[i] = tracker.Transition{Time: at, Side: tracker.Side(rng.IntN(2)),
			From: states[rng.IntN(len(states))], To: states[rng.IntN(len(states))]}
	}
	return out
}

// TestFoldCountsAsTheRecordsWould: transitions told to a Fold, in any
// order (so that its slices double to the left and to the right), are
// counted in the chart slices a Record's transitions would be, when none
// is near a slice boundary; the counts at the end are the same whatever
// the times.
func TestFoldCountsAsTheRecordsWould(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, span := range []Span{{Start: 1e18, End: 1e18 + 240e9}, {Start: 5, End: 5 + 1e6}, {Start: 1e18, End: 1e18 + 86400e9}} {
		trs := randomTransitions(rng, 5000, span)
		var f Fold
		for _, tr := range trs {
			f.Add(tr)
		}
		var want [2][Buckets][]int
		for side := range want {
			for b := range want[side] {
				want[side][b] = make([]int, len(tracker.States()))
			}
		}
		for _, tr := range trs {
			b := span.bucket(tr.Time)
			want[tr.Side][b][tr.From]--
			want[tr.Side][b][tr.To]++
		}
		got := States(nil, &f, span)
		run := [2][]int{make([]int, len(tracker.States())), make([]int, len(tracker.States()))}
		for side := range 2 {
			for b := range Buckets {
				for st := range run[side] {
					run[side][st] += want[side][b][st]
					if got.Count[side][b][st] != run[side][st] {
						t.Fatalf("span %v: side %d slice %d state %v: %d, want %d (fold width %d)", span, side, b, tracker.State(st), got.Count[side][b][st], run[side][st], f.width)
					}
				}
			}
		}
	}
}

// TestFoldKeepsItsSize: however far apart the transitions, a Fold holds
// the same slices, and counts every transition at the end.
func TestFoldKeepsItsSize(t *testing.T) {
	var f Fold
	times := []int64{1e18, 1e18 + 1, 0, -1e18, 9e18, 1e18}
	for _, at := range times {
		f.Add(tracker.Transition{Time: at, Side: tracker.Client, From: tracker.Closed, To: tracker.Established})
	}
	if len(f.delta) != fineSlices*2*len(tracker.States()) {
		t.Errorf("%d counts, want %d", len(f.delta), fineSlices*2*len(tracker.States()))
	}
	s := States(nil, &f, Span{Start: -1e18, End: 9e18})
	if got := s.Count[tracker.Client][Buckets-1][tracker.Established]; got != len(times) {
		t.Errorf("%d ESTABLISHED at the end, want %d", got, len(times))
	}
}

// FuzzFold: transitions at any times, in any order: the Fold keeps its
// size, never panics, and counts every one at the end of any span that
// holds them all.
func FuzzFold(f *testing.F) {
	f.Add(int64(1e18), int64(5), int64(-3), uint8(3))
	f.Add(int64(0), int64(math.MaxInt64), int64(math.MinInt64), uint8(200))
	f.Fuzz(func(t *testing.T, a, b, c int64, n uint8) {
		var fo Fold
		times := []int64{a, b, c, a / 2, b/3 + c/3}
		for i := range int(n%32) + 1 {
			fo.Add(tracker.Transition{Time: times[i%len(times)], Side: tracker.Side(i % 2), From: tracker.Closed, To: tracker.Established})
		}
		if len(fo.delta) != fineSlices*2*len(tracker.States()) {
			t.Fatalf("%d counts", len(fo.delta))
		}
		s := States(nil, &fo, Span{Start: math.MinInt64 / 2, End: math.MaxInt64 / 2})
		got := s.Count[0][Buckets-1][tracker.Established] + s.Count[1][Buckets-1][tracker.Established]
		if got != int(n%32)+1 {
			t.Errorf("%d counted at the end, want %d", got, int(n%32)+1)
		}
	})
}
