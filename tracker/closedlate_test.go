package tracker

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// stuckInCloseWait returns a tracker whose one connection's server is
// stuck in CLOSE_WAIT (--stuck 1s): the client's FIN at +10ms, a
// keepalive at +2s; and the function that sends its segments.
func stuckInCloseWait() (*Tracker, func(at time.Duration, fromClient bool, f Flags, seq, ack uint32)) {
	start := int64(1_700_000_000) * int64(time.Second)
	tr := New(Config{Thresholds: Thresholds{Stuck: time.Second}})
	conn := oneConn(tr, start, AddrFrom4([4]byte{198, 18, 0, 7}), 40000)
	seg := func(at time.Duration, fromClient bool, f Flags, seq, ack uint32) {
		conn(at, fromClient, f, seq, ack, 0)
	}
	seg(0, true, SYN, 100, 0)
	seg(time.Millisecond, false, SYN|ACK, 900, 101)
	seg(2*time.Millisecond, true, ACK, 101, 901)
	seg(10*time.Millisecond, true, FIN|ACK, 101, 901)
	seg(11*time.Millisecond, false, ACK, 901, 102)
	seg(2*time.Second, true, ACK, 101, 901) // a keepalive: 2 s later, the server is stuck
	return tr, seg
}

// TestCloseWaitEndedByReuseSaysSo: the server stuck in CLOSE_WAIT; the
// client, long gone from FIN_WAIT_2, uses the same port again: the new
// SYN supersedes the old connection, and the finding says so, not that an
// RST ended it.
func TestCloseWaitEndedByReuseSaysSo(t *testing.T) {
	tr, seg := stuckInCloseWait()
	seg(90*time.Second, true, SYN, 777777, 0) // the client reuses its port
	seg(90*time.Second+time.Millisecond, false, SYN|ACK, 5555, 777778)
	seg(90*time.Second+2*time.Millisecond, true, ACK, 777778, 5556)
	tr.Finish()
	const want = "server 198.18.0.2:80 stayed in CLOSE_WAIT 1m29.991s after the client's FIN, until a new connection took over the 4-tuple: its application never called close()"
	var found []string
	for _, a := range tr.Anomalies() {
		if a.Kind == CloseWaitStuck {
			found = append(found, a.Detail)
		}
	}
	if len(found) != 1 || found[0] != want {
		t.Errorf("close_wait_stuck %q, want %q", found, want)
	}
}

// TestCloseWaitStuckThatClosesLaterSaysSo: a side found stuck in
// CLOSE_WAIT that closes later is not left saying it never closed: its
// finding says how long it took.
func TestCloseWaitStuckThatClosesLaterSaysSo(t *testing.T) {
	tr, seg := stuckInCloseWait()
	stuck := slices.Clone(tr.Anomalies())
	seg(3011*time.Millisecond, false, FIN|ACK, 901, 102) // it closes 3 s after the FIN
	seg(3012*time.Millisecond, true, ACK, 102, 902)
	tr.Finish()
	if len(stuck) != 1 || stuck[0].Kind != CloseWaitStuck || !strings.Contains(stuck[0].Detail, "has not closed") {
		t.Fatalf("before it closed: findings %v, want close_wait_stuck", stuck)
	}
	as := tr.Anomalies()
	if len(as) != 1 {
		t.Fatalf("findings %v, want one", as)
	}
	want := "server 198.18.0.2:80 closed only 3.001s after the client's FIN: its application called close() that late"
	if a := as[0]; a.Detail != want || a.Fields["seconds_stuck"] != 3.001 {
		t.Errorf("finding %q %v, want %q and seconds_stuck 3.001", a.Detail, a.Fields, want)
	}
}

