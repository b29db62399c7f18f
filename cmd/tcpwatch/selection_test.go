package main

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestSelectionHasEitherOrientation: -w's selection finds a segment of a
// selected connection whichever end of the 4-tuple is its client, also
// when another connection on the same 4-tuple, with the other end as its
// client, is selected too.
func TestSelectionHasEitherOrientation(t *testing.T) {
	a := endpoint{tracker.AddrFrom4([4]byte{198, 18, 0, 1}), 5000}
	b := endpoint{tracker.AddrFrom4([4]byte{198, 18, 0, 2}), 6000}
	aToB := [2]endpoint{a, b}
	bToA := [2]endpoint{b, a}
	both := selection{aToB: {{10, 20}}, bToA: {{30, 40}}} // A opened the first, B the second
	for _, tc := range []struct {
		name string
		sel  selection
		from [2]endpoint // the segment's source and destination
		at   int64
		want bool
	}{
		{"first connection, from its client", both, aToB, 15, true},
		{"first connection, from its server", both, bToA, 15, true},
		{"second connection, from its client", both, bToA, 35, true},
		{"second connection, from its server", both, aToB, 35, true},
		{"between the two", both, aToB, 25, false},
		{"after both", both, bToA, 41, false},
		{"only the second selected, from its server", selection{bToA: {{30, 40}}}, aToB, 35, true},
		{"only the first selected, during the second", selection{aToB: {{10, 20}}}, bToA, 35, false},
	} {
		seg := &tracker.Segment{Src: tc.from[0].addr, SrcPort: tc.from[0].port, Dst: tc.from[1].addr, DstPort: tc.from[1].port, Time: tc.at}
		if got := tc.sel.has(seg); got != tc.want {
			t.Errorf("%s: has(%v → %v at %d) = %v, want %v", tc.name, tc.from[0], tc.from[1], tc.at, got, tc.want)
		}
	}
}
