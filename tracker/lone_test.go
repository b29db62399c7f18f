package tracker

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// segsOf turns steps into timed segments.
func segsOf(isn [2]seqnum.Value, steps []step) []Segment {
	now := int64(1_700_000_000) * int64(time.Second)
	out := make([]Segment, len(steps))
	for i, st := range steps {
		now += st.wait()
		out[i] = st.segment(isn, i, now)
	}
	return out
}

// fingerprint is everything a connection reports but its ID.
func fingerprint(tr *Tracker) string {
	var b strings.Builder
	for _, c := range tr.Conns() {
		fmt.Fprintf(&b, "%v %v→%v %v/%v mid=%v pk=%d/%d rtx=%d/%d nc=%d kinds=%v\n", c.First, c.Client(), c.Server(),
			c.State(Client), c.State(Server), c.Midstream, c.half[0].packets, c.half[1].packets,
			c.half[0].retransmits, c.half[1].retransmits, c.NotCaptured, c.Kinds())
		for _, x := range c.Transitions() {
			fmt.Fprintf(&b, "  %d %d %v %v→%v %s %v\n", x.Time, x.Packet, x.Side, x.From, x.To, x.Why, x.Inferred)
		}
	}
	for _, a := range tr.Anomalies() {
		fmt.Fprintf(&b, "%v %v %v %d %s\n", a.Kind, a.Side, a.Target, a.Time, a.Detail)
	}
	return b.String()
}

// TestPromotedConnectionEqualsOpeningAtOnce: a connection whose first
// segment was held as a lone segment, then answered or continued, ends up
// exactly as if that segment had opened it at once: same states, same
// transitions with their packets and times, same counts and findings. Every
// scenario of the state-machine tables is played from its first, second,
// third and fourth segment on (a capture that starts late).
func TestPromotedConnectionEqualsOpeningAtOnce(t *testing.T) {
	var all [][]step
	for _, s := range scenarios {
		all = append(all, s.steps)
	}
	for _, s := range edgeCases {
		all = append(all, s.steps)
	}
	for _, s := range anomalyCases {
		all = append(all, s.steps)
	}
	compared := 0
	for _, steps := range all {
		for late := 0; late < min(4, len(steps)-1); late++ {
			for _, isn := range isnPairs {
				held, atOnce, ok := heldAndAtOnce(segsOf(isn, steps[late:]))
				if !ok {
					continue // never a connection: nothing to compare
				}
				if held != atOnce {
					t.Errorf("from segment %d of %v:\nheld first:\n%s\nopened at once:\n%s", late+1, steps, held, atOnce)
				}
				compared++
			}
		}
	}
	if compared < 100 {
		t.Errorf("only %d scenarios compared", compared)
	}
}

// heldAndAtOnce plays segs to a tracker, and to another whose first
// segment opens its connection at once, and returns both fingerprints;
// ok is false if the first segment is a SYN or the segments never became
// a connection (lone segments counted).
func heldAndAtOnce(segs []Segment) (held, atOnce string, ok bool) {
	if opensConn(&segs[0]) {
		return "", "", false
	}
	h := New(Config{})
	for i := range segs {
		h.Observe(&segs[i])
	}
	h.Finish()
	if l := h.Lone(); l != (LoneStats{}) {
		return "", "", false
	}
	a := New(Config{})
	a.Advance(segs[0].Time)
	k, fromA := keyOf(&segs[0])
	c := a.newConn(k, &segs[0], fromA)
	a.update(c, &segs[0], c.sideOf(fromA))
	a.closeIfNothing(c)
	for i := 1; i < len(segs); i++ {
		a.Observe(&segs[i])
	}
	a.Finish()
	return fingerprint(h), fingerprint(a), true
}

// TestSegmentsHeldTogetherReplayedAsCaptured: a 4-tuple's held segments
// that do not continue one another — data reordered at a pickup in mid
// stream, a SYN-ACK sent again before its answer — are all replayed when
// the connection is opened: it comes out exactly as if the first had
// opened it at once (every packet counted, none taken for not captured).
func TestSegmentsHeldTogetherReplayedAsCaptured(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"data reordered at a pickup in mid stream", []step{
			{from: Client, flags: PA, seq: 1101, ack: 1, payload: 100},
			{from: Client, flags: PA, seq: 1001, ack: 1, payload: 100},
			{from: Server, flags: A, seq: 1, ack: 1201},
			{from: Client, flags: FA, seq: 1201, ack: 1},
			{from: Server, flags: FA, seq: 1, ack: 1202},
			{from: Client, flags: A, seq: 1202, ack: 2}}},
		{"a SYN-ACK sent again, then the handshake's ACK", []step{
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: SA, ack: 1, after: time.Second},
			{from: Client, flags: A, seq: 1, ack: 1},
			{from: Client, flags: FA, seq: 1, ack: 1},
			{from: Server, flags: FA, seq: 1, ack: 2},
			{from: Client, flags: A, seq: 2, ack: 2}}},
		{"an older ACK reordered behind a newer one, then continued", []step{
			{from: Client, flags: A, seq: 500, ack: 900},
			{from: Client, flags: A, seq: 500, ack: 800},
			{from: Client, flags: PA, seq: 500, ack: 900, payload: 10}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, isn := range isnPairs {
				held, atOnce, ok := heldAndAtOnce(segsOf(isn, tc.steps))
				if !ok {
					t.Fatalf("never a connection")
				}
				if held != atOnce {
					t.Errorf("held first:\n%s\nopened at once:\n%s", held, atOnce)
				}
			}
		})
	}
}

