package tracker

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// lateAfterFrozenRun: one connection closed by the client (client in TIME_WAIT from
// the server's FIN at +~0.4ms), a stray server ACK at +1s (Last moves past
// twSince while the connection is still whole), then 6 short connections
// that force it frozen (beyond freezeHard×MaxFull), then, after the
// client's TIME_WAIT ran out (+2s with MSL 1s), either the server's FIN
// again or a new SYN on the same 4-tuple.
func lateAfterFrozenRun(t *testing.T, full int, live bool, late string, end time.Duration) (string, *Tracker) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	cfg := Config{MSL: msl, MaxFull: full, FrozenTransitions: true}
	if live {
		cfg.OnFrozenTransition = func(r *Record, tr Transition) {}
	}
	tr := New(cfg)
	now := start
	seg := steppedConn(tr, &now, cli, 40000)
	seg(true, SYN, 100, 0)
	seg(false, SYN|ACK, 900, 101)
	seg(true, ACK, 101, 901)
	seg(true, FIN|ACK, 101, 901)
	seg(false, FIN|ACK, 901, 102)
	seg(true, ACK, 102, 902)
	now = start + int64(time.Second)
	seg(false, ACK, 902, 102) // a stray duplicate ACK: Last moves on
	now = shortConns(tr, now, 6, 0)
	now = start + int64(2500*time.Millisecond) // the client's TIME_WAIT ran out at ~+2s
	switch late {
	case "fin":
		seg(false, FIN|ACK, 901, 102)
	case "syn":
		seg(true, SYN, 5000, 0)
	}
	tr.Advance(start + int64(end))
	tr.Finish()
	var out string
	for _, r := range tr.Records() {
		if r.ID != 1 {
			continue
		}
		out += fmt.Sprintf("conn 1: client %v server %v\n", r.State(Client), r.State(Server))
		for _, x := range r.Transitions() {
			out += fmt.Sprintf("  %v %v->%v at +%v\n", x.Side, x.From, x.To, time.Duration(x.Time-start))
		}
	}
	for _, a := range tr.Anomalies() {
		out += fmt.Sprintf("finding %v conn %d\n", a.Kind, a.Conn)
	}
	return out, tr
}

// TestLateSegmentsAfterAFrozenTimeWaitRanOutAreJudgedAsWhole: whole, the client's
// TIME_WAIT ends 2×MSL after it began and a FIN after that restarts
// nothing; frozen without OnFrozenTransition (the plain report), the
// compact record still says TIME_WAIT and the late FIN restarts it.
func TestLateSegmentsAfterAFrozenTimeWaitRanOutAreJudgedAsWhole(t *testing.T) {
	for _, late := range []string{"fin", "syn"} {
		whole, _ := lateAfterFrozenRun(t, 1<<20, false, late, 4*time.Second)
		frozen, tr := lateAfterFrozenRun(t, 1, false, late, 4*time.Second)
		live, _ := lateAfterFrozenRun(t, 1, true, late, 4*time.Second)
		if tr.Frozen() == 0 {
			t.Fatal("nothing frozen")
		}
		t.Logf("%s whole:\n%s", late, whole)
		t.Logf("%s frozen (report only):\n%s", late, frozen)
		t.Logf("%s frozen (OnFrozenTransition set):\n%s", late, live)
		if frozen != whole {
			t.Errorf("late %s: frozen report differs from the whole one", late)
		}
	}
}

