package tracker

import (
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestFrozenTimeWaitEndsAsWholeOnes: the TIME_WAIT of a connection frozen
// as soon as it ended, or forgotten, ends when a whole one's does, 2×MSL
// after it began or after the peer's FIN sent again, and is told then.
func TestFrozenTimeWaitEndsAsWholeOnes(t *testing.T) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	tests := []struct {
		name     string
		finAgain time.Duration // after the server's FIN, the same FIN again; 0: none
		want     time.Duration // the TIME_WAIT's end, after the server's FIN
	}{
		{"it runs out 2×MSL after it began", 0, 2 * msl},
		{"a FIN sent again restarts it", 500 * time.Millisecond, 500*time.Millisecond + 2*msl},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ends [3]int64 // whole, frozen, forgotten: when the client's TIME_WAIT ended
			var told [3]int   // transitions told of frozen or forgotten connections
			for i, keep := range []struct{ full, kept int }{{1 << 30, 0}, {1, 0}, {1, 2}} {
				cfg := Config{MSL: msl, MaxFull: keep.full, MaxKept: keep.kept}
				note := func(id uint64, tr Transition) {
					if id == 1 && tr.From == TimeWait && tr.Side == Client {
						ends[i] = tr.Time
					}
				}
				cfg.OnTransition = func(c *Conn, tr Transition) { note(c.ID, tr) }
				cfg.OnFrozenTransition = func(r *Record, tr Transition) { note(r.ID, tr); told[i]++ }
				tr := New(cfg)
				now := start
				seg := steppedConn(tr, &now, cli, 40000)
				openStepped(seg)
				seg(true, FIN|ACK, 101, 901)
				fin := now
				seg(false, FIN|ACK, 901, 102)
				seg(true, ACK, 102, 902)
				now = shortConns(tr, now, 6, 0) // ended after it: beyond 4×MaxFull it is frozen
				if tc.finAgain > 0 {
					now = fin + int64(tc.finAgain)
					seg(false, FIN|ACK, 901, 102)
				}
				tr.Advance(start + int64(10*time.Second))
				tr.Finish()
				if i == 1 && tr.Frozen() == 0 {
					t.Fatal("no connection was frozen")
				}
				if i == 2 && tr.Evicted().Forgotten == 0 {
					t.Fatal("no connection was forgotten")
				}
			}
			fin := start + 4*int64(time.Millisecond) // the server's first FIN
			if got := time.Duration(ends[0] - fin); got != tc.want {
				t.Errorf("whole: the TIME_WAIT ended %v after the FIN, want %v", got, tc.want)
			}
			for i, what := range []string{"", "frozen", "forgotten"} {
				if i == 0 {
					continue
				}
				if ends[i] != ends[0] {
					t.Errorf("%s: the TIME_WAIT ended %v after the FIN, the whole one's %v", what, time.Duration(ends[i]-fin), time.Duration(ends[0]-fin))
				}
				if told[i] == 0 {
					t.Errorf("%s: no transition of a connection not kept whole was told", what)
				}
			}
		})
	}
}

// closeConn feeds one connection from 198.18.0.1:port to target:svc at
// now, closed by the client first (the client ends in TIME_WAIT); without
// lastACK the client's last ACK is not captured, and the server stays in
// LAST_ACK (the connection stays in the flow table).
func closeConn(tr *Tracker, now int64, port, svc uint16, lastACK bool) int64 {
	cli := AddrFrom4([4]byte{198, 18, 0, 1})
	seg := func(c2s bool, f Flags, seq, ack uint32) {
		now += int64(time.Millisecond) / 10
		s := Segment{Time: now, Src: cli, SrcPort: port, Dst: target, DstPort: svc, Flags: f, Window: 1000, WScale: -1}
		if !c2s {
			s.Src, s.SrcPort, s.Dst, s.DstPort = target, svc, cli, port
		}
		s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
		tr.Observe(&s)
	}
	openStepped(seg)
	seg(true, FIN|ACK, 101, 901)
	seg(false, FIN|ACK, 901, 102)
	if lastACK {
		seg(true, ACK, 102, 902)
	}
	return now
}

