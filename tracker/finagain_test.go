package tracker

import (
	"cmp"
	"slices"
	"testing"
	"time"
)

// TestFINSentAgainAfterTheCloseIsJudgedAsWhole: a side that sends its FIN
// again after the connection ended (both sides CLOSED or in TIME_WAIT)
// never received the ACK of it: it is back in CLOSING (its FIN came first,
// a simultaneous close) or LAST_ACK (its FIN answered the peer's), and the
// peer's TIME_WAIT starts over; the peer's ACK of it that follows takes it
// on again. A connection frozen or forgotten since it ended, judged on its
// compact record, must end in the same states with the same transitions
// as one kept whole.
func TestFINSentAgainAfterTheCloseIsJudgedAsWhole(t *testing.T) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	type step struct {
		fromClient bool
		f          Flags
		seq, ack   uint32
	}
	simultaneous := []step{{true, FIN | ACK, 101, 901}, {false, FIN | ACK, 901, 101}, {true, ACK, 102, 902}, {false, ACK, 902, 102}}
	passive := []step{{true, FIN | ACK, 101, 901}, {false, FIN | ACK, 901, 102}, {true, ACK, 102, 902}}
	serverFIN, clientFIN := step{false, FIN | ACK, 901, 102}, step{true, FIN | ACK, 101, 902}
	serverACK, clientACK := step{false, ACK, 902, 102}, step{true, ACK, 102, 902}
	tests := []struct {
		name  string
		close []step
		later []step // 800 ms after the close, 1 ms apart
		want  [2]State
	}{
		{"simultaneous close: the FIN sent again takes its sender back to CLOSING", simultaneous, []step{serverFIN}, [2]State{Closed, Closing}},
		{"simultaneous close: the ACK of the FIN sent again takes its sender to TIME_WAIT anew", simultaneous, []step{serverFIN, clientACK}, [2]State{Closed, Closed}},
		{"simultaneous close: a FIN sent again in answer carries the ACK of the peer's", simultaneous, []step{serverFIN, clientFIN}, [2]State{Closing, Closed}},
		{"simultaneous close: both FINs sent again, each acknowledged", simultaneous, []step{serverFIN, clientFIN, serverACK}, [2]State{Closed, Closed}},
		{"passive close: the FIN sent again from LAST_ACK takes its sender back to LAST_ACK", passive, []step{serverFIN}, [2]State{Closed, LastAck}},
		{"passive close: the ACK of the FIN sent again closes its sender anew", passive, []step{serverFIN, clientACK}, [2]State{Closed, Closed}},
	}
	type result struct {
		told   []Transition // of the connection, in the order of their times
		rec    []Transition // its Record's, kept whole or frozen
		states [2][numStates]uint64
		tw     [2]int // the client's TIME_WAITs towards the server: held at the end, entered
	}
	run := func(close, later []step, full, kept int) (res result, frozen, forgotten bool) {
		cfg := Config{MSL: msl, MaxFull: full, MaxKept: kept, FrozenTransitions: true}
		cfg.OnTransition = func(c *Conn, tr Transition) {
			if c.ID == 1 {
				res.told = append(res.told, tr)
			}
		}
		cfg.OnFrozenTransition = func(r *Record, tr Transition) {
			if r.ID == 1 {
				res.told = append(res.told, tr)
			}
		}
		tr := New(cfg)
		now := start
		seg := steppedConn(tr, &now, cli, 40000)
		openStepped(seg)
		c := tr.conns[0]
		for _, s := range close {
			seg(s.fromClient, s.f, s.seq, s.ack)
		}
		closed := now
		now = shortConns(tr, now, 6, 0) // ended after it: beyond 4×MaxFull it is frozen, beyond MaxKept forgotten
		for r := range tr.frozenRecords() {
			frozen = frozen || r.ID == 1
		}
		notWhole := !tr.stored(c)
		now = closed + int64(800*time.Millisecond)
		for _, s := range later {
			seg(s.fromClient, s.f, s.seq, s.ack)
		}
		tr.Advance(start + int64(10*time.Second))
		tr.Finish()
		forgotten = notWhole && tr.Evicted().Forgotten > 0
		for _, r := range tr.Records() {
			if r.ID == 1 {
				res.rec = r.Transitions()
				forgotten = false
			}
		}
		slices.SortStableFunc(res.told, func(a, b Transition) int { return cmp.Compare(a.Time, b.Time) })
		res.states = statesOf(tr)
		if p := tr.tw.pairs[twKey{host: cli, addr: target, port: 80}]; p != nil {
			res.tw = [2]int{p.count, p.entered}
		}
		return res, frozen, forgotten
	}
	finalStates := func(trs []Transition) (st [2]State) {
		for _, tr := range trs {
			st[tr.Side] = tr.To
		}
		return st
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			whole, _, _ := run(tc.close, tc.later, 1<<30, 0)
			if got := finalStates(whole.told); got != tc.want {
				t.Fatalf("whole: client %v, server %v at the end, want %v and %v", got[Client], got[Server], tc.want[Client], tc.want[Server])
			}
			for _, m := range []struct {
				name       string
				full, kept int
			}{{"frozen", 1, 0}, {"forgotten", 1, 2}} {
				got, frozen, forgotten := run(tc.close, tc.later, m.full, m.kept)
				if m.name == "frozen" && !frozen || m.name == "forgotten" && !forgotten {
					t.Fatalf("%s: the connection was not %s before its FIN came again", m.name, m.name)
				}
				if st := finalStates(got.told); st != tc.want {
					t.Errorf("%s: client %v, server %v at the end, want %v and %v as whole", m.name, st[Client], st[Server], tc.want[Client], tc.want[Server])
				}
				if !slices.Equal(got.told, whole.told) {
					t.Errorf("%s: transitions told\n%v\nwhole:\n%v", m.name, got.told, whole.told)
				}
				if m.name == "frozen" && !slices.Equal(got.rec, whole.rec) {
					t.Errorf("frozen: the Record's transitions\n%v\nwhole:\n%v", got.rec, whole.rec)
				}
				if m.name == "frozen" && got.tw != whole.tw {
					t.Errorf("frozen: the client's TIME_WAITs (held, entered) %v, whole %v", got.tw, whole.tw)
				}
				if got.states != whole.states {
					t.Errorf("%s: states by side %v, whole %v", m.name, got.states, whole.states)
				}
			}
		})
	}
}