// TestSYNAfterAQuietFrozenTimeWaitRanOutIsNoReuse: the same with the default MSL (TIME_WAIT
// 60 s) and a connection frozen the ordinary way, after 5 s of quiet, by
// one other connection ending (MaxFull 1): a stray server ACK 10 s into
// the TIME_WAIT, a new SYN on the 4-tuple 65 s after the TIME_WAIT began.
func TestSYNAfterAQuietFrozenTimeWaitRanOutIsNoReuse(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	run := func(full int, live bool) string {
		cfg := Config{MaxFull: full}
		if live {
			cfg.OnFrozenTransition = func(r *Record, tr Transition) {}
		}
		tr := New(cfg)
		now := start
		seg := steppedConn(tr, &now, cli, 40000)
		seg(true, SYN, 100, 0)
		seg(false, SYN|ACK, 900, 101)
		seg(true, ACK, 101, 901)
		seg(true, FIN|ACK, 101, 901)
		seg(false, FIN|ACK, 901, 102)
		seg(true, ACK, 102, 902)
		now = start + int64(10*time.Second)
		seg(false, ACK, 902, 102)                         // stray duplicate ACK
		shortConns(tr, start+int64(20*time.Second), 1, 0) // another ends: conn 1, quiet 10 s, is frozen
		now = start + int64(65*time.Second)
		seg(true, SYN, 5000, 0)
		tr.Advance(start + int64(70*time.Second))
		tr.Finish()
		out := fmt.Sprintf("frozen=%d", tr.Frozen())
		for _, a := range tr.Anomalies() {
			out += fmt.Sprintf(" finding %v conn %d;", a.Kind, a.Conn)
		}
		return out
	}
	whole, frozen, live := run(1<<20, false), run(1, false), run(1, true)
	t.Logf("whole: %s\nfrozen, report only: %s\nfrozen, OnFrozenTransition set: %s", whole, frozen, live)
	if frozen[len("frozen=1"):] != whole[len("frozen=0"):] {
		t.Errorf("frozen report's findings differ from the whole one's")
	}
}

// TestFINFloodToAForgottenConnectionKeepsFewTimers: the server's FIN sent
// again and again to a frozen or forgotten connection whose client is in
// TIME_WAIT (default MSL), with its transitions told or not, restarts
// that TIME_WAIT each time and adds no timer: a side keeps the one it has.
func TestFINFloodToAForgottenConnectionKeepsFewTimers(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	for _, n := range []int{10_000, 20_000, 40_000} {
		for _, kc := range []struct {
			kept   int
			events bool
		}{{2, false}, {2, true}, {1 << 20, false}, {1 << 20, true}} {
			kept := kc.kept
			cfg := Config{MaxFull: 1, MaxKept: kept}
			if kc.events {
				cfg.OnFrozenTransition = func(*Record, Transition) {}
			}
			tr := New(cfg)
			now := start
			seg := steppedConn(tr, &now, cli, 40000)
			seg(true, SYN, 100, 0)
			seg(false, SYN|ACK, 900, 101)
			seg(true, ACK, 101, 901)
			seg(true, FIN|ACK, 101, 901)
			seg(false, FIN|ACK, 901, 102)
			seg(true, ACK, 102, 902)
			now = shortConns(tr, now, 6, 0) // conn 1 frozen, then forgotten
			if kept == 2 && tr.Evicted().Forgotten == 0 {
				t.Fatal("not forgotten")
			}
			t0 := time.Now()
			for i := 0; i < n; i++ {
				now += int64(time.Millisecond) / 2 // (steppedConn adds 1ms: 1.5 ms per FIN, all within the 60 s TIME_WAIT)
				seg(false, FIN|ACK, 901, 102)
			}
			el := time.Since(t0)
			t.Logf("kept %7d, events %v, %6d FINs: frozenTWs holds %6d timers, timeWaits %6d, %v (%v per FIN)", kept, kc.events, n, len(tr.frozenTWs), tr.timeWaits.len(), el, el/time.Duration(n))
			if len(tr.frozenTWs) > 2*8 {
				t.Errorf("kept %d, events %v: %d timers after %d FINs sent again, for 7 connections", kept, kc.events, len(tr.frozenTWs), n)
			}
		}
	}
}

