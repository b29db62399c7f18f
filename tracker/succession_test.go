package tracker

import (
	"testing"
	"time"
)

type stepped = func(fromClient bool, f Flags, seq, ack uint32)

// evictedThenForgotten opens a connection A (steppedConn's, port 40000),
// sends its segments then, and opens two more through a table of one and a
// store of one: A is evicted open, then forgotten. It returns the tracker
// and A.
func evictedThenForgotten(then func(a stepped)) (*Tracker, stepped) {
	tr, a, _ := evictedThenForgottenAt(Config{MaxConns: 1, MaxKept: 1, MaxFull: 1}, then)
	return tr, a
}

// evictedThenForgottenAt is evictedThenForgotten through cfg's caps,
// returning the clock its connections step too.
func evictedThenForgottenAt(cfg Config, then func(a stepped)) (*Tracker, stepped, *int64) {
	tr := New(cfg)
	now := new(int64)
	*now = int64(1_700_000_000) * int64(time.Second)
	a := steppedConn(tr, now, review3Pair.host, 40000)
	openStepped(a)
	then(a)
	openStepped(steppedConn(tr, now, review3Pair.host, 40001)) // evicts A
	openStepped(steppedConn(tr, now, review3Pair.host, 40002)) // evicts B: A is forgotten
	return tr, a, now
}

// TestConnectionForgottenOpenIsTakenOverByItsNextSegment: a connection
// evicted open after its client's FIN and forgotten beyond MaxKept is
// taken over by the connection the server's FIN opens, picked up
// mid-stream: three connections, not four, the client in TIME_WAIT and
// the server CLOSED as they are (not a client in CLOSE_WAIT to a server in
// FIN_WAIT_2, the roles of the FIN's sender told by the ports, and the one
// evicted left in FIN_WAIT_1 for ever).
func TestConnectionForgottenOpenIsTakenOverByItsNextSegment(t *testing.T) {
	tr, a := evictedThenForgotten(func(a stepped) { a(true, FIN|ACK, 101, 901) })
	if ev := tr.Evicted(); ev.Forgotten == 0 {
		t.Fatalf("nothing forgotten (%+v): the case tests nothing", ev)
	}
	a(false, FIN|ACK, 901, 102)
	a(true, ACK, 102, 902)
	tr.Finish()
	ev := tr.Evicted()
	if n := uint64(len(tr.Records())) + ev.Forgotten; n != 3 || ev.TakenOver != 1 {
		t.Errorf("%d connections, %d taken over (evicted %+v): want 3, 1", n, ev.TakenOver, ev)
	}
	for _, r := range tr.Records() {
		if r.Key.APort == 40000 || r.Key.BPort == 40000 {
			if cl, sv := r.states[Client], r.states[Server]; cl != TimeWait || sv != Closed {
				t.Errorf("the connection taken over ends %v/%v, want TIME_WAIT/CLOSED", cl, sv)
			}
		}
	}
}

