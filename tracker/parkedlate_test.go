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
	openStepped(seg)
	activeClose(seg)
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

// quietFrozen closes a connection, the client first, with the default
// MSL; a stray server ACK comes 10 s into the client's TIME_WAIT, and
// another connection ends at +20 s, so that this one, quiet for 10 s, is
// frozen with MaxFull 1 (and stays whole with a larger one). late sends
// the segments after, at +65 s (the TIME_WAIT ran out at +60 s, the
// compact record lives to +70 s), and the input ends at +70 s. live: the
// frozen timers are on.
func quietFrozen(full int, live bool, late func(seg func(bool, Flags, uint32, uint32))) *Tracker {
	start := int64(1_700_000_000) * int64(time.Second)
	cfg := Config{MaxFull: full, FrozenTransitions: true}
	if live {
		cfg.OnFrozenTransition = func(r *Record, tr Transition) {}
	}
	tr := New(cfg)
	now := start
	seg := steppedConn(tr, &now, AddrFrom4([4]byte{198, 18, 0, 7}), 40000)
	openStepped(seg)
	activeClose(seg)
	now = start + int64(10*time.Second)
	seg(false, ACK, 902, 102)                         // stray duplicate ACK
	shortConns(tr, start+int64(20*time.Second), 1, 0) // another ends: conn 1, quiet 10 s, is frozen
	now = start + int64(65*time.Second)
	late(seg)
	tr.Advance(start + int64(70*time.Second))
	tr.Finish()
	return tr
}