// TestEvictedFrozenConnectionLeavesTheBuildupCount: the full table of compact records
// (10×MaxConns) drops its oldest. Whole, the dropped connection is retired
// and leaves the TIME_WAIT build-up count ("its expiry will not be
// followed"); frozen, its Record keeps followed set and stays counted
// until its TIME_WAIT ends at the end of input or it is forgotten.
func TestEvictedFrozenConnectionLeavesTheBuildupCount(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	pair := twKey{host: AddrFrom4([4]byte{198, 18, 0, 1}), addr: target, port: 80}
	for _, live := range []bool{false, true} {
		var res []string
		for _, full := range []int{1 << 20, 1} {
			cfg := Config{MaxConns: 1, MaxFull: full, Thresholds: Thresholds{TimeWaitLimit: 20}}
			if live {
				cfg.OnFrozenTransition = func(r *Record, tr Transition) {}
			}
			tr := New(cfg)
			now := shortConns(tr, start, 30, 0)
			p := tr.tw.pairs[pair]
			res = append(res, fmt.Sprintf("MaxFull %7d: frozen %2d, compact records evicted %d, build-up count %d, peak %d, findings %d", full, tr.Frozen(), tr.Evicted().TimeWait, p.count, p.peak, len(tr.Anomalies())))
			_ = now
		}
		t.Logf("OnFrozenTransition set %v:\n%s\n%s", live, res[0], res[1])
		if res[0][len("MaxFull 1048576: frozen  0"):] != res[1][len("MaxFull 1048576: frozen  0"):] {
			t.Errorf("build-up count differs")
		}
	}
}

// TestForgettingLeavesBuildupCount: a connection forgotten beyond MaxKept
// while its client is in TIME_WAIT leaves the build-up count when it is
// forgotten, not when its TIME_WAIT runs out (which its forgottenRank
// timer now follows): the count, peak and finding depend on MaxKept.
func TestForgettingLeavesBuildupCount(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	pair := twKey{host: AddrFrom4([4]byte{198, 18, 0, 1}), addr: target, port: 80}
	var res []string
	for _, kc := range []struct{ kept, full int }{{1 << 20, 1 << 20}, {5, 1 << 20}, {5, 1}} {
		tr := New(Config{MaxKept: kc.kept, MaxFull: kc.full, Thresholds: Thresholds{TimeWaitLimit: 20}})
		shortConns(tr, start, 30, 0)
		p := tr.tw.pairs[pair]
		n, peak := 0, 0
		if p != nil {
			n, peak = p.count, p.peak
		}
		res = append(res, fmt.Sprintf("MaxKept %7d MaxFull %7d: forgotten %2d, build-up count %d, peak %d, findings %d", kc.kept, kc.full, tr.Evicted().Forgotten, n, peak, len(tr.Anomalies())))
	}
	t.Logf("\n%s\n%s\n%s", res[0], res[1], res[2])
}

// TestCloseWaitEndedByReuseSaysSo: the server stuck in CLOSE_WAIT;
// the client, long gone from FIN_WAIT_2, uses the same port again: the new
// SYN supersedes the old connection (reused), and leftCloseWait rewrites
// the finding as if an RST had ended it.
func TestCloseWaitEndedByReuseSaysSo(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	tr := New(Config{Thresholds: Thresholds{Stuck: time.Second}})
	conn := oneConn(tr, start, cli, 40000)
	seg := func(at time.Duration, fromClient bool, f Flags, seq, ack uint32) {
		conn(at, fromClient, f, seq, ack, 0)
	}
	seg(0, true, SYN, 100, 0)
	seg(time.Millisecond, false, SYN|ACK, 900, 101)
	seg(2*time.Millisecond, true, ACK, 101, 901)
	seg(10*time.Millisecond, true, FIN|ACK, 101, 901)
	seg(11*time.Millisecond, false, ACK, 901, 102)
	seg(2*time.Second, true, ACK, 101, 901)   // keepalive-ish: the server is stuck
	seg(90*time.Second, true, SYN, 777777, 0) // the client reuses its port
	seg(90*time.Second+time.Millisecond, false, SYN|ACK, 5555, 777778)
	seg(90*time.Second+2*time.Millisecond, true, ACK, 777778, 5556)
	tr.Finish()
	for _, a := range tr.Anomalies() {
		t.Logf("%v conn %d side %v: %s %v", a.Kind, a.Conn, a.Side, a.Detail, a.Fields)
		if a.Kind == CloseWaitStuck && strings.Contains(a.Detail, "RST") {
			t.Errorf("close_wait_stuck says an RST ended it; a new SYN on the 4-tuple did")
		}
	}
	for _, r := range tr.Records() {
		for _, x := range r.Transitions() {
			if x.From == CloseWait {
				t.Logf("conn %d: %v %v->%v", r.ID, x.Side, x.From, x.To)
			}
		}
	}
}

