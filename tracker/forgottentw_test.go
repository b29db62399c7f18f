package tracker

import (
	"testing"
	"time"
)

// statesOf counts, by side and state, every connection: those the report
// shows (Records) and those forgotten (ForgottenStates).
func statesOf(tr *Tracker) [2][numStates]uint64 {
	st := tr.ForgottenStates()
	for _, r := range tr.Records() {
		for s := Client; s <= Server; s++ {
			st[s][r.states[s]]++
		}
	}
	return st
}

// TestForgottenAfterCompactEvictionCloses: when the table of TIME_WAITs is
// full (10×MaxConns) its oldest compact records are evicted. A connection
// forgotten beyond MaxKept whose compact record is evicted, or one retired
// by that eviction and forgotten later, must still count CLOSED once its
// TIME_WAIT ran out, as it does with nothing forgotten.
func TestForgottenAfterCompactEvictionCloses(t *testing.T) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	run := func(keep int) ([2][numStates]uint64, uint64, uint64) {
		tr := New(Config{MSL: msl, MaxConns: 1, MaxKept: keep}) // 10 compact records at most
		now := shortConns(tr, start, 30, 0)
		tr.Advance(now + int64(10*time.Second))
		tr.Finish()
		return statesOf(tr), tr.Evicted().Forgotten, tr.Evicted().TimeWait
	}
	whole, _, _ := run(1 << 20)
	for _, keep := range []int{2, 15} {
		got, forgotten, evicted := run(keep)
		t.Logf("--keep %d: %d forgotten, %d compact records evicted", keep, forgotten, evicted)
		if got != whole {
			t.Errorf("--keep %d: client TIME_WAIT %d CLOSED %d, want %d and %d as with nothing forgotten",
				keep, got[Client][TimeWait], got[Client][Closed], whole[Client][TimeWait], whole[Client][Closed])
		}
	}
}

// TestForgottenSimultaneousCloseBothSidesEnd: a simultaneous close leaves
// both sides in TIME_WAIT; the server then sends its FIN again, which
// restarts the client's TIME_WAIT (judgeForgotten moves the compact
// record's until). The server's own TIME_WAIT still ends 2×MSL after it
// began, as the frozen Record's does: forgotten, its timer must not be
// dropped because until moved for the other side.
func TestForgottenSimultaneousCloseBothSidesEnd(t *testing.T) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	type result struct {
		ends   [2]int64
		states [2][numStates]uint64
	}
	run := func(full, kept int, end time.Duration) result {
		var res result
		cfg := Config{MSL: msl, MaxFull: full, MaxKept: kept}
		note := func(id uint64, tr Transition) {
			if id == 1 && tr.From == TimeWait {
				res.ends[tr.Side] = tr.Time
			}
		}
		tellEvery(&cfg, note)
		tr := New(cfg)
		now := start
		seg := steppedConn(tr, &now, cli, 40000)
		openStepped(seg)
		seg(true, FIN|ACK, 101, 901)  // crossing FINs:
		seg(false, FIN|ACK, 901, 101) // a simultaneous close
		seg(true, ACK, 102, 902)
		seg(false, ACK, 902, 102)
		fin := now
		now = shortConns(tr, now, 6, 0) // beyond 4×MaxFull: frozen, then forgotten beyond MaxKept
		now = fin + int64(800*time.Millisecond)
		seg(false, FIN|ACK, 901, 102) // the server's FIN again
		tr.Advance(start + int64(end))
		tr.Finish()
		res.states = statesOf(tr)
		return res
	}
	for _, end := range []time.Duration{2500 * time.Millisecond, 10 * time.Second} {
		frozen := run(1, 0, end)
		forgotten := run(1, 2, end)
		t.Logf("input ends at +%v: server's TIME_WAIT end told at +%v frozen, +%v forgotten; server TIME_WAITs at the end: %d frozen, %d forgotten",
			end, time.Duration(frozen.ends[Server]-start), time.Duration(forgotten.ends[Server]-start),
			frozen.states[Server][TimeWait], forgotten.states[Server][TimeWait])
		if forgotten.ends[Server] != frozen.ends[Server] {
			t.Errorf("input ends at +%v: forgotten, the server's TIME_WAIT end is told at +%v, frozen at +%v",
				end, time.Duration(forgotten.ends[Server]-start), time.Duration(frozen.ends[Server]-start))
		}
		if forgotten.states != frozen.states {
			t.Errorf("input ends at +%v: forgotten, states %v; frozen %v", end, forgotten.states, frozen.states)
		}
	}
}