// TestFrozenTimeWaitIsLeftOnce: a connection whose client is in TIME_WAIT
// and that leaves the flow table (evicted: retire counts its TIME_WAIT as
// left, "its expiry will not be followed") and is then frozen must not
// leave its TIME_WAIT a second time when its frozen timer fires: the
// build-up detector's count of the pair would go below the TIME_WAITs held.
func TestFrozenTimeWaitIsLeftOnce(t *testing.T) {
	const msl = 10 * time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	sec := int64(time.Second)
	pair := twKey{host: AddrFrom4([4]byte{198, 18, 0, 1}), addr: target, port: 80}
	run := func(maxFull int) (mid, end int, found bool) {
		tr := New(Config{MSL: msl, MaxConns: 5, MaxFull: maxFull, Thresholds: Thresholds{TimeWaitLimit: 8}})
		// 5 connections whose server stays in LAST_ACK: they stay in the
		// flow table, whose cap (5) evicts the first when the next comes.
		for i := range 5 {
			closeConn(tr, start+int64(i)*int64(time.Millisecond), uint16(40000+i), 80, false)
		}
		// 5 s later, 3 closed cleanly (parked): the first evicts #1.
		for i := range 3 {
			closeConn(tr, start+5*sec+int64(i)*int64(time.Millisecond), uint16(41000+i), 80, true)
		}
		// 2×MSL after the first ones: their TIME_WAITs are over, the 3
		// later ones' are not.
		tr.Advance(start + 21*sec)
		if p := tr.tw.pairs[pair]; p != nil {
			mid = p.count
		}
		// 6 more: 9 TIME_WAITs held at once, above the limit of 8.
		for i := range 6 {
			closeConn(tr, start+21*sec+int64(i)*int64(time.Millisecond), uint16(42000+i), 80, true)
		}
		if p := tr.tw.pairs[pair]; p != nil {
			end = p.count
		}
		for _, a := range tr.Anomalies() {
			if a.Kind == TimeWaitBuildup {
				found = true
			}
		}
		return mid, end, found
	}
	for _, tc := range []struct {
		name    string
		maxFull int
	}{{"whole", 1 << 30}, {"frozen", 1}} {
		mid, end, found := run(tc.maxFull)
		t.Logf("%s: %d TIME_WAITs counted after the first ones expired (3 held), %d after 6 more (9 held); build-up found: %v", tc.name, mid, end, found)
		if mid != 3 || end != 9 || !found {
			t.Errorf("%s: counted %d then %d TIME_WAITs, want 3 then 9; build-up found %v, want true", tc.name, mid, end, found)
		}
	}
}

