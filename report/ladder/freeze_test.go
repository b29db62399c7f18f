package ladder

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// shortDupConns: n connections one after the other, each of which carries
// one data segment that the capture holds twice (the capture's duplicate).
func shortDupConns(n int) []capture.Packet {
	cli, srv := tracker.AddrFrom4([4]byte{10, 0, 0, 1}), tracker.AddrFrom4([4]byte{10, 0, 0, 2})
	var pkts []capture.Packet
	now := int64(1_700_000_000) * int64(time.Second)
	for i := 0; i < n; i++ {
		port := uint16(40000 + i)
		add := func(c2s bool, f tracker.Flags, seq, ack, payload uint32) {
			now += int64(time.Millisecond)
			s := tracker.Segment{Time: now, Packet: uint64(len(pkts) + 1), Src: cli, SrcPort: port, Dst: srv, DstPort: 80,
				Flags: f, Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Window: 1000, WScale: -1, Payload: payload}
			if !c2s {
				s.Src, s.SrcPort, s.Dst, s.DstPort = srv, 80, cli, port
			}
			pkts = append(pkts, capture.Packet{Time: now, Num: s.Packet, Kind: capture.TCP, Seg: s})
		}
		add(true, tracker.SYN, 100, 0, 0)
		add(false, tracker.SYN|tracker.ACK, 900, 101, 0)
		add(true, tracker.ACK, 101, 901, 0)
		add(true, tracker.PSH|tracker.ACK, 101, 901, 10)
		// the capture's own copy of it, 0 ns later
		dup := pkts[len(pkts)-1]
		dup.Num, dup.Seg.Packet = uint64(len(pkts)+1), uint64(len(pkts)+1)
		pkts = append(pkts, dup)
		add(false, tracker.ACK, 901, 111, 0)
		add(true, tracker.FIN|tracker.ACK, 111, 901, 0)
		add(false, tracker.FIN|tracker.ACK, 901, 112, 0)
		add(true, tracker.ACK, 112, 902, 0)
	}
	return pkts
}

// TestRecorderMarksWhateverTheFirstPassFreezes: the recorder's own tracker
// is made from the first pass's configuration; if it froze connections as
// the first pass may, it would reuse their Conns for new ones, and the
// marks it reads off its Conns (a duplicate) would go wrong.
func TestRecorderMarksWhateverTheFirstPassFreezes(t *testing.T) {
	pkts := shortDupConns(12)
	labels := func(cfg tracker.Config) []string {
		_, ls := drawWith(t, cfg, pkts)
		var out []string
		for _, l := range ls {
			for _, s := range l.Steps {
				out = append(out, l.Client.String()+" "+s.Label())
			}
		}
		return out
	}
	whole := labels(tracker.Config{MaxFull: 1 << 30})
	frozen := labels(tracker.Config{MaxFull: 1, FrozenTransitions: true})
	if len(whole) != len(frozen) {
		t.Fatalf("%d steps whole, %d frozen", len(whole), len(frozen))
	}
	bad := 0
	for i := range whole {
		if whole[i] != frozen[i] {
			if bad < 5 {
				t.Errorf("step %d: whole %q, frozen %q", i, whole[i], frozen[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d steps differ", bad)
	}
}