// TestLiveFindingsAreBroughtUpToDateAtTheEnd: findings made live, before
// the end of input, say at the end what the end of input shows: a
// syn_timeout judged once the handshake timed out counts the SYNs sent
// after, and a close_wait_stuck found as soon as it passed --stuck says how
// long the side stayed, up to the RST that ended it.
func TestLiveFindingsAreBroughtUpToDateAtTheEnd(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	tr := New(Config{Thresholds: Thresholds{Stuck: time.Second}})
	seg := func(at time.Duration, port uint16, fromClient bool, f Flags, seq, ack uint32) {
		oneConn(tr, start, cli, port)(at, fromClient, f, seq, ack, 0)
	}
	sweep := func(at time.Duration) { tr.Advance(start + int64(at)); tr.Sweep() }
	// A SYN never answered, sent four times.
	for _, at := range []time.Duration{0, time.Second, 3 * time.Second, 7 * time.Second} {
		seg(at, 40000, true, SYN, 100, 0)
		sweep(at + 500*time.Millisecond)
	}
	// A server in CLOSE_WAIT, found stuck by the sweep, reset 4 s later.
	seg(0, 40001, true, SYN, 100, 0)
	seg(time.Millisecond, 40001, false, SYN|ACK, 900, 101)
	seg(2*time.Millisecond, 40001, true, ACK, 101, 901)
	seg(10*time.Millisecond, 40001, true, FIN|ACK, 101, 901)
	seg(11*time.Millisecond, 40001, false, ACK, 901, 102)
	sweep(1500 * time.Millisecond)
	made := map[Kind]string{}
	for _, a := range tr.Anomalies() {
		made[a.Kind] = a.Detail
	}
	seg(4010*time.Millisecond, 40001, false, RST|ACK, 901, 102)
	sweep(8 * time.Second)
	tr.Finish()
	want := map[Kind]string{
		SynTimeout:     "sent its SYN 4 times over 7s",
		CloseWaitStuck: "stayed in CLOSE_WAIT 4s after the client's FIN, until an RST ended the connection",
	}
	for _, a := range tr.Anomalies() {
		if w, ok := want[a.Kind]; ok {
			if !strings.Contains(a.Detail, w) {
				t.Errorf("%s: %q (made as %q), want it to say %q", a.Kind, a.Detail, made[a.Kind], w)
			}
			delete(want, a.Kind)
		}
	}
	if len(want) > 0 {
		t.Errorf("findings missing: %v (made: %v)", want, made)
	}
}

// TestCloseWaitStuckNotClosedByItsApplication: a server found stuck in
// CLOSE_WAIT that leaves it without sending its FIN — the client resets
// the connection — never had its application call close(); its finding must not
// say that it did.
func TestCloseWaitStuckNotClosedByItsApplication(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	for _, tc := range []struct {
		name string
		end  func(seg func(at time.Duration, fromClient bool, f Flags, seq, ack uint32))
	}{
		{"the client resets it", func(seg func(time.Duration, bool, Flags, uint32, uint32)) {
			seg(3011*time.Millisecond, true, RST, 102, 0)
		}},
		{"the server's data draws the client's RST", func(seg func(time.Duration, bool, Flags, uint32, uint32)) {
			seg(3011*time.Millisecond, false, PSH|ACK, 901, 102)
			seg(3012*time.Millisecond, true, RST, 102, 0)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Config{Thresholds: Thresholds{Stuck: time.Second}})
			conn := oneConn(tr, start, cli, 40000)
			seg := func(at time.Duration, fromClient bool, f Flags, seq, ack uint32) {
				var payload uint32
				if f&PSH != 0 {
					payload = 10
				}
				conn(at, fromClient, f, seq, ack, payload)
			}
			seg(0, true, SYN, 100, 0)
			seg(time.Millisecond, false, SYN|ACK, 900, 101)
			seg(2*time.Millisecond, true, ACK, 101, 901)
			seg(10*time.Millisecond, true, FIN|ACK, 101, 901)
			seg(11*time.Millisecond, false, ACK, 901, 102)
			seg(2*time.Second, true, ACK, 101, 901) // the server is found stuck
			tc.end(seg)
			tr.Finish()
			var trs []string
			for _, c := range tr.Conns() {
				if c.ID == 1 {
					for _, x := range c.Transitions() {
						if x.Side == Server {
							trs = append(trs, x.From.String()+"->"+x.To.String())
						}
					}
				}
			}
			for _, a := range tr.Anomalies() {
				if a.Kind == CloseWaitStuck {
					t.Logf("server transitions %v; finding: %s %v", trs, a.Detail, a.Fields)
					if strings.Contains(a.Detail, "called close() that late") {
						t.Errorf("the server never sent a FIN, yet its finding says %q", a.Detail)
					}
				}
			}
		})
	}
}