// TestSYNAfterAQuietFrozenTimeWaitRanOutIsNoReuse: a new SYN on the
// 4-tuple after the client's TIME_WAIT ran out, the connection frozen,
// with the frozen timers on or off, reuses no TIME_WAIT: no port_reuse,
// as for the whole connection.
func TestSYNAfterAQuietFrozenTimeWaitRanOutIsNoReuse(t *testing.T) {
	run := func(full int, live bool) string {
		tr := quietFrozen(full, live, func(seg func(bool, Flags, uint32, uint32)) { seg(true, SYN, 5000, 0) })
		out := fmt.Sprintf("frozen=%d", min(tr.Frozen(), 1))
		for _, a := range tr.Anomalies() {
			out += fmt.Sprintf(" finding %v conn %d;", a.Kind, a.Conn)
		}
		return out
	}
	whole, frozen, live := run(1<<20, false), run(1, false), run(1, true)
	if whole != "frozen=0" || frozen != "frozen=1" || live != "frozen=1" {
		t.Errorf("whole: %s\nfrozen, report only: %s\nfrozen, OnFrozenTransition set: %s; want no finding, and the connection frozen but whole", whole, frozen, live)
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
			openStepped(seg)
			activeClose(seg)
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
// followed"); frozen, it leaves it too, and its Record is no longer
// followed: the count, its peak and the finding are the same.
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

// TestFINAgainAfterThePeersTimeWaitRanOutIsJudgedAsWhole: the server's
// FIN again after the client's TIME_WAIT ran out takes the server back to
// LAST_ACK (it never received the ACK of its FIN), frozen as whole.
func TestFINAgainAfterThePeersTimeWaitRanOutIsJudgedAsWhole(t *testing.T) {
	run := func(full int, live bool) string {
		tr := quietFrozen(full, live, func(seg func(bool, Flags, uint32, uint32)) { seg(false, FIN|ACK, 901, 102) })
		for _, r := range tr.Records() {
			if r.ID == 1 {
				return fmt.Sprintf("frozen=%d client %v server %v", min(tr.Frozen(), 1), r.State(Client), r.State(Server))
			}
		}
		return "?"
	}
	whole, frozen, live := run(1<<20, false), run(1, false), run(1, true)
	const want = " client CLOSED server LAST_ACK"
	if whole != "frozen=0"+want || frozen != "frozen=1"+want || live != "frozen=1"+want {
		t.Errorf("whole: %s\nfrozen: %s\nfrozen, OnFrozenTransition: %s; want%s", whole, frozen, live, want)
	}
}

// TestForgettingLeavesTheBuildupCountAsItWas: a connection forgotten
// beyond MaxKept while its client is in TIME_WAIT stays in the TIME_WAIT
// build-up count until that TIME_WAIT ends, as a kept one does: the
// count, its peak and the finding do not depend on MaxKept, whole or
// frozen, with the frozen timers on or off; and they fall back to none
// once every TIME_WAIT ran out.
func TestForgettingLeavesTheBuildupCountAsItWas(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	pair := twKey{host: AddrFrom4([4]byte{198, 18, 0, 1}), addr: target, port: 80}
	for _, live := range []bool{false, true} {
		var want string
		for _, kc := range []struct{ kept, full int }{{1 << 20, 1 << 20}, {5, 1 << 20}, {5, 1}, {1, 1}} {
			cfg := Config{MaxKept: kc.kept, MaxFull: kc.full, Thresholds: Thresholds{TimeWaitLimit: 20}}
			if live {
				cfg.OnFrozenTransition = func(*Record, Transition) {}
			}
			tr := New(cfg)
			now := shortConns(tr, start, 30, 0)
			p := tr.tw.pairs[pair]
			counted, findings := p.count, len(tr.Anomalies())
			got := fmt.Sprintf("build-up count %d, peak %d, findings %d", p.count, p.peak, findings)
			tr.Advance(now + int64(2*DefaultMSL) + 1)
			if p := tr.tw.pairs[pair]; p != nil && p.count != 0 {
				got += fmt.Sprintf("; %d still counted after 2×MSL", p.count)
			}
			if want == "" {
				want = got
				if counted != 30 || findings != 1 {
					t.Fatalf("kept whole: %s, want 30 counted and a finding", got)
				}
			} else if got != want {
				t.Errorf("events %v, MaxKept %d, MaxFull %d: %s; want %s as when kept", live, kc.kept, kc.full, got, want)
			}
		}
	}
}

// TestLateSegmentsKeepAForgottenRecordAsAWholeOne: a connection closes,
// the client first (TIME_WAIT), and is forgotten (--keep 1) or kept. 50 s
// later the client sends its FIN again, 70 s later the server sends its
// FIN again and the client ACKs it: each segment keeps the compact record
// 2×MSL on, as it keeps a whole connection in the table, so the last ones
// are judged on it and open no new, mid-stream connection (it expired
// 2×MSL after the close, and the server's FIN opened one, CLOSE_WAIT and
// FIN_WAIT_2). (The two then differ on the ACK of a FIN sent again: see
// finAckedAgain.)
func TestLateSegmentsKeepAForgottenRecordAsAWholeOne(t *testing.T) {
	run := func(kept int) string {
		tr := New(Config{MaxKept: kept})
		now := int64(1_700_000_000) * int64(time.Second)
		a := steppedConn(tr, &now, review3Pair.host, 40000)
		openStepped(a)
		activeClose(a)
		now = shortConnsFrom(tr, now, 2, 50000)
		now += int64(50 * time.Second)
		a(true, FIN|ACK, 101, 901)
		now += int64(20 * time.Second)
		a(false, FIN|ACK, 901, 102)
		a(true, ACK, 102, 902)
		tr.Finish()
		var cs []string
		for _, r := range tr.Records() {
			cs = append(cs, fmt.Sprintf("%v/%v", r.State(Client), r.State(Server)))
		}
		f := tr.ForgottenStates()
		return fmt.Sprintf("%d connections (%d forgotten), kept %v; forgotten: clients CLOSE_WAIT %d, CLOSING %d; servers FIN_WAIT_2 %d, LAST_ACK %d",
			tr.nextID, tr.Evicted().Forgotten, cs, f[Client][CloseWait], f[Client][Closing], f[Server][FinWait2], f[Server][LastAck])
	}
	whole, forgotten := run(100), run(1)
	t.Logf("\nwhole:     %s\nforgotten: %s", whole, forgotten)
	if !strings.HasPrefix(forgotten, "3 connections") || !strings.HasPrefix(whole, "3 connections") {
		t.Errorf("a late segment opened a connection")
	}
	if strings.Contains(forgotten, "CLOSE_WAIT/") || !strings.Contains(forgotten, "clients CLOSE_WAIT 0") {
		t.Errorf("the server's FIN sent again was taken for a new connection's")
	}
}

// TestStrayACKDoesNotMoveAForgottenTimeWaitsEnd: a duplicate ACK 50 s
// into the client's TIME_WAIT, the connection forgotten and its compact
// record evicted after: the client's TIME_WAIT ends 2×MSL after it began,
// as a whole one's does (the ACK kept the record 2×MSL on, and the end
// told came from the record's end: +1m50s).
func TestStrayACKDoesNotMoveAForgottenTimeWaitsEnd(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	run := func(kept int) string {
		cfg := Config{MaxKept: kept, MaxConns: 2}
		out := ""
		tellEvery(&cfg, func(id uint64, tr Transition) {
			if id == 1 && tr.Side == Client && tr.From == TimeWait {
				out += fmt.Sprintf("client TIME_WAIT->%v at +%v; ", tr.To, time.Duration(tr.Time-start).Round(time.Second))
			}
		})
		tr := New(cfg)
		now := start
		a := steppedConn(tr, &now, review3Pair.host, 40000)
		openStepped(a)
		activeClose(a)
		now = shortConnsFrom(tr, now, 2, 50000)
		now = start + int64(50*time.Second)
		a(false, ACK, 902, 102)                  // a stray duplicate ACK
		now = shortConnsFrom(tr, now, 40, 51000) // the record is evicted
		tr.Advance(start + int64(200*time.Second))
		tr.Finish()
		return out
	}
	whole, forgotten := run(1000), run(1)
	t.Logf("whole: %s forgotten: %s", whole, forgotten)
	if whole != forgotten || whole != "client TIME_WAIT->CLOSED at +1m0s; " {
		t.Errorf("whole %q, forgotten %q", whole, forgotten)
	}
}
