package tracker

import (
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestFloodedOneSYNConnectionsAreShed checks that under a spoofed SYN flood
// the table holds only the SYNs of the last few seconds, not the whole
// flood, and that nothing the report says changes: the same finding, the
// same connections, each SYN counted once in input.evicted.
func TestFloodedOneSYNConnectionsAreShed(t *testing.T) {
	start := int64(1_700_000_000) * int64(time.Second)
	const n = 20_000 // 1,000 SYNs/s for 20 s
	var clientLeft bool
	run := func(keep bool) (*Tracker, int) {
		tr := New(Config{KeepFlood: keep})
		peak := 0
		for i := range n {
			syn := Segment{Time: start + int64(i)*int64(time.Millisecond), Src: source(i), SrcPort: uint16(1024 + i%60000),
				Dst: target, DstPort: 80, Seq: seqnum.Value(i * 7919), Flags: SYN, Window: 64240, WScale: 7}
			tr.Observe(&syn)
			peak = max(peak, tr.Active())
		}
		// A client that is not spoofed: its SYN sent again after 1 s.
		c := Segment{Time: start + int64(5*time.Second), Src: source(90_000), SrcPort: 40000, Dst: target, DstPort: 80,
			Seq: 12345, Flags: SYN, Window: 64240, WScale: 7}
		tr.Observe(&c)
		c.Time += int64(time.Second)
		tr.Observe(&c)
		tr.Advance(start + int64(25*time.Second))
		for _, kc := range tr.Conns() {
			clientLeft = clientLeft || kc.Client().Port() == 40000 && kc.inTable
		}
		tr.Finish()
		return tr, peak
	}
	shed, peak := run(false)
	if !clientLeft {
		t.Errorf("the client that sent its SYN again was dropped with the flood's")
	}
	kept, keptPeak := run(true)
	if peak > 5_000 {
		t.Errorf("the table held %d connections at once under the flood, want the last few seconds' (≤ 5,000)", peak)
	}
	if keptPeak < n/2 {
		t.Errorf("with KeepFlood the table held only %d at once: the comparison proves nothing", keptPeak)
	}
	if got := shed.Evicted().Flood; got != n+1 {
		t.Errorf("evicted as the flood's: %d, want %d (every SYN, and the real client's handshake)", got, n+1)
	}
	if a, b := shed.Anomalies(), kept.Anomalies(); len(a) != 1 || len(b) != 1 || a[0].Kind != SynFlood || a[0].Detail != b[0].Detail {
		t.Errorf("findings differ with and without the flood's connections kept:\n%v\n%v", a, b)
	}
	if len(shed.Conns()) != 0 {
		t.Errorf("%d connections reported, want none (the flood's are summarized)", len(shed.Conns()))
	}
}
