package tracker

import (
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

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
			seg := func(at time.Duration, fromClient bool, f Flags, seq, ack uint32) {
				s := Segment{Time: start + int64(at), Src: cli, SrcPort: 40000, Dst: target, DstPort: 80, Flags: f, Window: 1000, WScale: -1}
				if !fromClient {
					s.Src, s.SrcPort, s.Dst, s.DstPort = target, 80, cli, 40000
				}
				if f&PSH != 0 {
					s.Payload = 10
				}
				s.Seq, s.Ack = seqnum.Value(seq), seqnum.Value(ack)
				tr.Observe(&s)
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