// TestSYNAfterAFrozenTimeWaitRanOutIsNoReuse: a connection whose client's
// TIME_WAIT ran out while it was still whole, frozen after that but while
// its compact record still waits (its last segment, the client's ACK of
// the server's FIN, came a round trip after that FIN), must not make a SYN
// on its 4-tuple a port_reuse: whole, it does not.
func TestSYNAfterAFrozenTimeWaitRanOutIsNoReuse(t *testing.T) {
	const msl = time.Second
	const rtt = 300 * time.Millisecond
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	for _, maxFull := range []int{1 << 30, 1} {
		tr := New(Config{MSL: msl, MaxFull: maxFull})
		now := start
		seg := func(port uint16, fromClient bool, f Flags, seq, ack uint32, gap time.Duration) {
			now += int64(gap)
			s := Segment{Time: now, Src: cli, SrcPort: port, Dst: target, DstPort: 80, Flags: f, Window: 1000, WScale: -1}
			if !fromClient {
				s.Src, s.SrcPort, s.Dst, s.DstPort = target, 80, cli, port
			}
			s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
			tr.Observe(&s)
		}
		conn := func(port uint16) {
			seg(port, true, SYN, 100, 0, rtt/2)
			seg(port, false, SYN|ACK, 900, 101, rtt/2)
			seg(port, true, ACK, 101, 901, rtt/2)
			seg(port, true, FIN|ACK, 101, 901, rtt/2)
			seg(port, false, FIN|ACK, 901, 102, rtt/2)
			seg(port, true, ACK, 102, 902, rtt) // a round trip later (captured at the server)
		}
		conn(40000)
		fin := now - int64(rtt) // the server's FIN
		// Just after the client's TIME_WAIT ran out (2×MSL after the FIN),
		// before its compact record expires (2×MSL after its last segment):
		// more connections end, beyond freezeHard×MaxFull.
		now = fin + int64(2*msl) + int64(10*time.Millisecond)
		tr.Advance(now)
		for i := range 5 {
			p := uint16(41000 + i)
			seg(p, true, SYN, 100, 0, time.Millisecond)
			seg(p, false, SYN|ACK, 900, 101, time.Millisecond)
			seg(p, true, ACK, 101, 901, time.Millisecond)
			seg(p, true, FIN|ACK, 101, 901, time.Millisecond)
			seg(p, false, FIN|ACK, 901, 102, time.Millisecond)
			seg(p, true, ACK, 102, 902, time.Millisecond)
		}
		seg(40000, true, SYN, 5000, 0, time.Millisecond) // the next connection on the 4-tuple
		tr.Finish()
		var reuse []Anomaly
		for _, a := range tr.Anomalies() {
			if a.Kind == PortReuse {
				reuse = append(reuse, a)
			}
		}
		t.Logf("MaxFull %d: %d frozen, port_reuse findings %v", maxFull, tr.Frozen(), reuse)
		if len(reuse) > 0 {
			t.Errorf("MaxFull %d: a SYN after the TIME_WAIT ran out is a port_reuse: %v", maxFull, reuse[0].Detail)
		}
	}
}

// TestReleaseFreesFrozenTimers: Release frees "the timers" once the report
// has its Records; the frozen Records' TIME_WAIT timers (frozentw.go) are
// timers too, one per frozen side still in TIME_WAIT at the end of input.
func TestReleaseFreesFrozenTimers(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{MSL: 30 * time.Second, MaxFull: 1, OnFrozenTransition: func(*Record, Transition) {}})
	shortConns(tr, start, 5000, 0)
	tr.Finish()
	_ = tr.Records()
	before := len(tr.frozenTWs)
	tr.Release()
	if n := len(tr.frozenTWs); n > 0 || before == 0 {
		t.Errorf("after Release, %d frozen TIME_WAIT timers are still held (%d before)", n, before)
	}
}

// TestTimerHeapPopsInDueOrder: whatever order timers are pushed in, and
// however pushes and pops interleave, each pop returns the timer due first
// of those queued.
func TestTimerHeapPopsInDueOrder(t *testing.T) {
	var h frozenTimers
	var queued []int64 // the dues pushed and not popped, sorted
	rng := uint64(7)
	next := func() int64 { rng = rng*6364136223846793005 + 1442695040888963407; return int64(rng>>54) - 500 }
	pop := func() {
		tm := h.pop()
		if tm.due != queued[0] {
			t.Fatalf("popped %d, want %d, the earliest of %d queued", tm.due, queued[0], len(queued))
		}
		queued = queued[1:]
	}
	for i := range 20000 {
		d := next()
		h.push(frozenTimer{due: d})
		j, _ := slices.BinarySearch(queued, d)
		queued = slices.Insert(queued, j, d)
		if i%3 == 0 {
			pop()
		}
	}
	for len(h) > 0 {
		pop()
	}
	if len(queued) != 0 {
		t.Fatalf("%d timers lost", len(queued))
	}
}