func TestLoneSegments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		conns int
		lone  LoneStats
	}{
		{"a single ACK is held, its state not claimed", []step{
			{from: Client, flags: A, seq: 10, ack: 20}}, 0, LoneStats{1, 1, 0}},
		{"a single SYN-ACK is held", []step{
			{from: Server, flags: SA, ack: 1}}, 0, LoneStats{1, 1, 0}},
		{"an ACK refused by an RST is no connection", []step{
			{from: Client, flags: A, seq: 10, ack: 20},
			{from: Server, flags: R, seq: 20}}, 0, LoneStats{0, 0, 1}},
		{"a SYN-ACK refused by an RST (backscatter at its target)", []step{
			{from: Server, flags: SA, ack: 1},
			{from: Client, flags: R, seq: 1}}, 0, LoneStats{0, 0, 1}},
		{"an ACK answered by an ACK is a connection", []step{
			{from: Client, flags: A, seq: 10, ack: 20},
			{from: Server, flags: A, seq: 20, ack: 10}}, 1, LoneStats{}},
		{"data continued by its sender is a connection", []step{
			{from: Client, flags: PA, seq: 10, ack: 20, payload: 100},
			{from: Client, flags: PA, seq: 110, ack: 20, payload: 100}}, 1, LoneStats{}},
		{"a second ACK whose numbers jump is not a continuation", []step{
			{from: Client, flags: A, seq: 10, ack: 20},
			{from: Client, flags: A, seq: 10 + 1<<25, ack: 20}}, 0, LoneStats{2, 1, 0}},
		{"a second ACK acknowledging less is not a continuation", []step{
			{from: Client, flags: A, seq: 10, ack: 20},
			{from: Client, flags: A, seq: 10, ack: 19}}, 0, LoneStats{2, 1, 0}},
		{"a SYN-ACK sent again to a silent peer is held, and at the end a half-open connection", []step{
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: SA, ack: 1, after: time.Second},
			{from: Server, flags: SA, ack: 1, after: 2 * time.Second}}, 1, LoneStats{1, 1, 0}},
		{"a SYN-ACK sent again, then answered, is a connection", []step{
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: SA, ack: 1, after: time.Second},
			{from: Client, flags: A, seq: 1, ack: 1}}, 1, LoneStats{}},
		{"data a little behind the held data is kept beside it", []step{
			{from: Client, flags: PA, seq: 1101, ack: 1, payload: 100},
			{from: Client, flags: PA, seq: 1001, ack: 1, payload: 100},
			{from: Server, flags: A, seq: 1, ack: 1201}}, 1, LoneStats{}},
		{"a third segment behind, with no room left, is counted", []step{
			{from: Client, flags: PA, seq: 1101, ack: 1, payload: 100},
			{from: Client, flags: PA, seq: 1001, ack: 1, payload: 100},
			{from: Client, flags: PA, seq: 901, ack: 1, payload: 100},
			{from: Server, flags: A, seq: 1, ack: 1201}}, 1, LoneStats{1, 1, 0}},
		{"a segment far from the held one replaces it and is counted", []step{
			{from: Client, flags: A, seq: 10, ack: 20},
			{from: Client, flags: A, seq: 10 + 1<<25, ack: 20},
			{from: Server, flags: A, seq: 20, ack: 11 + 1<<25}}, 1, LoneStats{1, 1, 0}},
		{"a SYN from the other side answers a SYN-ACK seen first", []step{
			{from: Server, flags: SA, ack: 1},
			{from: Client, flags: S, after: time.Microsecond},
			{from: Client, flags: A, seq: 1, ack: 1}}, 1, LoneStats{}},
		{"a SYN from the same side after a lone ACK opens a fresh connection", []step{
			{from: Client, flags: A, seq: 10, ack: 20},
			{from: Client, flags: S, seq: 5000, after: time.Second}}, 1, LoneStats{1, 1, 0}},
		{"impossible flags open their connection when judged (invalid_flags)", []step{
			{from: Client, flags: FIN | PSH | URG, seq: 7}}, 1, LoneStats{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := run(t, Config{}, tc.steps)
			tr.Finish()
			if n := len(tr.Conns()); n != tc.conns {
				t.Errorf("%d connections, want %d", n, tc.conns)
			}
			if got := tr.Lone(); got != tc.lone {
				t.Errorf("lone segments %+v, want %+v", got, tc.lone)
			}
		})
	}
}