// TestLastAckOfAForgottenConnectionClosesItsServer: a connection evicted
// open with its client in TIME_WAIT and its server in LAST_ACK, forgotten
// beyond MaxKept, sees its last ACK come as a lone segment (nothing
// answers it): its server is counted CLOSED, not in LAST_ACK for ever, and
// it is still one connection.
func TestLastAckOfAForgottenConnectionClosesItsServer(t *testing.T) {
	tr, a := evictedThenForgotten(func(a stepped) {
		a(true, FIN|ACK, 101, 901)
		a(false, FIN|ACK, 901, 102) // client TIME_WAIT, server LAST_ACK
	})
	if st := tr.ForgottenStates(); st[Server][LastAck] != 1 {
		t.Fatalf("forgotten states %v: the case tests nothing", st)
	}
	a(true, ACK, 102, 902)
	tr.Finish()
	st := tr.ForgottenStates()
	if st[Server][LastAck] != 0 || st[Server][Closed] == 0 {
		t.Errorf("forgotten servers: LAST_ACK %d, CLOSED %d; want 0, at least 1", st[Server][LastAck], st[Server][Closed])
	}
	if n := uint64(len(tr.Records())) + tr.Evicted().Forgotten; n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// TestResetOfAForgottenConnection: an RST on the 4-tuple of a connection
// evicted open and forgotten beyond MaxKept is answered by nothing, so it
// opens no connection to take the forgotten one over. One that goes on
// from where its sender had got to aborts it: both sides are counted
// CLOSED, not ESTABLISHED for ever, and the abort is the connection's
// finding, as it is of a connection followed. One from behind that point,
// or to a side in TIME_WAIT, changes nothing. It stays one connection.
func TestResetOfAForgottenConnection(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(a stepped)
		rst    func(a stepped)
		closed bool
	}{
		{"the client's abort at its next sequence number", func(stepped) {}, func(a stepped) { a(true, RST, 101, 0) }, true},
		{"the server's abort at its next sequence number", func(stepped) {}, func(a stepped) { a(false, RST|ACK, 901, 101) }, true},
		{"the client's abort answering the server's segment", func(stepped) {}, func(a stepped) {
			a(false, ACK|PSH, 901, 101) // held as a lone segment: the abort's, then
			a(true, RST, 101, 0)
		}, true},
		{"an RST past where its sender had got to (challenged)", func(stepped) {}, func(a stepped) { a(false, RST|ACK, 901+5000, 101) }, false},
		{"an RST from behind where its sender had got to", func(stepped) {}, func(a stepped) { a(true, RST, 51, 0) }, false},
		{"an RST to a client in TIME_WAIT", func(a stepped) {
			a(true, FIN|ACK, 101, 901)
			a(false, FIN|ACK, 901, 102)
		}, func(a stepped) { a(false, RST, 902, 0) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, a := evictedThenForgotten(tc.before)
			was := tr.ForgottenStates()
			if was[Client][Established]+was[Client][TimeWait] != 1 {
				t.Fatalf("forgotten states %v: the case tests nothing", was)
			}
			tc.rst(a)
			tr.Finish()
			st := tr.ForgottenStates()
			resets := 0
			for _, an := range tr.Anomalies() {
				if an.Kind == Reset {
					resets++
					if an.Conn != 1 {
						t.Errorf("the abort is connection %d's, want 1 (the one forgotten)", an.Conn)
					}
				}
			}
			svs, _ := tr.ForgottenServices()
			var inService uint64
			for _, sv := range svs {
				inService += sv.Findings[Reset]
			}
			if inService != uint64(resets) {
				t.Errorf("%d reset findings, %d counted for the forgotten service", resets, inService)
			}
			if lone := tr.Lone(); tc.closed && lone.Segments != 0 {
				t.Errorf("%d lone segments: what was held of the connection aborted was its own", lone.Segments)
			}
			if tc.closed && (st[Client][Closed] != 1 || st[Server][Closed] != 1 || resets != 1) {
				t.Errorf("forgotten states %v, %d reset findings: want both sides CLOSED, one finding", st, resets)
			}
			if !tc.closed && (st != was || resets != 0) {
				t.Errorf("forgotten states %v (were %v), %d reset findings: want unchanged, none", st, was, resets)
			}
			if n := uint64(len(tr.Records())) + tr.Evicted().Forgotten; n != 3 {
				t.Errorf("%d connections, want 3", n)
			}
		})
	}
}

// TestSuccessorEvictedOpenComesBackWithItsNextSegment: the connection
// that took over one evicted open and forgotten, evicted open in turn
// while still kept whole, is brought back by its next segment, as any
// connection evicted open is, rather than succeeded by a third picked up
// mid-stream that knows nothing of the client's FIN (a client in
// CLOSE_WAIT to a server in FIN_WAIT_2).
func TestSuccessorEvictedOpenComesBackWithItsNextSegment(t *testing.T) {
	// (Two kept: bringing one back makes room in the table, and the
	// connection evicted to make it is kept beside it.)
	tr, a, now := evictedThenForgottenAt(Config{MaxConns: 1, MaxKept: 2, MaxFull: 2}, func(stepped) {})
	a(true, FIN|ACK, 101, 901)
	a(false, ACK, 901, 102) // the successor: client FIN_WAIT_2, server CLOSE_WAIT
	if ev := tr.Evicted(); ev.TakenOver != 1 {
		t.Fatalf("evicted %+v: no successor, the case tests nothing", ev)
	}
	openStepped(steppedConn(tr, now, review3Pair.host, 40003)) // evicts the successor
	readmitted := tr.Evicted().Readmitted
	a(false, FIN|ACK, 901, 102)
	a(true, ACK, 102, 902)
	tr.Finish()
	ev := tr.Evicted()
	if ev.Readmitted != readmitted+1 {
		t.Errorf("readmitted %d, want %d: the successor did not come back", ev.Readmitted, readmitted+1)
	}
	if n := uint64(len(tr.Records())) + ev.Forgotten; n != 4 {
		t.Errorf("%d connections, want 4", n)
	}
	for _, r := range tr.Records() {
		if r.Key.APort == 40000 || r.Key.BPort == 40000 {
			if cl, sv := r.states[Client], r.states[Server]; cl != TimeWait || sv != Closed {
				t.Errorf("connection %d ends %v/%v, want TIME_WAIT/CLOSED", r.ID, cl, sv)
			}
		}
	}
}

