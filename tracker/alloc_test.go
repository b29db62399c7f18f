package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// steadyConn opens a connection and returns the tracker and a data segment
// of it, ready to be observed again and again.
func steadyConn(tb testing.TB) (*Tracker, *Segment, *Segment) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	mk := func(from Side, flags Flags, seq, ack seqnum.Value, n uint32) *Segment {
		now += int64(time.Millisecond)
		s := &Segment{Time: now, Flags: flags, Seq: seq, Ack: ack, Payload: n, Window: 1000, WScale: -1}
		s.Src, s.SrcPort, s.Dst, s.DstPort = cAddr, 40000, sAddr, 80
		if from == Server {
			s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, cAddr, 40000
		}
		return s
	}
	tr.Observe(mk(Client, SYN, 100, 0, 0))
	tr.Observe(mk(Server, SYN|ACK, 500, 101, 0))
	tr.Observe(mk(Client, ACK, 101, 501, 0))
	return tr, mk(Client, PSH|ACK, 101, 501, 100), mk(Server, ACK, 501, 201, 0)
}

// TestObserveDoesNotAllocate fails if observing a segment of a known
// connection allocates.
func TestObserveDoesNotAllocate(t *testing.T) {
	tr, data, ack := steadyConn(t)
	allocs := testing.AllocsPerRun(1000, func() {
		data.Time += 1000
		data.Seq += 100
		tr.Observe(data)
		ack.Time += 1000
		ack.Ack += 100
		tr.Observe(ack)
	})
	if allocs != 0 {
		t.Fatalf("Observe allocates %.1f times per packet pair of a known connection", allocs)
	}
}

// TestPrefetchChangesNothing: asking for a segment's slot and connection
// ahead, for a known connection, an unknown one and on an empty tracker,
// and for the connections of the timers due by then or much later,
// allocates nothing and leaves the tracker as it was.
func TestPrefetchChangesNothing(t *testing.T) {
	tr, data, _ := steadyConn(t)
	stranger := *data
	stranger.SrcPort++
	before := *tr.Conns()[0]
	empty := New(Config{})
	allocs := testing.AllocsPerRun(100, func() {
		for _, seg := range []*Segment{data, &stranger} {
			for _, t := range []*Tracker{tr, empty} {
				h := t.Hasher().Hash(seg)
				t.PrefetchSlot(h)
				t.PrefetchConn(h)
				t.PrefetchTransitions(h)
				t.PrefetchTimers(seg.Time)
				t.PrefetchTimers(seg.Time + int64(time.Hour))
			}
			other := empty.Hasher().Hash(seg) // another table's: no prefetch
			tr.PrefetchSlot(other)
			tr.PrefetchConn(other)
			tr.PrefetchTransitions(other)
		}
	})
	if allocs != 0 {
		t.Errorf("prefetching allocates %.1f times", allocs)
	}
	if n := len(tr.Conns()); n != 1 || *tr.Conns()[0] != before || len(empty.Conns()) != 0 {
		t.Errorf("prefetching changed the trackers: %d connections", n)
	}
}

// TestPrefetchOfAParkedConnectionChangesNothing: a segment of a connection
// that ended and is parked among the compact TIME_WAIT records is looked up
// there; asking for its index slot and record allocates nothing and
// leaves the record as it was.
func TestPrefetchOfAParkedConnectionChangesNothing(t *testing.T) {
	tr, data, ack := steadyConn(t)
	fin, finAck := *data, *ack
	fin.Flags, fin.Payload, fin.Time = FIN|ACK, 0, data.Time+1000
	finAck.Flags, finAck.Ack, finAck.Time = FIN|ACK, fin.Seq+1, fin.Time+1000
	last := fin
	last.Flags, last.Seq, last.Ack, last.Time = ACK, fin.Seq+1, finAck.Seq+1, finAck.Time+1000
	for _, seg := range []*Segment{&fin, &finAck, &last} {
		tr.Observe(seg)
	}
	if tr.Parked() != 1 {
		t.Fatalf("%d parked, want the closed connection", tr.Parked())
	}
	before := *tr.twRecs.get(&tr.Conns()[0].Key)
	h := tr.Hasher().Hash(data)
	allocs := testing.AllocsPerRun(100, func() {
		tr.PrefetchSlot(h)
		tr.PrefetchConn(h)
		tr.PrefetchTransitions(h)
		tr.PrefetchTimers(last.Time + int64(time.Hour)) // its TIME_WAIT's end
	})
	if allocs != 0 {
		t.Errorf("prefetching allocates %.1f times", allocs)
	}
	if tr.Parked() != 1 || *tr.twRecs.get(&tr.Conns()[0].Key) != before {
		t.Errorf("prefetching changed the parked record")
	}
}

