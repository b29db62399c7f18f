package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestFrozenTimeWaitEndsAsWholeOnes: the TIME_WAIT of a connection frozen
// as soon as it ended ends when a whole one's does, 2×MSL after it began
// or after the peer's FIN sent again, and is told then.
func TestFrozenTimeWaitEndsAsWholeOnes(t *testing.T) {
	const msl = time.Second
	start := int64(1_700_000_000) * int64(time.Second)
	cli := AddrFrom4([4]byte{198, 18, 0, 7})
	tests := []struct {
		name     string
		finAgain time.Duration // after the server's FIN, the same FIN again; 0: none
		want     time.Duration // the TIME_WAIT's end, after the server's FIN
	}{
		{"it runs out 2×MSL after it began", 0, 2 * msl},
		{"a FIN sent again restarts it", 500 * time.Millisecond, 500*time.Millisecond + 2*msl},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ends [2]int64 // whole, frozen: when the client's TIME_WAIT ended
			var told int      // transitions told of frozen connections
			for i, maxFull := range []int{1 << 30, 1} {
				cfg := Config{MSL: msl, MaxFull: maxFull}
				note := func(id uint64, tr Transition) {
					if id == 1 && tr.From == TimeWait && tr.Side == Client {
						ends[i] = tr.Time
					}
				}
				cfg.OnTransition = func(c *Conn, tr Transition) { note(c.ID, tr) }
				cfg.OnFrozenTransition = func(r *Record, tr Transition) { note(r.ID, tr); told++ }
				tr := New(cfg)
				now := start
				seg := func(fromClient bool, f Flags, seq, ack uint32) {
					s := Segment{Time: now, Src: cli, SrcPort: 40000, Dst: target, DstPort: 80, Flags: f, Window: 1000, WScale: -1}
					if !fromClient {
						s.Src, s.SrcPort, s.Dst, s.DstPort = target, 80, cli, 40000
					}
					s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
					tr.Observe(&s)
					now += int64(time.Millisecond)
				}
				seg(true, SYN, 100, 0)
				seg(false, SYN|ACK, 900, 101)
				seg(true, ACK, 101, 901)
				seg(true, FIN|ACK, 101, 901)
				fin := now
				seg(false, FIN|ACK, 901, 102)
				seg(true, ACK, 102, 902)
				now = shortConns(tr, now, 6, 0) // ended after it: beyond 4×MaxFull it is frozen
				if tc.finAgain > 0 {
					now = fin + int64(tc.finAgain)
					seg(false, FIN|ACK, 901, 102)
				}
				tr.Advance(start + int64(10*time.Second))
				tr.Finish()
				if maxFull == 1 && tr.Frozen() == 0 {
					t.Fatal("no connection was frozen")
				}
			}
			fin := start + 4*int64(time.Millisecond) // the server's first FIN
			if got := time.Duration(ends[0] - fin); got != tc.want {
				t.Errorf("whole: the TIME_WAIT ended %v after the FIN, want %v", got, tc.want)
			}
			if ends[1] != ends[0] {
				t.Errorf("frozen: the TIME_WAIT ended %v after the FIN, the whole one's %v", time.Duration(ends[1]-fin), time.Duration(ends[0]-fin))
			}
			if told == 0 {
				t.Error("no transition of a frozen connection was told")
			}
		})
	}
}
