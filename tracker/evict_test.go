package tracker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestEvictionLosesTheLeast fills a table of two connections and opens a
// third: what is evicted follows what it would lose.
func TestEvictionLosesTheLeast(t *testing.T) {
	const (
		established = iota // a handshake completed
		closedTW           // closed by the client: TIME_WAIT
		handshake          // a SYN not answered yet
	)
	for _, tc := range []struct {
		name      string
		first     int           // the first connection's kind
		idle      time.Duration // since its last segment when the others come
		want      Evictions
		wantFirst bool // the first connection is still followed
	}{
		{"an idle established connection goes before a handshake in progress", established, 2 * time.Minute,
			Evictions{Established: 1}, false},
		{"a handshake in progress goes before an established connection active less than --stuck ago", established, 30 * time.Second,
			Evictions{Embryonic: 1}, true},
		{"a TIME_WAIT never displaces a SYN waiting for its answer", closedTW, time.Second, Evictions{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{MaxConns: 2})
			now := int64(1_700_000_000) * int64(time.Second)
			seg := func(port uint16, fromClient bool, f Flags, seq, ack uint32) {
				now += int64(time.Millisecond)
				s := Segment{Time: now, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: f,
					Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Window: 1000, WScale: -1}
				if !fromClient {
					s.Src, s.SrcPort, s.Dst, s.DstPort = sAddr, 80, cAddr, port
				}
				tr.Observe(&s)
			}
			seg(40000, true, SYN, 100, 0)
			seg(40000, false, SYN|ACK, 500, 101)
			seg(40000, true, ACK, 101, 501)
			if tc.first == closedTW {
				seg(40000, true, FIN|ACK, 101, 501)
				seg(40000, false, FIN|ACK, 501, 102)
				seg(40000, true, ACK, 102, 502)
			}
			now += int64(tc.idle)
			seg(40001, true, SYN, 700, 0)
			seg(40002, true, SYN, 900, 0)
			if ev := tr.Evicted(); ev != tc.want {
				t.Errorf("evicted %+v, want %+v", ev, tc.want)
			}
			k, _ := keyOf(&Segment{Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80})
			if got := tr.table.get(&k) != nil || tr.twRecs.get(&k) != nil; got != tc.wantFirst {
				t.Errorf("first connection followed: %v, want %v", got, tc.wantFirst)
			}
		})
	}
}

// TestForgottenCountedInTheirState: connections picked up mid-stream at an
// ACK and its answer (ESTABLISHED on both sides), evicted from a small
// table and forgotten from a small store, are still counted ESTABLISHED;
// clients forgotten in a TIME_WAIT that ran out by the end count as CLOSED.
func TestForgottenCountedInTheirState(t *testing.T) {
	tr := New(Config{MaxConns: 10, MaxKept: 10})
	now := int64(1_700_000_000) * int64(time.Second)
	for i := 0; i < 1000; i++ {
		now += int64(time.Millisecond)
		s := Segment{Time: now, Src: source(i), SrcPort: 40000, Dst: target, DstPort: 80, Flags: ACK,
			Seq: 1000, Ack: 2000, Window: 1000, WScale: -1}
		tr.Observe(&s)
		s.Src, s.SrcPort, s.Dst, s.DstPort, s.Seq, s.Ack = target, 80, source(i), 40000, 2000, 1000
		s.Time += int64(time.Microsecond)
		tr.Observe(&s)
	}
	closeMany(tr, 100, now)
	tr.Advance(now + int64(2*time.Minute))
	tr.Finish()
	f := tr.ForgottenStates()
	var est, closed uint64
	for _, c := range tr.Conns() {
		switch c.State(Client) {
		case Established:
			est++
		case Closed:
			closed++
		}
	}
	if est+f[Client][Established] != 1000 || closed+f[Client][Closed] != 100 || f[Client][TimeWait] != 0 {
		t.Errorf("clients ESTABLISHED %d+%d, CLOSED %d+%d, TIME_WAIT %d forgotten; want 1000, 100 and 0",
			est, f[Client][Established], closed, f[Client][Closed], f[Client][TimeWait])
	}
}

// TestTimeWaitTableFullDropsTheOldest: beyond ten times MaxConns the
// oldest TIME_WAIT records go, counted; the connections stay in the report.
func TestTimeWaitTableFullDropsTheOldest(t *testing.T) {
	for _, keep := range []int{1000, 3} { // full records stored, and forgotten
		tr := New(Config{MaxConns: 1, MaxKept: keep})
		closeMany(tr, 15, int64(1_700_000_000)*int64(time.Second))
		tr.Finish()
		if ev := tr.Evicted(); ev.TimeWait != 5 || tr.Parked() != 10 || uint64(len(tr.Conns()))+ev.Forgotten != 15 {
			t.Errorf("keep %d: %d TIME_WAIT records dropped, %d parked, %d listed + %d forgotten; want 5, 10, 15 in all",
				keep, ev.TimeWait, tr.Parked(), len(tr.Conns()), ev.Forgotten)
		}
	}
}

