package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestFastOpenSYNSentAgainCountedOnce: a SYN carrying data, sent twice, is
// one retransmission, not one for the SYN and one for its data.
func TestFastOpenSYNSentAgainCountedOnce(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: S, payload: 100},
		{from: Client, flags: S, payload: 100, after: time.Second},
	}, 0)
	if h := tr.Conns()[0].Half(Client); h.Packets() != 2 || h.Retransmits() != 1 {
		t.Errorf("%d packets, %d retransmissions; want 2, 1", h.Packets(), h.Retransmits())
	}
}

// TestSYNWithSequenceZeroOnMidstreamConnection: a side picked up mid-stream
// has no known ISN, so a SYN from it with sequence number 0 is a new ISN
// like any other, held aside until the peer's SYN-ACK opens the new
// connection.
func TestSYNWithSequenceZeroOnMidstreamConnection(t *testing.T) {
	tr := New(Config{})
	now := int64(1_700_000_000) * int64(time.Second)
	isn := [2]seqnum.Value{1000, 5000}
	for i, st := range []step{
		{from: Client, flags: A, seq: 1, ack: 1},
		{from: Server, flags: A, seq: 1, ack: 1},
		{from: Client, flags: S, seq: 0},
		{from: Server, flags: SA, seq: 90000, ack: 0},
	} {
		seg := testSeg(isn, st.from, st.flags, st.seq, st.ack, st.payload)
		if st.flags == S {
			seg.Seq = 0
		}
		if st.flags == SA {
			seg.Ack = 1 // acknowledges the SYN at 0
		}
		now += int64(time.Millisecond)
		seg.Time, seg.Packet = now, uint64(i+1)
		tr.Observe(&seg)
	}
	tr.Finish()
	if n := len(tr.Conns()); n != 2 {
		t.Fatalf("%d connections, want 2 (the SYN at 0 opened a new one)", n)
	}
	if c := tr.Conns()[1]; c.State(Client) != Established || c.State(Server) != SynRcvd {
		t.Errorf("new connection %v/%v, want ESTABLISHED/SYN_RCVD\n%s", c.State(Client), c.State(Server), timeline(c))
	}
}
