package tracker

import (
	"runtime"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// closeMany plays n short connections from distinct clients, each closed by
// the client first, so that each client ends in TIME_WAIT; spread over
// 50 s, so that none of them leaves TIME_WAIT (60 s) before the last.
func closeMany(tr *Tracker, n int, start int64) int64 {
	now := start
	gap := int64(50*time.Second) / int64(n)
	for i := 0; i < n; i++ {
		seg := Segment{Src: source(i), SrcPort: uint16(1024 + i%60000), Dst: target, DstPort: 80, Window: 1000, WScale: -1}
		now = closeOne(tr, seg, start+int64(i)*gap, time.Microsecond)
	}
	return now
}

// closeOne plays a connection closed by the client first, its segments
// made from seg (addresses and ports the client's to the server's), one
// every step after now; it returns the time of the last.
func closeOne(tr *Tracker, seg Segment, now int64, step time.Duration) int64 {
	for _, x := range [...]struct {
		fromClient bool
		f          Flags
		seq, ack   uint32
	}{{true, SYN, 100, 0}, {false, SYN | ACK, 500, 101}, {true, ACK, 101, 501},
		{true, FIN | ACK, 101, 501}, {false, FIN | ACK, 501, 102}, {true, ACK, 102, 502}} {
		now += int64(step)
		s := seg
		if !x.fromClient {
			s.Src, s.SrcPort, s.Dst, s.DstPort = seg.Dst, seg.DstPort, seg.Src, seg.SrcPort
		}
		s.Time, s.Flags, s.Seq, s.Ack = now, x.f, seqnum.Value(x.seq), seqnum.Value(x.ack)
		tr.Observe(&s)
	}
	return now
}

// heapBytes returns the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestTimeWaitsAreCompact: connections waiting out TIME_WAIT whose full
// records the store no longer keeps cost the tracker at most 150 bytes
// each (the goal: a million TIME_WAITs in 150 MB), and each is still
// followed.
func TestTimeWaitsAreCompact(t *testing.T) {
	const n = 250_000
	before := heapBytes()
	tr := New(Config{MaxKept: 100, MaxConns: n / 10})
	closeMany(tr, n, int64(1_700_000_000)*int64(time.Second))
	per := float64(heapBytes()-before) / n
	if tr.Parked() != n {
		t.Fatalf("%d connections parked in TIME_WAIT, want %d", tr.Parked(), n)
	}
	t.Logf("%.0f bytes per TIME_WAIT", per)
	if per > 150 {
		t.Errorf("%.0f bytes per TIME_WAIT, want at most 150", per)
	}
	runtime.KeepAlive(tr)
}

// BenchmarkTimeWaits reports the bytes a million TIME_WAITs take in the
// flow table, beside a store of ended connections kept small (its cost,
// about 1.3 KB per connection kept, is bounded by MaxKept).
func BenchmarkTimeWaits(b *testing.B) {
	for b.Loop() {
		before := heapBytes()
		tr := New(Config{MaxKept: 1000})
		closeMany(tr, 1_000_000, int64(1_700_000_000)*int64(time.Second))
		after := heapBytes()
		b.ReportMetric(float64(after-before)/1e6, "bytes/timewait")
		b.ReportMetric(float64(tr.Parked()), "parked")
		runtime.KeepAlive(tr)
	}
}

// TestForgottenTimeWaitJudgedOnItsRecord: once the store forgot a
// connection in TIME_WAIT, its compact record still judges what arrives:
// the server's FIN again is absorbed (no new connection), and a new SYN
// opens the next connection, with port_reuse for the client's TIME_WAIT.
func TestForgottenTimeWaitJudgedOnItsRecord(t *testing.T) {
	tr := New(Config{MaxKept: 1})
	now := closeMany(tr, 3, int64(1_700_000_000)*int64(time.Second))
	if ev := tr.Evicted(); ev.Forgotten != 2 || tr.Parked() != 3 {
		t.Fatalf("forgotten %d, parked %d; want 2, 3", ev.Forgotten, tr.Parked())
	}
	src, sp := source(0), uint16(1024)
	fin := Segment{Time: now + int64(time.Second), Src: target, SrcPort: 80, Dst: src, DstPort: sp,
		Flags: FIN | ACK, Seq: 501, Ack: 102, Window: 1000, WScale: -1}
	tr.Observe(&fin)
	if tr.Parked() != 3 || len(tr.Conns()) != 1 || tr.lateSegments != 1 {
		t.Fatalf("after the FIN again: parked %d, %d connections, %d late; want 3, 1, 1", tr.Parked(), len(tr.Conns()), tr.lateSegments)
	}
	syn := Segment{Time: fin.Time + int64(time.Second), Src: src, SrcPort: sp, Dst: target, DstPort: 80,
		Flags: SYN, Seq: 9000, Window: 1000, WScale: -1}
	tr.Observe(&syn)
	cs := tr.Conns()
	if tr.Parked() != 2 || len(cs) != 2 || cs[1].State(Client) != SynSent {
		t.Fatalf("after a new SYN: parked %d, %d connections; want 2, 2 with the new one in SYN_SENT", tr.Parked(), len(cs))
	}
	if as := tr.Anomalies(); len(as) != 1 || as[0].Kind != PortReuse || as[0].Conn != cs[1].ID || as[0].Side != Client {
		t.Errorf("findings %+v, want port_reuse for the client of the new connection", as)
	}
}

// TestTimeWaitsOfTwoTunnels: the same inner 4-tuple closed in two tunnels
// leaves two TIME_WAIT records, and a SYN in one tunnel reuses only its own.
func TestTimeWaitsOfTwoTunnels(t *testing.T) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	for _, tun := range []uint32{0, 7} {
		seg := Segment{Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80, Window: 1000, WScale: -1, Tunnel: tun}
		now = closeOne(tr, seg, now, time.Millisecond)
	}
	if tr.Parked() != 2 {
		t.Fatalf("%d TIME_WAIT records, want 2", tr.Parked())
	}
	syn := Segment{Time: now + int64(time.Second), Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80, Flags: SYN,
		Seq: 9000, Window: 1000, WScale: -1, Tunnel: 7}
	tr.Observe(&syn)
	cs := tr.Conns()
	if tr.Parked() != 1 || len(cs) != 3 || cs[0].State(Client) != TimeWait || cs[2].State(Client) != SynSent {
		t.Errorf("after a SYN in tunnel 7: %d parked, %d connections; want 1, 3 (tunnel 0's still in TIME_WAIT)", tr.Parked(), len(cs))
	}
}

func TestForgottenRecordNamesNoFullRecord(t *testing.T) {
	for _, counted := range []bool{false, true} {
		r := twRecord{id: 7, bits: 12345<<twFlags | twUsed | twFrozenOther | twClientIsA}
		r.setState(Client, TimeWait)
		r.forgotten(counted)
		if r.bits&(twFrozen|twFrozenOther) != 0 || !r.used() || !r.clientIsA() || r.state(Client) != TimeWait {
			t.Errorf("counted %v: bits %#x: frozen bits left, or used, client or states lost", counted, r.bits)
		}
		if got := r.bits&twCounted != 0; got != counted || r.idx()&^1 != 0 {
			t.Errorf("counted %v: bits %#x: index %d", counted, r.bits, r.idx())
		}
	}
}