// TestEvictionTakesTheIdlestFirst: connections left in CLOSE_WAIT one
// after another, more than the flow table holds. The table evicts the one
// idle longest, so every one evicted has been idle past --stuck and is
// flagged close_wait_stuck when it goes, as with a table that holds them
// all: the same findings whatever the cap. (The table took the idlest of
// the oldest 16 in order of opening and sent the others to the back, so
// it soon evicted young connections, and kept older ones unjudged.)
func TestEvictionTakesTheIdlestFirst(t *testing.T) {
	const n = 5000 // 4 ms apart: 20 s
	run := func(maxConns int) (stuck int, evicted uint64) {
		tr := New(Config{MaxConns: maxConns, Thresholds: Thresholds{Stuck: time.Second}})
		now := int64(1_700_000_000) * int64(time.Second)
		for i := range n {
			cli := AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			seg := steppedConn(tr, &now, cli, uint16(1024+i))
			openStepped(seg)
			seg(true, FIN|ACK, 101, 901)
			seg(false, ACK, 901, 102) // the server never closes: CLOSE_WAIT
		}
		tr.Finish()
		return tr.kindCount[CloseWaitStuck], tr.Evicted().Established
	}
	want, _ := run(1 << 20)
	for _, maxConns := range []int{4000, 2000} {
		got, evicted := run(maxConns)
		t.Logf("--max-conns %d: %d close_wait_stuck, %d evicted; unbound %d", maxConns, got, evicted, want)
		if evicted == 0 || got != want {
			t.Errorf("--max-conns %d: %d close_wait_stuck (%d evicted), want %d", maxConns, got, evicted, want)
		}
	}
}

// TestUnparkedHandshakesCanBeEvicted: refused connects (SYN, RST) wait
// out 2×MSL as compact records; their handshake timers run out meanwhile.
// The same SYNs again bring them back into the table, with a table of
// 4 and more SYNs to come: they can be evicted, as any handshake, and the
// table stays within its cap (they were in no eviction queue, and it
// grew to 11).
func TestUnparkedHandshakesCanBeEvicted(t *testing.T) {
	tr := New(Config{MaxConns: 4})
	now := int64(1_700_000_000) * int64(time.Second)
	syn := func(c byte, i int) {
		now += int64(time.Millisecond)
		tr.Observe(&Segment{Time: now, Src: AddrFrom4([4]byte{198, 18, c, byte(i)}), SrcPort: 2000, Dst: target, DstPort: 80, Flags: SYN, Seq: 100, Window: 1000, WScale: -1})
	}
	var refused []func(bool, Flags, uint32, uint32)
	for i := range 10 {
		x := steppedConn(tr, &now, review3Pair.host, uint16(40000+i))
		x(true, SYN, 1000, 0)
		x(false, RST|ACK, 0, 1001)
		refused = append(refused, x)
	}
	now += int64(5 * time.Second)
	for i := range 8 {
		syn(1, i)
	}
	for _, x := range refused {
		x(true, SYN, 1000, 0)
	}
	for i := range 100 {
		now += int64(time.Second)
		syn(3, i)
	}
	if n := tr.table.len(); n > 4 {
		t.Errorf("the table holds %d, --max-conns 4", n)
	}
}

// TestEvictedConnectionsAreJudgedAtTheEnd: servers that never close leave
// connections in CLOSE_WAIT, more of them than the flow table holds, each
// evicted before it has been idle for --stuck. At the end of input each is
// stuck, and found so as with a table large enough, whether it is still
// kept whole or was frozen since. When the server aborts them later with
// an RST, or closes them, each kept whole comes back into the table for
// it, and ends as with a table large enough: the same findings and
// states, nothing evicted in the end (a connection picked up mid-stream
// from the server's FIN instead took the client for one in CLOSE_WAIT).
// For one frozen since, the RST is a lone segment, the FIN opens a
// connection picked up mid-stream, and the frozen connection is judged as
// of then: the same findings of the connections opened by a SYN. (Those
// picked up mid-stream from the FIN take the client for one in CLOSE_WAIT,
// as the evidence they have says; the last thousand, still in the table
// at the end, are found stuck.)
func TestEvictedConnectionsAreJudgedAtTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		later      Flags // what the server sends each of them after all are open, if anything
		sameStates bool  // the summary's states are those of a table large enough
	}{
		{"kept whole", 3000, 0, true},
		{"frozen", 25000, 0, true}, // beyond the 16,384 kept whole
		{"kept whole, aborted later", 3000, RST | ACK, true},
		{"kept whole, closed later", 3000, FIN | ACK, true},
		{"frozen, aborted later", 25000, RST | ACK, false},
		{"frozen, closed later", 25000, FIN | ACK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := func(maxConns int) (*Tracker, int) {
				tr := New(Config{MaxConns: maxConns, Thresholds: Thresholds{Stuck: time.Minute, MaxAnomalies: 1 << 20}})
				now := int64(1_700_000_000) * int64(time.Second)
				conns := make([]func(bool, Flags, uint32, uint32), tc.n)
				for i := range tc.n {
					conns[i] = steppedConn(tr, &now, AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(1024+i))
					openStepped(conns[i])
					conns[i](true, FIN|ACK, 101, 901)
					conns[i](false, ACK, 901, 102) // the server does not close: CLOSE_WAIT
				}
				for _, seg := range conns {
					if tc.later != 0 {
						seg(false, tc.later, 901, 102)
					}
					if tc.later&FIN != 0 {
						seg(true, ACK, 102, 902)
					}
				}
				tr.Advance(now + int64(2*time.Minute))
				tr.Finish()
				midstream := map[uint64]bool{}
				for _, r := range tr.Records() {
					midstream[r.ID] = r.Midstream
				}
				n := 0
				for _, a := range tr.Anomalies() {
					if a.Kind == CloseWaitStuck && !midstream[a.Conn] {
						n++
					}
				}
				return tr, n
			}
			whole, want := run(1 << 20)
			tr, got := run(1000)
			t.Logf("%d close_wait_stuck, %d unbound; %d evicted in the end", got, want, tr.Evicted().Established)
			if got != want {
				t.Errorf("--max-conns 1000: %d close_wait_stuck, want %d as unbound", got, want)
			}
			if tc.sameStates && statesOf(tr) != statesOf(whole) {
				t.Errorf("--max-conns 1000: states %v, want %v as unbound", statesOf(tr), statesOf(whole))
			}
			if tc.later != 0 && tc.sameStates && tr.Evicted().Established != 0 {
				t.Errorf("%d counted as evicted, want 0: every one came back", tr.Evicted().Established)
			}
		})
	}
}

