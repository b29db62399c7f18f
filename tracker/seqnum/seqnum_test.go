package seqnum

import (
	"math"
	"testing"
)

func TestLessThan(t *testing.T) {
	tests := []struct {
		a, b Value
		want bool
	}{
		{0, 1, true},
		{1, 0, false},
		{0, 0, false},
		{math.MaxUint32, 0, true}, // wraps: 2^32−1 precedes 0
		{0, math.MaxUint32, false},
		{math.MaxUint32 - 10, 5, true},
		{1 << 31, 1<<31 + 1, true},
		{1<<31 - 1, 1 << 31, true},
		{0, 1<<31 - 1, true}, // just under half the space ahead
		// Exactly half the space apart the order is undefined (RFC 1982 §3.2);
		// int32 arithmetic makes each precede the other.
		{0, 1 << 31, true},
		{1 << 31, 0, true},
	}
	for _, tc := range tests {
		if got := tc.a.LessThan(tc.b); got != tc.want {
			t.Errorf("%d.LessThan(%d) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestInWindow(t *testing.T) {
	tests := []struct {
		v, first Value
		size     Size
		want     bool
	}{
		{10, 10, 1, true},
		{11, 10, 1, false},
		{9, 10, 5, false},
		{10, 10, 0, false},
		{2, math.MaxUint32 - 2, 10, true}, // window straddles 2^32
		{math.MaxUint32, math.MaxUint32 - 2, 10, true},
		{7, math.MaxUint32 - 2, 10, false},
		{1<<31 + 5, 1 << 31, 6, true},
		{1<<31 + 6, 1 << 31, 6, false},
	}
	for _, tc := range tests {
		if got := tc.v.InWindow(tc.first, tc.size); got != tc.want {
			t.Errorf("%d.InWindow(%d, %d) = %v, want %v", tc.v, tc.first, tc.size, got, tc.want)
		}
	}
}

func TestAddSubMaxMin(t *testing.T) {
	v := Value(math.MaxUint32)
	if got := v.Add(2); got != 1 {
		t.Errorf("Add across 2^32: got %d, want 1", got)
	}
	if got := Value(1).Sub(math.MaxUint32); got != 2 {
		t.Errorf("Sub across 2^32: got %d, want 2", got)
	}
	if got := Value(math.MaxUint32).Size(3); got != 4 {
		t.Errorf("Size across 2^32: got %d, want 4", got)
	}
	if got := Max(math.MaxUint32, 3); got != 3 {
		t.Errorf("Max across 2^32: got %d, want 3", got)
	}
	if got := Max(1<<31-1, 0); got != 1<<31-1 {
		t.Errorf("Max near 2^31: got %d", got)
	}
	if got := Min(math.MaxUint32, 3); got != math.MaxUint32 {
		t.Errorf("Min across 2^32: got %d, want 2^32-1", got)
	}
}

// FuzzAlgebra checks the algebraic laws the tracker relies on.
func FuzzAlgebra(f *testing.F) {
	f.Add(uint32(0), uint32(1), uint32(0))
	f.Add(uint32(math.MaxUint32), uint32(0), uint32(1<<31))
	f.Fuzz(func(t *testing.T, a, b, n uint32) {
		v, w := Value(a), Value(b)
		if v.LessThan(w) && w.LessThan(v) && v.Sub(w) != math.MinInt32 {
			t.Fatalf("%d and %d each precede the other", a, b)
		}
		if v != w && !v.LessThan(w) && !w.LessThan(v) && v.Sub(w) != math.MinInt32 {
			t.Fatalf("%d and %d are unordered", a, b)
		}
		s := Size(n % (1 << 31))
		if got := v.Add(s).Sub(v); got != int32(s) {
			t.Fatalf("(%d+%d)-%d = %d", a, s, a, got)
		}
		if s > 0 && !v.LessThan(v.Add(s)) {
			t.Fatalf("%d does not precede %d+%d", a, a, s)
		}
		if s > 0 && !v.InWindow(v, s) {
			t.Fatalf("%d not in its own window of %d", a, s)
		}
		if v.Add(s).InWindow(v, s) {
			t.Fatalf("window end %d+%d is inside the window", a, s)
		}
		if m := Max(v, w); m != v && m != w {
			t.Fatalf("Max(%d,%d) = %d", a, b, m)
		}
	})
}