// TestRetiredTimeWaitIsLeftOnce: a connection dropped from the full table of
// TIME_WAITs while its client is in TIME_WAIT leaves the build-up count
// then; its TIME_WAIT running out by the end of input does not leave it
// again, so the TIME_WAITs still held at the end are counted.
func TestRetiredTimeWaitIsLeftOnce(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{MSL: time.Second, MaxConns: 1}) // 10 compact records at most
	now := shortConns(tr, start, 30, 0)              // 20 of them dropped, and retired
	later := shortConnsFrom(tr, now+int64(1500*time.Millisecond), 5, 1000)
	tr.Advance(later + int64(time.Second)) // the first 30's TIME_WAITs are over, the last 5's not
	tr.Finish()
	pair := twKey{host: AddrFrom4([4]byte{198, 18, 0, 1}), addr: target, port: 80}
	if p := tr.tw.pairs[pair]; p == nil || p.count != 5 {
		n := 0
		if p != nil {
			n = p.count
		}
		t.Errorf("%d TIME_WAITs counted at the end, want the 5 still held", n)
	}
}

// shortConnsFrom is shortConns with the client's ports from port on.
func shortConnsFrom(tr *Tracker, start int64, n int, port uint16) int64 {
	now := start
	for i := range n {
		now = closeConn(tr, now, port+uint16(i), 80, true)
	}
	return now
}

// TestLostTimersAreCapped: a forgotten connection's TIME_WAIT whose compact
// record was dropped is ended by a timer of its own. Those timers are
// capped as the compact records are (10×MaxConns, minLostTimers at least;
// here 5,000, to keep the test short), so that memory does not
// grow with the TIME_WAITs whatever the caps: with more, the one due first
// is taken as ended then and there, told as such (not dated ahead, as an
// expiry), and counted in Evictions. Once every TIME_WAIT has run out the
// summary is the same as with nothing capped.
func TestLostTimersAreCapped(t *testing.T) {
	const msl, conns, maxLost = time.Minute, 10000, 5000
	start := int64(1_700_000_000) * int64(time.Second)
	ahead := 0 // transitions told dated after the clock
	run := func(maxConns, keep int) (*Tracker, int64) {
		var tr *Tracker
		tr = New(Config{MSL: msl, MaxConns: maxConns, MaxKept: keep, OnFrozenTransition: func(_ *Record, x Transition) {
			if x.Time > tr.Now() {
				ahead++
			}
		}})
		tr.maxLost = max(tr.maxTimeWait, maxLost)
		return tr, shortConns(tr, start, conns, 0)
	}
	tr, now := run(100, 2) // 1,000 compact records, 5,000 lost timers at most
	if n := len(tr.lostTWs); n > maxLost || cap(tr.lostTWs) > 2*maxLost {
		t.Errorf("%d lost timers held (room for %d), want at most %d", n, cap(tr.lostTWs), maxLost)
	}
	if got, want := tr.Evicted().TimeWaitAhead, uint64(conns-maxLost-2*tr.maxTimeWait); got < want {
		t.Errorf("%d TIME_WAITs taken as ended ahead of time, want at least %d", got, want)
	}
	if ahead > 0 {
		t.Errorf("%d transitions told dated after the clock", ahead)
	}
	tr.Advance(now + int64(3*msl))
	tr.Finish()
	whole, wnow := run(1<<20, 1<<20)
	whole.Advance(wnow + int64(3*msl))
	whole.Finish()
	if got, want := statesOf(tr), statesOf(whole); got != want {
		t.Errorf("after every TIME_WAIT ran out: client TIME_WAIT %d CLOSED %d, want %d and %d as with nothing capped",
			got[Client][TimeWait], got[Client][Closed], want[Client][TimeWait], want[Client][Closed])
	}
	if whole.Evicted().TimeWaitAhead != 0 {
		t.Errorf("uncapped: %d counted ahead of time, want 0", whole.Evicted().TimeWaitAhead)
	}
}