// TestLateSidesJudgeAsTheWhole: what a frozen Record keeps of an evicted
// connection's sides (lateSide) is judged as the whole connection is, by
// the detectors time alone decides: stuck in CLOSE_WAIT, its peer left in
// FIN_WAIT_2; a zero window.
func TestLateSidesJudgeAsTheWhole(t *testing.T) {
	for name, feed := range map[string]func(seg func(bool, Flags, uint32, uint32), win func(bool, uint16)){
		"close_wait": func(seg func(bool, Flags, uint32, uint32), _ func(bool, uint16)) {
			openStepped(seg)
			seg(true, FIN|ACK, 101, 901)
			seg(false, ACK, 901, 102)
		},
		"zero window": func(seg func(bool, Flags, uint32, uint32), win func(bool, uint16)) {
			openStepped(seg)
			win(false, 0)
		},
	} {
		t.Run(name, func(t *testing.T) {
			tr := New(Config{Thresholds: Thresholds{Stuck: time.Second}})
			now := int64(1_700_000_000) * int64(time.Second)
			seg := steppedConn(tr, &now, review3Pair.host, 40000)
			win := func(fromClient bool, w uint16) {
				s := Segment{Time: now, Src: target, SrcPort: 80, Dst: review3Pair.host, DstPort: 40000, Flags: ACK, Seq: 901, Ack: 101, Window: w, WScale: -1}
				if fromClient {
					s.Src, s.SrcPort, s.Dst, s.DstPort, s.Seq, s.Ack = review3Pair.host, 40000, target, 80, 101, 901
				}
				tr.Observe(&s)
				now += int64(time.Millisecond)
			}
			feed(seg, win)
			c := tr.conns[0]
			late := lateOf(c)
			scratch := Conn{ID: c.ID, First: c.First, Last: c.Last, Key: c.Key, clientIsA: c.clientIsA}
			for s := range scratch.half {
				late[s].restore(&scratch.half[s])
			}
			at := now + int64(time.Minute)
			want := detectPath(c, at, &tr.th, pass{}, detectClose(c, at, &tr.th, pass{}, nil))
			got := detectPath(&scratch, at, &tr.th, pass{}, detectClose(&scratch, at, &tr.th, pass{}, nil))
			if len(want) == 0 {
				t.Fatal("the whole connection has no finding: the case tests nothing")
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("judged from what a frozen Record keeps:\n%v\nwant, as the whole connection:\n%v", got, want)
			}
		})
	}
}

// TestEvictedConnectionsSegmentsAreNoFlood: connections evicted from a full
// table, then frozen, or forgotten (--keep 1000), each send a keepalive
// later. Each is a segment of a 4-tuple no connection in the table
// follows, as a flood's are; but its connection was evicted open, so it is
// that connection's, not a flood's: no ack_flood, as with a table large
// enough.
func TestEvictedConnectionsSegmentsAreNoFlood(t *testing.T) {
	for _, keep := range []int{0, 1000} {
		run := func(maxConns, keep int) *Tracker {
			tr := New(Config{MaxConns: maxConns, MaxKept: keep})
			now := int64(1_700_000_000) * int64(time.Second)
			conns := make([]func(bool, Flags, uint32, uint32), 25000) // beyond the 16,384 kept whole
			for i := range conns {
				conns[i] = steppedConn(tr, &now, AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(1024+i))
				openStepped(conns[i])
			}
			for _, seg := range conns {
				seg(true, ACK, 100, 901) // a keepalive: one byte behind
			}
			tr.Finish()
			return tr
		}
		if got := run(1000, keep).kindCount[AckFlood]; got != run(1<<20, 1<<20).kindCount[AckFlood] {
			t.Errorf("--max-conns 1000 --keep %d: %d ack_flood, want none, as unbound", keep, got)
		}
	}
}

