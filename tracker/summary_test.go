package tracker

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
	"github.com/tcpwatch/tcpwatch/tracker/zeek"
)

// Segment.Zeek converts the flags with a plain conversion: that holds only
// while both types keep the TCP header's bit positions.
func TestZeekFlagsAreHeaderBits(t *testing.T) {
	for _, tc := range []struct {
		ours Flags
		want zeek.Flags
	}{{FIN, zeek.FIN}, {SYN, zeek.SYN}, {RST, zeek.RST}, {ACK, zeek.ACK}} {
		if got := zeek.Flags(tc.ours); got != tc.want {
			t.Errorf("zeek.Flags(%v) = %#x, want %#x", tc.ours, got, tc.want)
		}
	}
}

func TestSegmentZeek(t *testing.T) {
	seg := Segment{Time: 7, Packet: 3, Src: AddrFrom4([4]byte{198, 18, 0, 2}), SrcPort: 80, DstPort: 40000,
		Seq: 501, Ack: 101, Flags: PSH | ACK, Window: 0, WScale: -1, Payload: 20}
	want := zeek.Segment{Seq: 501, Ack: 101, Payload: 20, SrcPort: 80, DstPort: 40000, Window: 0,
		Flags: zeek.Flags(PSH | ACK), FromClient: false}
	if got := seg.Zeek(false); got != want {
		t.Errorf("Zeek(false) = %+v, want %+v", got, want)
	}
}

// A connection's History and ConnState are its Zeek summary's.
func TestConnZeekSummary(t *testing.T) {
	tr := New(Config{})
	cl, sv := AddrFrom4([4]byte{198, 18, 0, 1}), AddrFrom4([4]byte{198, 18, 0, 2})
	now := int64(1_700_000_000_000_000_000)
	send := func(fromClient bool, f Flags, seq, ack seqnum.Value, n uint32) {
		now += 1_000_000
		s := Segment{Time: now, Flags: f, Seq: seq, Ack: ack, Payload: n, Window: 1000, WScale: -1,
			Src: cl, SrcPort: 40000, Dst: sv, DstPort: 9000}
		if !fromClient {
			s.Src, s.SrcPort, s.Dst, s.DstPort = sv, 9000, cl, 40000
		}
		tr.Observe(&s)
	}
	send(true, SYN, 100, 0, 0)
	send(false, SYN|ACK, 500, 101, 0)
	send(true, ACK, 101, 501, 0)
	send(true, PSH|ACK, 101, 501, 10)
	send(false, FIN|ACK, 501, 111, 0)
	conns := tr.Conns()
	if len(conns) != 1 {
		t.Fatalf("%d connections, want 1", len(conns))
	}
	if h, st := conns[0].History(), conns[0].ConnState(); h != "ShADf" || st != "S3" {
		t.Errorf("History %q, ConnState %q; want \"ShADf\", \"S3\"", h, st)
	}
}