// TestLoneTableCapped: the table never holds more than MaxLone segments,
// whatever arrives; every segment pushed out is counted.
func TestLoneTableCapped(t *testing.T) {
	tr := New(Config{MaxLone: 1024})
	rng := rand.New(rand.NewPCG(1, 2))
	now := int64(1_700_000_000) * int64(time.Second)
	const n = 20_000
	for i := range n {
		seg := Segment{Time: now + int64(i)*int64(time.Microsecond), Packet: uint64(i + 1), Flags: ACK,
			Src: AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), SrcPort: uint16(1024 + rng.IntN(60000)),
			Dst: sAddr, DstPort: 80, Seq: seqnum.Value(rng.Uint32()), Ack: seqnum.Value(rng.Uint32()), WScale: -1}
		tr.Observe(&seg)
		if len(tr.lone.ring) > 1024 || tr.lone.live > 1024 {
			t.Fatalf("after %d segments the table holds %d in %d slots, cap 1024", i+1, tr.lone.live, len(tr.lone.ring))
		}
	}
	if got := tr.Lone(); got.Segments != n-1024 {
		t.Errorf("%d lone segments counted before the end, want the %d pushed out", got.Segments, n-1024)
	}
	tr.Finish()
	if got := tr.Lone(); got != (LoneStats{Segments: n, Tuples: n}) || len(tr.Conns()) != 0 {
		t.Errorf("at the end: %+v and %d connections, want %d lone segments to %d 4-tuples and none", got, len(tr.Conns()), n, n)
	}
}

// TestLoneIndexSurvivesChurn: entries removed from the middle of probe runs
// (promotions) and pushed out at the front keep every other entry findable.
func TestLoneIndexSurvivesChurn(t *testing.T) {
	tr := New(Config{MaxLone: 1024})
	rng := rand.New(rand.NewPCG(3, 4))
	now := int64(1_700_000_000) * int64(time.Second)
	var held []Segment
	for i := range 5000 {
		seg := Segment{Time: now + int64(i)*int64(time.Microsecond), Flags: ACK, WScale: -1,
			Src: AddrFrom4([4]byte{10, 0, byte(rng.IntN(4)), byte(rng.IntN(256))}), SrcPort: uint16(rng.IntN(8)),
			Dst: sAddr, DstPort: 80, Seq: 1000, Ack: 2000}
		k, _ := keyOf(&seg)
		if tr.table.get(&k) != nil {
			continue
		}
		if _, ok := tr.lone.find(&k, tr.table.hash(&k)|1); ok {
			continue
		}
		tr.Observe(&seg)
		held = append(held, seg)
		if rng.IntN(3) == 0 { // promote a random held one by continuing it
			j := rng.IntN(len(held))
			again := held[j]
			again.Time = seg.Time
			tr.Observe(&again)
			held = slices.Delete(held, j, j+1)
		}
		if len(held) > 1000 {
			held = held[len(held)-1000:] // older ones may have been pushed out
		}
	}
	for _, seg := range held[len(held)-200:] {
		k, _ := keyOf(&seg)
		if _, ok := tr.lone.find(&k, tr.table.hash(&k)|1); !ok && tr.table.get(&k) == nil {
			t.Fatalf("%v:%d lost from the lone table", seg.Src.IP(), seg.SrcPort)
		}
	}
}

// TestLoneSegmentsDoNotAllocate fails if holding a lone segment in the full
// table (pushing the oldest out and judging it for the flood detectors)
// allocates.
func TestLoneSegmentsDoNotAllocate(t *testing.T) {
	tr := New(Config{MaxLone: 1024})
	now := int64(1_700_000_000) * int64(time.Second)
	i := uint32(0)
	next := func() {
		i++
		now += int64(time.Microsecond)
		seg := Segment{Time: now, Flags: ACK, WScale: -1, Src: AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			SrcPort: 1024, Dst: sAddr, DstPort: 80, Seq: seqnum.Value(i * 7919), Ack: seqnum.Value(i * 104729)}
		tr.Observe(&seg)
	}
	for range 2048 {
		next()
	}
	if allocs := testing.AllocsPerRun(5000, next); allocs != 0 {
		t.Errorf("a lone segment allocates %.2f times", allocs)
	}
}

// TestLoneTableOfAnySize: a cap that is not a power of two (the index is
// probed with a mask) still holds, finds and pushes out lone segments:
// Observe returns, and every segment is counted.
func TestLoneTableOfAnySize(t *testing.T) {
	for _, max := range []int{1, 3, 1000, 1025} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			tr := New(Config{MaxLone: max})
			now := int64(1_700_000_000) * int64(time.Second)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := range 2 * max {
					seg := Segment{Time: now + int64(i)*int64(time.Microsecond), Packet: uint64(i + 1), Flags: ACK, WScale: -1,
						Src: AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), SrcPort: 40000, Dst: sAddr, DstPort: 80,
						Seq: seqnum.Value(i * 7919), Ack: seqnum.Value(i * 104729)}
					tr.Observe(&seg)
				}
				tr.Finish()
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("MaxLone %d: Observe did not return", max)
			}
			if got := tr.Lone(); got != (LoneStats{Segments: uint64(2 * max), Tuples: uint64(2 * max)}) {
				t.Errorf("lone segments %+v, want %d to %d 4-tuples", got, 2*max, 2*max)
			}
		})
	}
}
