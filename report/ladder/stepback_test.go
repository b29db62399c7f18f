package ladder

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestFindingLandsOnItsSegmentWhenTheClockStepsBack: a finding made at a
// segment is drawn at that segment's step also when the capture's clock
// stepped back just before it (the segment is stamped earlier than the
// two before it), as when a capture host's clock is set back.
func TestFindingLandsOnItsSegmentWhenTheClockStepsBack(t *testing.T) {
	for _, tc := range []struct {
		pcap  string
		stuck time.Duration
		kind  tracker.Kind
	}{
		{"zero-window.pcap", time.Second, tracker.ZeroWindow},
		{"closing-stuck.pcap", 0, tracker.UnackedFin},
		{"fin-wait-1-stuck.pcap", time.Second, tracker.CloseWaitStuck},
		{"last-ack-retransmit.pcap", 0, tracker.UnackedFin},
	} {
		t.Run(tc.pcap, func(t *testing.T) {
			cfg := tracker.Config{Thresholds: tracker.Thresholds{Stuck: tc.stuck}}
			pkts := readSegments(t, tc.pcap)
			tr, ls := drawWith(t, cfg, pkts)
			l, at := findingStep(t, tr, ls, tc.kind)
			if at < 2 || l.Steps[at].Kind != Segment {
				t.Fatalf("%s is at step %d (kind %v), want a segment's step after two others", tc.kind, at, l.Steps[at].Kind)
			}
			// Stamp the finding's segment, and every packet after it,
			// between the two steps before it.
			pkt := l.Steps[at].Packet
			back := l.Steps[at].Time - (l.Steps[at-2].Time+l.Steps[at-1].Time)/2
			for i := range pkts {
				if p := &pkts[i]; p.Num >= pkt {
					p.Time -= back
					p.Seg.Time -= back
				}
			}
			tr, ls = drawWith(t, cfg, pkts)
			l, got := findingStep(t, tr, ls, tc.kind)
			if slices.IsSortedFunc(l.Steps, func(a, b Step) int { return cmp.Compare(a.Time, b.Time) }) {
				t.Fatal("the steps are in time order: the clock did not step back")
			}
			if l.Steps[got].Packet != pkt {
				t.Errorf("%s drawn at step %d (packet %d), want packet %d's", tc.kind, got, l.Steps[got].Packet, pkt)
			}
		})
	}
}

// findingStep returns the ladder with the one finding of kind and the
// index of the step it is drawn at.
func findingStep(t *testing.T, tr *tracker.Tracker, ls []*Ladder, kind tracker.Kind) (*Ladder, int) {
	t.Helper()
	var conn uint64
	for _, a := range tr.Anomalies() {
		if a.Kind == kind {
			conn = a.Conn
		}
	}
	for _, l := range ls {
		if l.ID != conn {
			continue
		}
		for i, s := range l.Steps {
			for _, f := range s.Findings {
				if f.Kind == kind {
					return l, i
				}
			}
		}
	}
	t.Fatalf("no %s drawn (findings %v)", kind, tr.Anomalies())
	return nil, 0
}
