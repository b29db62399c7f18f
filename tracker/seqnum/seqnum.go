// Package seqnum implements TCP sequence-number arithmetic (RFC 793 §3.3,
// RFC 1982 serial-number arithmetic).
//
// A [Value] is a position in the 32-bit sequence space; a [Size] is a length.
// Keeping them distinct lets the compiler refuse to add two positions or to
// compare a length with a position. Comparisons are wraparound-safe: a is
// "less than" b when the signed distance b−a is positive, which is meaningful
// as long as the two values are within 2^31 of each other.
package seqnum

// Value is a position in TCP's 32-bit sequence space.
type Value uint32

// Size is a number of sequence positions (bytes plus SYN and FIN).
type Size uint32

// LessThan reports whether v precedes w in sequence space.
func (v Value) LessThan(w Value) bool { return int32(v-w) < 0 }

// LessThanEq reports whether v precedes or equals w.
func (v Value) LessThanEq(w Value) bool { return v == w || v.LessThan(w) }

// InRange reports whether v lies in the half-open window [a, b).
func (v Value) InRange(a, b Value) bool { return a.LessThanEq(v) && v.LessThan(b) }

// InWindow reports whether v lies in the window that starts at first and is
// size positions wide. A zero-sized window contains nothing.
func (v Value) InWindow(first Value, size Size) bool {
	return v.InRange(first, first.Add(size))
}

// Add returns the position s positions after v.
func (v Value) Add(s Size) Value { return v + Value(s) }

// Sub returns v−w as a signed distance: positive when v follows w.
func (v Value) Sub(w Value) int32 { return int32(v - w) }

// Size returns the number of positions from v up to w (w must not precede v).
func (v Value) Size(w Value) Size { return Size(w - v) }

// Max returns the later of v and w.
func Max(v, w Value) Value {
	if v.LessThan(w) {
		return w
	}
	return v
}

// Min returns the earlier of v and w.
func Min(v, w Value) Value {
	if v.LessThan(w) {
		return v
	}
	return w
}
