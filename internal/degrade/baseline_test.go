package degrade

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestBaselineEdges is the baseline's state diagram, one row per edge:
// the state before, the flags of a segment the side sends or receives, the
// state after.
func TestBaselineEdges(t *testing.T) {
	const (
		S, A, F, R = tracker.SYN, tracker.ACK, tracker.FIN, tracker.RST
	)
	cases := []struct {
		from  tracker.State
		sends bool
		f     tracker.Flags
		to    tracker.State
	}{
		{tracker.Closed, true, S, tracker.SynSent},
		{tracker.Closed, true, S | A, tracker.SynRcvd},
		{tracker.SynSent, true, S | A, tracker.SynRcvd},
		{tracker.SynRcvd, true, F | A, tracker.FinWait1},
		{tracker.Established, true, F | A, tracker.FinWait1},
		{tracker.CloseWait, true, F | A, tracker.LastAck},
		{tracker.Established, true, R, tracker.Closed},
		{tracker.Established, true, A, tracker.Established},
		{tracker.SynSent, false, S | A, tracker.Established},
		{tracker.SynSent, false, S, tracker.SynRcvd},
		{tracker.SynRcvd, false, A, tracker.Established},
		{tracker.SynRcvd, false, F | A, tracker.CloseWait},
		{tracker.Established, false, F | A, tracker.CloseWait},
		{tracker.Established, false, S, tracker.Established},
		{tracker.FinWait1, false, A, tracker.FinWait2},
		{tracker.FinWait1, false, F, tracker.Closing},
		{tracker.FinWait1, false, F | A, tracker.TimeWait},
		{tracker.FinWait2, false, F | A, tracker.TimeWait},
		{tracker.Closing, false, A, tracker.TimeWait},
		{tracker.LastAck, false, A, tracker.Closed},
		{tracker.TimeWait, false, F | A, tracker.TimeWait},
		{tracker.Established, false, R, tracker.Closed},
		{tracker.Closed, false, S, tracker.Closed},
	}
	for _, c := range cases {
		move, verb := onReceive, "receives"
		if c.sends {
			move, verb = onSend, "sends"
		}
		if got := move(c.from, c.f); got != c.to {
			t.Errorf("%s %s %s: %s, want %s", c.from, verb, c.f, got, c.to)
		}
	}
}

func baselineStates(t *testing.T, pkts []capture.Packet) []Result {
	t.Helper()
	return FlagsOnly(numbered(pkts...))
}

func TestBaselineCloseAndTimeWaitExpiry(t *testing.T) {
	pkts := handshakeAndClose(0, cli, 100)
	r := baselineStates(t, pkts)
	if len(r) != 1 || r[0].Client != cli || r[0].State != [2]tracker.State{tracker.TimeWait, tracker.Closed} {
		t.Fatalf("after a close: %+v", r)
	}
	pkts = append(pkts, capture.Packet{Time: 60_010e6, Kind: capture.NotTCP})
	if r := baselineStates(t, pkts); r[0].State != [2]tracker.State{} {
		t.Errorf("60 s after TIME_WAIT began: %v", r[0].State)
	}
}

func TestBaselineStartsANewConnectionOnlyOnAnEndedTuple(t *testing.T) {
	pkts := handshakeAndClose(0, cli, 100)
	pkts = append(pkts, handshakeAndClose(10, cli, 900)[:3]...)
	pkts = append(pkts, pkt(20, cli, srv, tracker.SYN, 7000)) // on a live connection: ignored
	r := baselineStates(t, pkts)
	if len(r) != 2 || r[1].State != [2]tracker.State{tracker.Established, tracker.Established} {
		t.Errorf("%+v", r)
	}
}

func TestBaselineMidstreamAndLateSynAck(t *testing.T) {
	r := baselineStates(t, []capture.Packet{pkt(0, srv, cli, tracker.ACK, 1)})
	if r[0].Client != cli || r[0].State != [2]tracker.State{tracker.Established, tracker.Established} {
		t.Errorf("midstream: %+v", r[0])
	}
	r = baselineStates(t, []capture.Packet{pkt(0, srv, cli, tracker.SYN|tracker.ACK, 1)})
	if r[0].Client != cli || r[0].State != [2]tracker.State{tracker.Established, tracker.SynRcvd} {
		t.Errorf("first seen SYN-ACK: %+v", r[0])
	}
}