// TestConnectionPickedUpAfterAnEvictionIsNotJudgedAgain: a CLOSE_WAIT
// connection is evicted; the server then closes (FIN, the
// client's ACK): those two segments go to the lone table and open a
// mid-stream connection by promotion, in which the client is inferred in
// CLOSE_WAIT. Evicted in turn before --stuck, it is not judged again
// at the end: with a table large enough nothing is stuck.
func TestConnectionPickedUpAfterAnEvictionIsNotJudgedAgain(t *testing.T) {
	run := func(maxConns int) (int, uint64) {
		tr := New(Config{MaxConns: maxConns, Thresholds: Thresholds{Stuck: time.Minute}})
		now := int64(1_700_000_000) * int64(time.Second)
		a := steppedConn(tr, &now, AddrFrom4([4]byte{10, 1, 0, 1}), 5000)
		openStepped(a)
		a(true, FIN|ACK, 101, 901)
		a(false, ACK, 901, 102) // the server in CLOSE_WAIT
		fill := func(base int) {
			for i := range 10 {
				f := steppedConn(tr, &now, AddrFrom4([4]byte{10, 2, byte(base), byte(i)}), uint16(2000+i))
				openStepped(f)
			}
		}
		now += int64(10 * time.Second)
		fill(0)                     // a evicted (idlest), in CLOSE_WAIT
		a(false, FIN|ACK, 901, 102) // the server closes: a lone segment
		a(true, ACK, 102, 902)      // the client's ACK: promoted, a mid-stream connection
		now += int64(10 * time.Second)
		fill(1) // the mid-stream one evicted, before --stuck
		tr.Advance(now + int64(2*time.Minute))
		tr.Finish()
		return tr.kindCount[CloseWaitStuck], tr.Evicted().Established
	}
	want, _ := run(1 << 20)
	got, ev := run(10)
	t.Logf("--max-conns 10: %d close_wait_stuck (%d evicted); unbounded %d", got, ev, want)
	if got != want {
		t.Errorf("--max-conns 10: %d close_wait_stuck, want %d as unbound", got, want)
	}
}

// TestEvictionVictimFrozenAtOnceIsJudgedAgain: the victim of an eviction
// can be frozen as it is kept (it is at the front of the ended connections
// and quiet, and the store is over MaxFull: here a refused connection,
// recent, in the lower rank). It is still judged again at the end: its
// CLOSE_WAIT is found stuck, as with a table large enough.
func TestEvictionVictimFrozenAtOnceIsJudgedAgain(t *testing.T) {
	run := func(maxConns int) (int, uint64, int) {
		tr := New(Config{MaxConns: maxConns, MaxFull: 1, Thresholds: Thresholds{Stuck: time.Minute}})
		now := int64(1_700_000_000) * int64(time.Second)
		v := steppedConn(tr, &now, AddrFrom4([4]byte{10, 1, 0, 1}), 5000)
		openStepped(v)
		v(true, FIN|ACK, 101, 901)
		v(false, ACK, 901, 102) // the server in CLOSE_WAIT
		for i := range 2 {
			openStepped(steppedConn(tr, &now, AddrFrom4([4]byte{10, 2, 0, byte(i)}), uint16(2000+i)))
		}
		now += int64(10 * time.Second)
		u := steppedConn(tr, &now, AddrFrom4([4]byte{10, 3, 0, 1}), 6000)
		u(true, SYN, 100, 0)
		u(false, RST|ACK, 0, 101) // refused: ended, unanswered, recent
		for i := range 3 {
			openStepped(steppedConn(tr, &now, AddrFrom4([4]byte{10, 4, 0, byte(i)}), uint16(3000+i)))
		}
		tr.Advance(now + int64(2*time.Minute))
		tr.Finish()
		return tr.kindCount[CloseWaitStuck], tr.Evicted().Established, tr.Frozen()
	}
	want, _, _ := run(1 << 20)
	got, ev, frozen := run(4)
	t.Logf("--max-conns 4: %d close_wait_stuck (%d evicted, %d frozen); unbounded %d", got, ev, frozen, want)
	if ev == 0 || got != want {
		t.Errorf("--max-conns 4: %d close_wait_stuck, want %d as unbound", got, want)
	}
}

// TestEvictedWhileClosingComesBack: clients close (FIN_WAIT_1) and are
// evicted from a full table before the server acknowledges their FIN; the
// server's ACK and FIN, and the client's last ACK, follow. Judged as it is
// evicted, a connection takes no inference that only the end of input
// allows (its FIN acknowledged because the input ended), so it comes back
// with the server's ACK and ends as with a table large enough: the client
// in TIME_WAIT, no connection picked up mid-stream.
func TestEvictedWhileClosingComesBack(t *testing.T) {
	run := func(maxConns int) *Tracker {
		tr := New(Config{MaxConns: maxConns})
		now := int64(1_700_000_000) * int64(time.Second)
		conns := make([]func(bool, Flags, uint32, uint32), 3000)
		for i := range conns {
			conns[i] = steppedConn(tr, &now, AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(1024+i))
			openStepped(conns[i])
			conns[i](true, FIN|ACK, 101, 901)
		}
		for _, seg := range conns {
			seg(false, ACK, 901, 102)
			seg(false, FIN|ACK, 901, 102)
			seg(true, ACK, 102, 902)
		}
		tr.Finish()
		return tr
	}
	whole, tr := run(1<<20), run(1000)
	if tr.Evicted().Readmitted == 0 {
		t.Fatal("nothing was evicted and brought back: the case tests nothing")
	}
	if got, want := statesOf(tr), statesOf(whole); got != want {
		t.Errorf("--max-conns 1000: states %v, want %v as unbound", got, want)
	}
	if got, want := len(tr.Records()), len(whole.Records()); got != want {
		t.Errorf("--max-conns 1000: %d connections, want %d as unbound", got, want)
	}
}