// TestObserveHashedTakesOnlyItsTablesHash: a hash made for another
// tracker's table, or none, is not used: the segment is found by its key.
func TestObserveHashedTakesOnlyItsTablesHash(t *testing.T) {
	tr, data, _ := steadyConn(t)
	other := New(Config{}).Hasher().Hash(data)
	for _, h := range []FlowHash{{}, other, tr.Hasher().Hash(data)} {
		data.Time += 1000
		data.Seq += 100
		tr.ObserveHashed(data, h)
		if n, c := len(tr.Conns()), tr.Conns()[0]; n != 1 || c.Half(Client).packets == 0 || c.Last != data.Time {
			t.Fatalf("with hash %+v the segment went elsewhere: %d connections", h, n)
		}
	}
}

func BenchmarkObserveKnownConn(b *testing.B) {
	tr, data, ack := steadyConn(b)
	b.ReportAllocs()
	for b.Loop() {
		data.Time += 1000
		data.Seq += 100
		tr.Observe(data)
		ack.Time += 1000
		ack.Ack += 100
		tr.Observe(ack)
	}
}

// TestTransitionStorage: transitions past the inline ones are kept in
// blocks, in order.
func TestTransitionStorage(t *testing.T) {
	var c Conn
	for i := 0; i < 30; i++ {
		c.addTrans(trans{time: int64(i), packet: uint64(i)})
	}
	trs := c.Transitions()
	if len(trs) != 30 {
		t.Fatalf("%d transitions, want 30", len(trs))
	}
	for i, tr := range trs {
		if tr.Time != int64(i) || tr.Packet != uint64(i) {
			t.Fatalf("transition %d is %+v", i, tr)
		}
	}
	if last, _ := c.LastTransition(); last.Time != 29 {
		t.Errorf("last transition %+v", last)
	}
}

// BenchmarkSweep: the live sweep of a flow table of 100,000 established
// connections that exchanged data, none of them due for a finding.
func BenchmarkSweep(b *testing.B) {
	const n = 100_000
	tr := New(Config{MaxConns: 2 * n})
	now := int64(1_700_000_000) * int64(time.Second)
	for i := range n {
		port := uint16(1024 + i%60000)
		client := AddrFrom4([4]byte{198, 18, 1, byte(i / 60000)})
		mk := func(from Side, flags Flags, seq, ack seqnum.Value, pay uint32) *Segment {
			now += int64(time.Microsecond)
			s := &Segment{Time: now, Flags: flags, Seq: seq, Ack: ack, Payload: pay, Window: 1000, WScale: -1}
			s.Src, s.SrcPort, s.Dst, s.DstPort = client, port, sAddr, 80
			if from == Server {
				s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, client, port
			}
			return s
		}
		tr.Observe(mk(Client, SYN, 100, 0, 0))
		tr.Observe(mk(Server, SYN|ACK, 500, 101, 0))
		tr.Observe(mk(Client, ACK, 101, 501, 0))
		tr.Observe(mk(Client, PSH|ACK, 101, 501, 100))
		tr.Observe(mk(Server, ACK, 501, 201, 0))
	}
	if got := len(tr.Conns()); got != n {
		b.Fatalf("%d connections, want %d", got, n)
	}
	b.ReportAllocs()
	for b.Loop() {
		tr.Sweep()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/conn")
}

// TestLastIsTheLatestTime: a segment stamped earlier than one before it
// (a capture whose clock stepped back) leaves a connection's Last at the
// latest time seen, so that its duration is never negative.
func TestLastIsTheLatestTime(t *testing.T) {
	tr, data, _ := steadyConn(t)
	c := tr.Conns()[0]
	latest := c.Last
	data.Time = c.First - int64(time.Second)
	tr.Observe(data)
	if c.Last != latest || c.Last < c.First {
		t.Errorf("Last %d after a segment stamped %d, want the latest, %d (First %d)", c.Last, data.Time, latest, c.First)
	}
}

// TestFloodLeavesNoTrailOfHoles: SYNs from as many sources, never
// answered, with a flow table of 10: the connections evicted or dropped
// leave holes in the list of connections, compacted as they pile up, so
// that it grows with what is kept (and the 4,096 evicted handshakes that
// wait for an answer at most with this table, evictedsyn.go), not with
// every SYN.
func TestFloodLeavesNoTrailOfHoles(t *testing.T) {
	tr := New(Config{MaxConns: 10, MaxKept: 10})
	const n = 200_000
	for i := range n {
		seg := Segment{Time: int64(1+i) * 10_000, Src: AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), SrcPort: uint16(1024 + i%60000),
			Dst: target, DstPort: 80, Flags: SYN, Seq: seqnum.Value(i), Window: 1000, WScale: -1}
		tr.Observe(&seg)
	}
	t.Logf("%d SYNs: %d connections listed (%d holes), %d in the table", n, len(tr.conns), tr.holes, tr.table.len())
	if len(tr.conns) > tr.maxHeldSYNs()+4096 {
		t.Errorf("%d connections listed after %d SYNs with a table of 10", len(tr.conns), n)
	}
}