// TestFINSentAgainToAForgottenConnectionDoesNotAllocate: judging a FIN
// sent again after a simultaneous close, and the ACK of it, on the compact
// record of a forgotten connection, its transitions told or not (ndjson,
// the live view), allocates nothing and adds no timer: the server, back
// in CLOSING and on to TIME_WAIT each time, keeps the one it has.
func TestFINSentAgainToAForgottenConnectionDoesNotAllocate(t *testing.T) {
	for _, events := range []bool{false, true} {
		cfg := Config{MSL: time.Second, MaxFull: 1, MaxKept: 2}
		if events {
			cfg.OnFrozenTransition = func(*Record, Transition) {}
		}
		tr := New(cfg)
		now := int64(1_700_000_000) * int64(time.Second)
		seg := steppedConn(tr, &now, AddrFrom4([4]byte{198, 18, 0, 7}), 40000)
		openStepped(seg)
		simultaneousClose(seg)
		now = shortConns(tr, now, 6, 0)
		if tr.Evicted().Forgotten == 0 || tr.twRecs.len() == 0 {
			t.Fatal("no connection was forgotten with its compact record")
		}
		steps, timers := 0, len(tr.frozenTWs)
		allocs := testing.AllocsPerRun(1000, func() {
			seg(false, FIN|ACK, 901, 102) // the server back in CLOSING, the client's TIME_WAIT restarted
			seg(true, ACK, 102, 902)      // the server in TIME_WAIT anew
			steps++
		})
		if allocs != 0 {
			t.Errorf("events %v: a FIN sent again to a forgotten connection, and its ACK, allocate %.1f times", events, allocs)
		}
		if n := len(tr.frozenTWs); n > timers {
			t.Errorf("events %v: %d timers after %d FINs sent again and their ACKs, %d before", events, n, steps, timers)
		}
		if st := tr.ForgottenStates(); st[Server][TimeWait] == 0 || tr.lateSegments < uint64(2*steps) {
			t.Errorf("events %v: the segments were not judged on the compact record: %d late segments, server TIME_WAITs %d", events, tr.lateSegments, st[Server][TimeWait])
		}
	}
}

// TestSYNAfterAFINSentAgainClosesTheOldSides: a side back in LAST_ACK
// after its FIN came again is CLOSED, like its peer in TIME_WAIT, when a
// new connection takes over the 4-tuple, kept whole or not. (A whole one
// opens the new connection at the SYN-ACK that answers its SYN, the old
// one not having ended; on a compact record it opens at the SYN: the times
// are not compared.)
func TestSYNAfterAFINSentAgainClosesTheOldSides(t *testing.T) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	type change struct { // (exported fields, printed by name)
		Side     Side
		From, To State
		Why      string
	}
	run := func(full, kept int) (after []change, states [2][numStates]uint64) {
		cfg := Config{MSL: msl, MaxFull: full, MaxKept: kept}
		var fin int64
		note := func(id uint64, tr Transition) {
			if id == 1 && fin != 0 && tr.Time >= fin {
				after = append(after, change{tr.Side, tr.From, tr.To, tr.Why})
			}
		}
		tellEvery(&cfg, note)
		tr := New(cfg)
		now := start
		seg := steppedConn(tr, &now, cli, 40000)
		openStepped(seg)
		activeClose(seg)
		closed := now
		now = shortConns(tr, now, 6, 0)
		now = closed + int64(800*time.Millisecond)
		fin = now
		seg(false, FIN|ACK, 901, 102) // the server back in LAST_ACK
		now = closed + int64(1500*time.Millisecond)
		seg(true, SYN, 5000, 0) // while the client's TIME_WAIT lasts
		seg(false, SYN|ACK, 7000, 5001)
		seg(true, ACK, 5001, 7001)
		tr.Advance(start + int64(10*time.Second))
		tr.Finish()
		return after, statesOf(tr)
	}
	reused := whyOf(cReused)
	want := []change{{Server, Closed, LastAck, whyOf(cFinAckLost)}, {Client, TimeWait, Closed, reused}, {Server, LastAck, Closed, reused}}
	whole, wholeStates := run(1<<30, 0)
	if !slices.Equal(whole, want) {
		t.Fatalf("whole: after the FIN sent again %v, want %v", whole, want)
	}
	for _, m := range []struct {
		name       string
		full, kept int
	}{{"frozen", 1, 0}, {"forgotten", 1, 2}} {
		got, states := run(m.full, m.kept)
		if !slices.Equal(got, want) {
			t.Errorf("%s: after the FIN sent again %v, want %v as whole", m.name, got, want)
		}
		if states != wholeStates {
			t.Errorf("%s: states by side %v, whole %v", m.name, states, wholeStates)
		}
	}
}
