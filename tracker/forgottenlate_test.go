package tracker

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestCloseWaitForgottenBeforeItIsStuckIsStuckAtTheEnd: a server left in
// CLOSE_WAIT, evicted from a full table and forgotten beyond the store's
// cap before --stuck passes, is stuck by the end of input all the same:
// close_wait_stuck, with its client left in FIN_WAIT_2, as with a table
// large enough; whether the ACK of the client's FIN came before it was
// forgotten or after (which is applied to it, and is no segment of another
// connection to judge it as of).
func TestCloseWaitForgottenBeforeItIsStuckIsStuckAtTheEnd(t *testing.T) {
	sec := int64(time.Second)
	start := int64(1_700_000_000) * sec
	for _, ackAt := range []int64{sec / 10, 3 * sec} {
		t.Run(fmt.Sprintf("FIN acknowledged after %s", time.Duration(ackAt)), func(t *testing.T) {
			segs := []Segment{
				{Time: start, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
				{Time: start + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
				{Time: start + 2000, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1},
				{Time: start + sec, Src: cAddr, SrcPort: 30000, Dst: sAddr, DstPort: 80, Flags: FIN | ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1},
				{Time: start + sec + ackAt, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: 30000, Flags: ACK, Seq: 901, Ack: 9, Window: 1000, WScale: -1},
			}
			for i := range 200 { // others, open to the end, to evict it and push it out of the store
				at, port := start+sec+sec/20+int64(i)*sec/100, uint16(40000+i)
				segs = append(segs,
					Segment{Time: at, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: SYN, Seq: 7, Window: 1000, WScale: -1},
					Segment{Time: at + 1000, Src: sAddr, SrcPort: 80, Dst: cAddr, DstPort: port, Flags: SYN | ACK, Seq: 900, Ack: 8, Window: 1000, WScale: -1},
					Segment{Time: at + 2000, Src: cAddr, SrcPort: port, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			}
			segs = append(segs, Segment{Time: start + 10*sec, Src: cAddr, SrcPort: 40000, Dst: sAddr, DstPort: 80, Flags: ACK, Seq: 8, Ack: 901, Window: 1000, WScale: -1})
			slices.SortStableFunc(segs, func(a, b Segment) int { return cmp.Compare(a.Time, b.Time) })
			stuck := func(cfg Config) (string, *Tracker) {
				cfg.Thresholds = Thresholds{Stuck: time.Second}
				tr := observeAll(cfg, segs)
				var out []string
				for _, a := range tr.Anomalies() {
					if a.Kind == CloseWaitStuck {
						out = append(out, fmt.Sprintf("%s %v %d %s %v", a.Side, a.Target, a.Time, a.Detail, a.Also))
					}
				}
				return fmt.Sprintf("%v; counted %v", out, tr.AnomalyCounts()), tr
			}
			want, _ := stuck(Config{})
			got, tr := stuck(Config{MaxConns: 10, MaxKept: 10})
			if fs := tr.ForgottenStates(); fs[Server][CloseWait] != 1 {
				t.Fatalf("forgotten %v: not the server in CLOSE_WAIT, the case tests nothing", fs)
			}
			if got != want {
				t.Errorf("--max-conns 10 --keep 10: %s\nwant, as with room: %s", got, want)
			}
		})
	}
}