// TestAckOfAForgottenClientsFINCountsItInFinWait2: a connection evicted
// open after its client's FIN and forgotten beyond MaxKept sees the
// server's ACK of that FIN come as a lone segment, which nothing answers
// (the server stuck in CLOSE_WAIT sends no FIN): its client is counted in
// FIN_WAIT_2, not in FIN_WAIT_1 for ever, it is still one connection, and
// the ACK is its own, no lone segment.
func TestAckOfAForgottenClientsFINCountsItInFinWait2(t *testing.T) {
	tr, a := evictedThenForgotten(func(a stepped) { a(true, FIN|ACK, 101, 901) })
	if st := tr.ForgottenStates(); st[Client][FinWait1] != 1 {
		t.Fatalf("forgotten states %v: the case tests nothing", st)
	}
	a(false, ACK, 901, 102)
	tr.Finish()
	st := tr.ForgottenStates()
	if st[Client][FinWait1] != 0 || st[Client][FinWait2] != 1 || st[Server][CloseWait] != 1 {
		t.Errorf("forgotten: client FIN_WAIT_1 %d, FIN_WAIT_2 %d, server CLOSE_WAIT %d; want 0, 1, 1",
			st[Client][FinWait1], st[Client][FinWait2], st[Server][CloseWait])
	}
	if lone := tr.Lone(); lone.Segments != 0 {
		t.Errorf("%d lone segments: the ACK is the forgotten connection's", lone.Segments)
	}
	if n := uint64(len(tr.Records())) + tr.Evicted().Forgotten; n != 3 {
		t.Errorf("%d connections, want 3", n)
	}
}

// TestFirstConnectionIsJudgedAfterItsSuccessorComesBackAndGoesAgain: a
// connection evicted open in CLOSE_WAIT and frozen is judged as of the
// segment that did not bring it back (close_wait_stuck, from what it was
// then), whatever becomes of the connection that took it over: evicted,
// brought back by its next segment and evicted again, as well as left
// evicted.
func TestFirstConnectionIsJudgedAfterItsSuccessorComesBackAndGoesAgain(t *testing.T) {
	for _, again := range []bool{false, true} {
		tr := New(Config{MaxConns: 1, MaxKept: 10, MaxFull: 1})
		now := new(int64)
		*now = int64(1_700_000_000) * int64(time.Second)
		a := steppedConn(tr, now, review3Pair.host, 40000)
		openStepped(a)
		a(true, FIN|ACK, 101, 901)
		a(false, ACK, 901, 102)                                    // client FIN_WAIT_2, server CLOSE_WAIT
		openStepped(steppedConn(tr, now, review3Pair.host, 40001)) // evicts A, kept whole
		openStepped(steppedConn(tr, now, review3Pair.host, 40002)) // evicts B: A is frozen
		*now += int64(2 * time.Minute)
		a(false, ACK|PSH, 901, 102)                                // A is not brought back
		a(true, ACK, 102, 901)                                     // the successor, picked up mid-stream
		openStepped(steppedConn(tr, now, review3Pair.host, 40003)) // evicts it
		if again {
			a(false, ACK, 901, 102) // brings it back
			a(true, ACK, 102, 901)
			openStepped(steppedConn(tr, now, review3Pair.host, 40004)) // evicts it again
		}
		tr.Finish()
		stuck := false
		for _, an := range tr.Anomalies() {
			stuck = stuck || an.Kind == CloseWaitStuck && an.Conn == 1
		}
		if !stuck {
			t.Errorf("successor brought back and evicted again %v: the first connection's close_wait_stuck is missing (%v)", again, tr.Anomalies())
		}
	}
}