// TestFINAgainAfterThePeersTimeWaitRanOutIsJudgedAsWhole (HEAD 2573f25): default MSL,
// conn 1 frozen after 5 s of quiet; the server sends its FIN again 65 s
// after the client's TIME_WAIT began (it ran out at 60 s; the compact
// record lives to Last+60 s = 70 s because of a stray ACK at +10 s). Whole,
// the server is taken back to LAST_ACK; frozen, finAgain requires the peer
// in TIME_WAIT and the server stays CLOSED.
func TestFINAgainAfterThePeersTimeWaitRanOutIsJudgedAsWhole(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	run := func(full int, live bool) string {
		cfg := Config{MaxFull: full, FrozenTransitions: true}
		if live {
			cfg.OnFrozenTransition = func(r *Record, tr Transition) {}
		}
		tr := New(cfg)
		now := start
		seg := steppedConn(tr, &now, cli, 40000)
		seg(true, SYN, 100, 0)
		seg(false, SYN|ACK, 900, 101)
		seg(true, ACK, 101, 901)
		seg(true, FIN|ACK, 101, 901)
		seg(false, FIN|ACK, 901, 102)
		seg(true, ACK, 102, 902)
		now = start + int64(10*time.Second)
		seg(false, ACK, 902, 102)
		shortConns(tr, start+int64(20*time.Second), 1, 0)
		now = start + int64(65*time.Second)
		seg(false, FIN|ACK, 901, 102)
		tr.Advance(start + int64(68*time.Second))
		tr.Finish()
		for _, r := range tr.Records() {
			if r.ID == 1 {
				return fmt.Sprintf("frozen=%d client %v server %v", tr.Frozen(), r.State(Client), r.State(Server))
			}
		}
		return "?"
	}
	whole, frozen, live := run(1<<20, false), run(1, false), run(1, true)
	t.Logf("whole: %s\nfrozen: %s\nfrozen, OnFrozenTransition: %s", whole, frozen, live)
	if whole[len("frozen=0"):] != frozen[len("frozen=1"):] {
		t.Errorf("final states differ")
	}
}

// TestFINAgainLoopToAForgottenConnectionWithEventsIsBounded: the loop of
// TestFINSentAgainToAForgottenConnectionDoesNotAllocate, with the events
// on too (OnFrozenTransition, as ndjson and the live view set it): each
// FIN again and its ACK, the sender back in CLOSING and on to TIME_WAIT,
// allocates nothing and adds no timer.
func TestFINAgainLoopToAForgottenConnectionWithEventsIsBounded(t *testing.T) {
	const msl = time.Second
	for _, events := range []bool{false, true} {
		cfg := Config{MSL: msl, MaxFull: 1, MaxKept: 2}
		told := 0
		if events {
			cfg.OnFrozenTransition = func(r *Record, tr Transition) { told++ }
		}
		tr := New(cfg)
		now := int64(1_700_000_000) * int64(time.Second)
		cli := AddrFrom4([4]byte{198, 18, 0, 7})
		seg := steppedConn(tr, &now, cli, 40000)
		seg(true, SYN, 100, 0)
		seg(false, SYN|ACK, 900, 101)
		seg(true, ACK, 101, 901)
		seg(true, FIN|ACK, 101, 901)
		seg(false, FIN|ACK, 901, 101)
		seg(true, ACK, 102, 902)
		seg(false, ACK, 902, 102)
		now = shortConns(tr, now, 6, 0)
		heap0 := len(tr.frozenTWs)
		allocs := testing.AllocsPerRun(200, func() {
			seg(false, FIN|ACK, 901, 102)
			seg(true, ACK, 102, 902)
		})
		t.Logf("events %v: %.1f allocations per FIN+ACK, %d told; frozenTWs %d -> %d timers after 201 loops", events, allocs, told, heap0, len(tr.frozenTWs))
		if allocs != 0 {
			t.Errorf("events %v: %.1f allocations per FIN+ACK", events, allocs)
		}
		if len(tr.frozenTWs) > heap0 {
			t.Errorf("events %v: %d timers after 201 loops, %d before", events, len(tr.frozenTWs), heap0)
		}
	}
}
