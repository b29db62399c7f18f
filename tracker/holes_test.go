package tracker

import (
	"testing"
	"unsafe"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestGapsInWhatASenderWasSeenToSend: segments reordered on the way to the
// capture point leave gaps that their late arrival fills, several at a
// time; what never comes stays missed, counted once per segment missing.
func TestGapsInWhatASenderWasSeenToSend(t *testing.T) {
	data := func(seq uint32) step { return step{from: Client, flags: A, seq: seq, ack: 1, payload: 100} }
	for _, tc := range []struct {
		name        string
		seqs        []uint32 // client data segments of 100 bytes, in capture order, after the handshake
		missed      uint64
		notCaptured uint32
	}{
		{"in order", []uint32{1, 101, 201, 301}, 0, 0},
		{"one reordered", []uint32{1, 201, 101, 301}, 0, 0},
		{"two held back, each overtaken", []uint32{1, 201, 401, 101, 301, 501}, 0, 0},
		{"three held back at once", []uint32{1, 401, 101, 201, 301, 501}, 0, 0},
		{"one of two never comes", []uint32{1, 301, 101, 401}, 100, 1},
		{"the middle of a gap comes: the two sides of it stay missed", []uint32{1, 401, 201, 501}, 200, 2},
		{"a retransmission covering a gap and more fills it once", []uint32{1, 201, 301, 101, 101, 401}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := append([]step{}, handshake...)
			for _, s := range tc.seqs {
				steps = append(steps, data(s))
			}
			tr := play(t, steps, 0)
			c := tr.Conns()[0]
			if got := c.MissedBytes(Client); got != tc.missed || c.NotCaptured != tc.notCaptured {
				t.Errorf("missed %d bytes in %d segments, want %d in %d\n%s", got, c.NotCaptured, tc.missed, tc.notCaptured, timeline(c))
			}
		})
	}
}

// TestHolesFill: the gap arithmetic, across 2^32 too.
func TestHolesFill(t *testing.T) {
	v := func(n uint32) seqnum.Value { return seqnum.Value(n) }
	var g holes
	g.add(v(1<<32-50), v(50)) // straddles 2^32
	if n, fewer := g.fill(v(1<<32-50), v(0)); n != 50 || fewer != 0 {
		t.Errorf("the first half: %d bytes, %d fewer; want 50, 0", n, fewer)
	}
	if n, fewer := g.fill(v(10), v(20)); n != 10 || fewer != -1 {
		t.Errorf("from the middle: %d bytes, %d fewer; want 10, -1 (two gaps now)", n, fewer)
	}
	if n, fewer := g.fill(v(0), v(50)); n != 40 || fewer != 2 {
		t.Errorf("the rest: %d bytes, %d fewer; want 40, 2", n, fewer)
	}
	g.add(v(100), v(200))
	g.forget(v(200 + maxBehind + 1))
	if n, _ := g.fill(v(100), v(200)); n != 0 {
		t.Errorf("a gap more than maxBehind behind filled %d bytes", n)
	}
}

// TestConnFitsTwentyCacheLines: a Conn is read on every packet of its
// connection; what it holds (gaps among them) must not push it past the
// 20 cache lines it had, which BenchmarkEndToEnd felt (4% at 21).
func TestConnFitsTwentyCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 20*64 {
		t.Errorf("a Conn is %d bytes, more than 20 cache lines (1,280)", n)
	}
}