// TestEvictedHandshakesAreListedAsWithRoom: a handshake evicted from a full
// table, its SYN unanswered, is kept for the report as a table large
// enough keeps it: listed, its retransmissions its own (not a new
// connection's), its syn_timeout found; Embryonic counts it as evicted.
func TestEvictedHandshakesAreListedAsWithRoom(t *testing.T) {
	sec := int64(time.Second)
	for _, tc := range []struct {
		name    string
		clients int
		every   int64   // between the clients' first SYNs
		rtx     []int64 // retransmissions, after the first SYN
		caps    Config
		more    func(start int64) []Segment
	}{
		{"SYNs retransmitted into silence through a table of 2", 6, sec / 100, []int64{sec, 3 * sec, 7 * sec}, Config{MaxConns: 2}, none},
		{"lone SYNs an hour apart through a table of 5", 20, 3600 * sec, nil, Config{MaxConns: 5}, none},
		// Evicted by the SYNs to another server, its retransmission overdue
		// when its answer comes: still the one connection, not given up.
		{"a SYN answered 5 s late through a table of 1", 1, 0, []int64{sec}, Config{MaxConns: 1}, func(start int64) []Segment {
			other := AddrFrom4([4]byte{198, 18, 0, 9})
			return []Segment{
				{Time: start + 3*sec/2, Src: cAddr, SrcPort: 41000, Dst: other, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
				{Time: start + 4*sec, Src: cAddr, SrcPort: 41001, Dst: other, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
				{Time: start + 5*sec, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 40000, Flags: SYN | ACK, Seq: 500, Ack: 101, Window: 1000, WScale: -1},
				{Time: start + 5*sec + 1, Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 101, Ack: 501, Window: 1000, WScale: -1},
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var segs []Segment
			start := int64(1_700_000_000) * sec
			for i := range tc.clients {
				at := start + int64(i)*tc.every
				for _, d := range append([]int64{0}, tc.rtx...) {
					segs = append(segs, Segment{Time: at + d, Src: cAddr, SrcPort: uint16(40000 + i), Dst: sAddr, DstPort: 80,
						Flags: SYN, Seq: 100, Window: 1000, WScale: -1})
				}
			}
			segs = append(segs, tc.more(start)...)
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			want, got := listing(New(Config{}), segs), listing(New(tc.caps), segs)
			if !slices.Equal(got, want) {
				t.Errorf("with %+v:\n%s\nwith room:\n%s", tc.caps, strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func none(int64) []Segment { return nil }

// listing feeds segs to tr and lists what its report shows of each
// connection, and its summary's counts.
func listing(tr *Tracker, segs []Segment) []string {
	for i := range segs {
		s := segs[i]
		tr.Observe(&s)
	}
	tr.Finish()
	var out []string
	for _, r := range tr.Records() {
		out = append(out, fmt.Sprintf("%d %v %s/%s %d/%d %v", r.ID, r.Client(), r.State(Client), r.State(Server),
			r.Packets(Client), r.Packets(Server), r.Kinds()))
	}
	ev := tr.Evicted()
	return append(out, fmt.Sprintf("forgotten %v, flood %d", tr.ForgottenStates(), ev.Flood))
}

// TestRetransmittedSYNsThroughAFullTableCountOnce: a flood whose sources
// send their SYN again, and real clients whose server does not answer,
// through a table so small that the handshakes waiting out of it are
// pushed out before their time: a SYN sent again is the same handshake,
// counted once, and the real clients' server is no SYN flood.
func TestRetransmittedSYNsThroughAFullTableCountOnce(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	var segs []Segment
	for i := range 30000 {
		at := start + int64(i)*sec/5000
		src := AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		syn := Segment{Time: at, Src: src, SrcPort: 40000, Dst: target, DstPort: 80, Flags: SYN, Seq: 100, Window: 1000, WScale: -1}
		segs = append(segs, syn)
		if i%3 != 0 {
			syn.Time += sec
			segs = append(segs, syn)
		}
	}
	down := AddrFrom4([4]byte{198, 18, 0, 9})
	for i := range 300 {
		at := start + int64(i)*sec/100
		for _, d := range []int64{0, sec, 3 * sec} {
			segs = append(segs, Segment{Time: at + d, Src: cAddr, SrcPort: uint16(20000 + i), Dst: down, DstPort: 443,
				Flags: SYN, Seq: 7, Window: 1000, WScale: -1})
		}
	}
	slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
	summary := func(cfg Config) string {
		tr := observeAll(cfg, segs)
		return fmt.Sprintf("flood's own %d, listed %d, findings %v", tr.Evicted().Flood, len(tr.Records()), kindCounts(tr))
	}
	want := summary(Config{})
	for _, n := range []int{50, 2000} {
		if got := summary(Config{MaxConns: n}); got != want {
			t.Errorf("--max-conns %d: %s\nwant, as with room: %s", n, got, want)
		}
	}
}

// TestRefusalOfAHandshakeDroppedWaitingIsARefusal: a handshake evicted
// from a full table and pushed out of those waiting before its time (a
// flood's SYNs evict it) is refused by its server: the RST opens the
// connection its SYN did, refused, as with a table large enough, rather
// than refusing nothing.
func TestRefusalOfAHandshakeDroppedWaitingIsARefusal(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	down := AddrFrom4([4]byte{198, 18, 0, 9})
	segs := []Segment{{Time: start, Src: cAddr, SrcPort: 30000, Dst: down, DstPort: 443, Flags: SYN, Seq: 7, Window: 1000, WScale: -1}}
	for i := range 6000 {
		src := AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		segs = append(segs, Segment{Time: start + 1 + int64(i)*sec/3000, Src: src, SrcPort: 40000, Dst: target, DstPort: 80,
			Flags: SYN, Seq: 100, Window: 1000, WScale: -1})
	}
	segs = append(segs, Segment{Time: start + 2*sec + 500, Src: down, SrcPort: 443, Dst: cAddr, DstPort: 30000,
		Flags: RST | ACK, Seq: 0, Ack: 8, WScale: -1})
	slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
	summary := func(cfg Config) (string, Evictions) {
		tr := observeAll(cfg, segs)
		return fmt.Sprintf("listed %d, findings %v, lone %+v", len(tr.Records()), kindCounts(tr), tr.Lone()), tr.Evicted()
	}
	want, _ := summary(Config{})
	got, ev := summary(Config{MaxConns: 50})
	if ev.Embryonic+ev.Flood == 0 {
		t.Fatalf("evicted %+v: no handshake dropped, the case tests nothing", ev)
	}
	if got != want {
		t.Errorf("--max-conns 50: %s\nwant, as with room: %s", got, want)
	}
}

// observeAll feeds segs (copies: the tracker may keep what it is given) to
// a new tracker with cfg, and finishes it.
func observeAll(cfg Config, segs []Segment) *Tracker {
	tr := New(cfg)
	for i := range segs {
		s := segs[i]
		tr.Observe(&s)
	}
	tr.Finish()
	return tr
}

// kindCounts returns how many findings of each kind tr lists.
func kindCounts(tr *Tracker) map[Kind]int {
	kinds := map[Kind]int{}
	for _, a := range tr.Anomalies() {
		kinds[a.Kind]++
	}
	return kinds
}

// TestSlowHandshakeDroppedWaitingGoesOnWithItsACK: a handshake whose
// client acknowledges the SYN-ACK late, evicted from a full table and
// pushed out of those waiting before that (a flood's SYNs evict it): the
// client's ACK, its data and its RST (or its FIN) go on with the
// connection its SYN and SYN-ACK opened, as with a table large enough,
// not as lone segments of no connection. A refusal of one dropped before
// its answer counts its SYNs as they were sent.
func TestSlowHandshakeDroppedWaitingGoesOnWithItsACK(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	down := AddrFrom4([4]byte{198, 18, 0, 9})
	c2s := func(at int64, port uint16, f Flags, seq, ack, n uint32) Segment {
		return Segment{Time: at, Src: cAddr, SrcPort: port, Dst: down, DstPort: 443, Flags: f,
			Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Payload: n, Window: 1000, WScale: -1}
	}
	s2c := func(at int64, port uint16, f Flags, seq, ack, n uint32) Segment {
		s := c2s(at, port, f, seq, ack, n)
		s.Src, s.SrcPort, s.Dst, s.DstPort = s.Dst, s.DstPort, s.Src, s.SrcPort
		return s
	}
	late := start + 2*sec
	for _, tc := range []struct {
		name string
		segs []Segment
	}{
		{"aborted", []Segment{
			c2s(start, 30000, SYN, 7, 0, 0), s2c(start+1000, 30000, SYN|ACK, 900, 8, 0),
			c2s(late, 30000, ACK, 8, 901, 0), c2s(late+10, 30000, ACK|PSH, 8, 901, 10),
			s2c(late+20, 30000, ACK, 901, 18, 0), c2s(late+30, 30000, RST|ACK, 18, 901, 0)}},
		{"closed", []Segment{
			c2s(start, 30001, SYN, 7, 0, 0), s2c(start+1000, 30001, SYN|ACK, 900, 8, 0),
			c2s(late, 30001, ACK|PSH, 8, 901, 10), s2c(late+20, 30001, FIN|ACK, 901, 18, 0),
			c2s(late+30, 30001, FIN|ACK, 18, 902, 0), s2c(late+40, 30001, ACK, 902, 19, 0)}},
		{"its SYN-ACK sent again", []Segment{
			c2s(start, 30003, SYN, 7, 0, 0), s2c(start+1000, 30003, SYN|ACK, 900, 8, 0), s2c(start+sec/4, 30003, SYN|ACK, 900, 8, 0),
			c2s(late, 30003, ACK, 8, 901, 0), c2s(late+30, 30003, RST|ACK, 8, 901, 0)}},
		{"refused", []Segment{
			c2s(start, 30002, SYN, 7, 0, 0),
			s2c(late, 30002, RST|ACK, 0, 8, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs := slices.Clone(tc.segs)
			for i := range 6000 {
				src := AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				segs = append(segs, Segment{Time: start + 2000 + int64(i)*sec/6000, Src: src, SrcPort: 40000, Dst: target, DstPort: 80,
					Flags: SYN, Seq: 100, Window: 1000, WScale: -1})
			}
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			summary := func(cfg Config) string {
				tr := observeAll(cfg, segs)
				var out []string
				for _, r := range tr.Records() {
					if r.Client().Addr() == cAddr.IP() {
						out = append(out, fmt.Sprintf("%s/%s %d/%d %v", r.State(Client), r.State(Server),
							r.Packets(Client), r.Packets(Server), r.Kinds()))
					}
				}
				return fmt.Sprintf("%v; findings %v, lone %+v", out, kindCounts(tr), tr.Lone())
			}
			if !droppedBy(Config{MaxConns: 50}, segs, late, tc.segs[0]) {
				t.Fatal("the handshake was not dropped waiting: the case tests nothing")
			}
			want, got := summary(Config{}), summary(Config{MaxConns: 50})
			if got != want {
				t.Errorf("--max-conns 50: %s\nwant, as with room: %s", got, want)
			}
		})
	}
}

// droppedBy reports whether the handshake of syn, fed segs before until to
// a tracker with cfg, was dropped waiting by then (droppedSYNs).
func droppedBy(cfg Config, segs []Segment, until int64, syn Segment) bool {
	tr := New(cfg)
	for i := range segs {
		if s := segs[i]; s.Time < until {
			tr.Observe(&s)
		}
	}
	k, _ := keyOf(&syn)
	_, ok := tr.evictedSYNs.dropped.m[k]
	return ok
}

// TestCloseWaitForgottenBeforeItIsStuckIsStuckAtTheEnd: a server left in
// CLOSE_WAIT, evicted from a full table and forgotten beyond the store's
// cap before --stuck passes, is stuck by the end of input all the same:
// close_wait_stuck, with its client left in FIN_WAIT_2, as with a table
// large enough; whether the ACK of the client's FIN came before it was
// forgotten or after (which is applied to it, and is no segment of another
// connection to judge it as of).
func TestCloseWaitForgottenBeforeItIsStuckIsStuckAtTheEnd(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	for _, ackAt := range []int64{sec / 10, 3 * sec} {
		t.Run(fmt.Sprintf("FIN acknowledged after %s", time.Duration(ackAt)), func(t *testing.T) {
			segs := []Segment{
				{Time: start, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
				{Time: start + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
				{Time: start + 2000, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1},
				{Time: start + sec, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: FIN | ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1},
				{Time: start + sec + ackAt, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: ACK, Seq: 901, Ack: 9, Window: 1000, WScale: -1},
			}
			for i := range 200 { // others, open to the end, to evict it and push it out of the store
				at, port := start+sec+sec/20+int64(i)*sec/100, uint16(40000+i)
				segs = append(segs,
					Segment{Time: at, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
					Segment{Time: at + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
					Segment{Time: at + 2000, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			}
			segs = append(segs, Segment{Time: start + 10*sec, Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			stuck := func(cfg Config) (string, *Tracker) {
				cfg.Thresholds = Thresholds{Stuck: time.Second}
				tr := observeAll(cfg, segs)
				var out []string
				for _, a := range tr.Anomalies() {
					if a.Kind == CloseWaitStuck {
						out = append(out, fmt.Sprintf("%s %v %d %s %v", a.Side, a.Target, a.Time, a.Detail, a.Also))
					}
				}
				return fmt.Sprintf("%v; counted %v", out, tr.AnomalyCounts()), tr
			}
			want, _ := stuck(Config{})
			got, tr := stuck(Config{MaxConns: 10, MaxKept: 10})
			if fs := tr.ForgottenStates(); fs[Server][CloseWait] != 1 {
				t.Fatalf("forgotten %v: not the server in CLOSE_WAIT, the case tests nothing", fs)
			}
			if got != want {
				t.Errorf("--max-conns 10 --keep 10: %s\nwant, as with room: %s", got, want)
			}
		})
	}
}

// TestForgottenTimeWaitEndsOnTimeWhenItsRecordGoesFirst: a client in
// TIME_WAIT whose connection was forgotten beyond the store's cap, and
// whose compact record the full table of them drops before its TIME_WAIT
// ends, still leaves TIME_WAIT 2×MSL after it began, as with a table large
// enough: not when its record would have ended at the latest (2×MSL after
// the connection's last segment, its final ACK, a round trip later).
func TestForgottenTimeWaitEndsOnTimeWhenItsRecordGoesFirst(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	var segs []Segment
	for i := range 2000 {
		at, port := start+int64(i)*sec/1000, uint16(30000+i)
		c2s := func(d int64, f Flags, seq, ack seqnum.Value) Segment {
			return Segment{Time: at + d, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: f, Seq: seq, Ack: ack, Window: 1000, WScale: -1}
		}
		s2c := func(d int64, f Flags, seq, ack seqnum.Value) Segment {
			return Segment{Time: at + d, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: f, Seq: seq, Ack: ack, Window: 1000, WScale: -1}
		}
		segs = append(segs, c2s(0, SYN, 7, 0), s2c(1000, SYN|ACK, 900, 8), c2s(2000, ACK, 8, 901),
			c2s(3000, FIN|ACK, 8, 901), s2c(4000, FIN|ACK, 901, 9), c2s(sec/20, ACK, 9, 902)) // (its last ACK, late)
	}
	end := start + 2*sec + sec/40 // after the first ones' TIME_WAITs end, before their records would
	segs = append(segs, Segment{Time: end, Src: cAddr, SrcPort: 20000, Dst: sAddr, DstPort: 81, Flags: SYN, Seq: 1, Window: 1000, WScale: -1})
	slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
	states := func(cfg Config) (string, *Tracker) {
		cfg.MSL = time.Second
		tr := observeAll(cfg, segs)
		return fmt.Sprintf("%v", statesOf(tr)), tr
	}
	want, _ := states(Config{})
	got, tr := states(Config{MaxConns: 60, MaxKept: 2})
	if ev := tr.Evicted(); ev.TimeWait == 0 || ev.Forgotten == 0 {
		t.Fatalf("evicted %+v: no compact record of a connection forgotten dropped, the case tests nothing", ev)
	}
	if got != want {
		t.Errorf("--max-conns 60 --keep 2: %s\nwant, as with room: %s", got, want)
	}
}

// TestLateTableKeepsWhatChurnLeaves: the connections to be judged at the
// end stay however many others come and go before it (each judged or
// ended as it goes): only those still held count against the cap.
func TestLateTableKeepsWhatChurnLeaves(t *testing.T) {
	var l lateTable
	keyOfPort := func(p int) FlowKey {
		k, _ := keyOf(&Segment{Src: cAddr, SrcPort: uint16(p), Dst: AddrFrom4([4]byte{198, 18, byte(p >> 16), byte(p >> 8)}), DstPort: 80})
		return k
	}
	stuck := keyOfPort(1)
	l.put(forgottenLate{id: 1, key: stuck})
	for i := range 4 * maxLateGone {
		k := keyOfPort(i + 2)
		l.put(forgottenLate{id: uint64(i + 2), key: k})
		l.del(&k)
	}
	if g, ok := l.get(&stuck); !ok || g.id != 1 {
		t.Errorf("the first connection is gone after %d others came and went", 4*maxLateGone)
	}
	if n := l.order.len(); n > 2*len(l.m)+1024 {
		t.Errorf("order holds %d places for %d connections", n, len(l.m))
	}
	for i := range maxLateGone + 10 {
		l.put(forgottenLate{id: uint64(i + 10), key: keyOfPort(i + 10)})
	}
	if len(l.m) != maxLateGone {
		t.Errorf("%d held, want the cap, %d", len(l.m), maxLateGone)
	}
}

// TestSegmentsEndingAFrozenOpenConnectionAreItsOwn: a connection evicted
// open from a full table and frozen (no longer kept whole, still listed),
// then aborted by an RST at exactly where its sender had got to, is listed
// as with a table large enough: both sides CLOSED, the RST counted, the
// abort a reset finding of its own; not a lone segment that leaves it
// ESTABLISHED.
func TestSegmentsEndingAFrozenOpenConnectionAreItsOwn(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	c2s := func(at int64, f Flags, seq, ack seqnum.Value, n uint32) Segment {
		return Segment{Time: at, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: f, Seq: seq, Ack: ack, Payload: n, Window: 1000, WScale: -1}
	}
	s2c := func(at int64, f Flags, seq, ack seqnum.Value, n uint32) Segment {
		return Segment{Time: at, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: f, Seq: seq, Ack: ack, Payload: n, Window: 1000, WScale: -1}
	}
	open := []Segment{c2s(start, SYN, 7, 0, 0), s2c(start+1000, SYN|ACK, 900, 8, 0), c2s(start+2000, ACK|PSH, 8, 901, 10),
		s2c(start+3000, ACK, 901, 18, 0)}
	later := start + 8*sec
	for _, tc := range []struct {
		name string
		end  []Segment
	}{
		{"aborted", []Segment{c2s(later, RST|ACK, 18, 901, 0)}},
		{"aborted by the server", []Segment{s2c(later, RST, 901, 0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			segs := append(slices.Clone(open), tc.end...)
			for i := range 6 { // others, open to the end, to evict it
				at, port := start+sec+int64(i)*sec/10, uint16(40000+i)
				segs = append(segs,
					Segment{Time: at, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
					Segment{Time: at + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
					Segment{Time: at + 2000, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			}
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			want := listing(New(Config{}), segs)
			capped := Config{MaxConns: 2, MaxFull: 1}
			before := New(capped)
			for i := range segs {
				if s := segs[i]; s.Time < later {
					before.Observe(&s)
				}
			}
			if before.frozen.len()+before.frozenOther.len() == 0 {
				t.Fatal("nothing frozen: the case tests nothing")
			}
			if got := listing(New(capped), segs); !slices.Equal(got, want) {
				t.Errorf("--max-conns 2, one kept whole:\n%s\nwant, as with room:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}
