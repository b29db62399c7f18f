package tracker_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/degrade"
	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestCompactingMidRunChangesNothing: asking for the connections while the
// capture is read, as live mode's reports do, compacts the tracker's list
// of connections and so renumbers them; the timers, which name
// connections by number, must follow, so that the report at the end is
// the one made without asking. Small caps make evictions (holes to
// compact) and forgotten connections; a short MSL makes TIME_WAITs end
// within the capture.
func TestCompactingMidRunChangesNothing(t *testing.T) {
	cfg := synth.Medium(7)
	cfg.Conns, cfg.Concurrency, cfg.Flood, cfg.Interval = 3000, 300, 1500, time.Millisecond
	pkts := synthPackets(t, cfg)
	tcfg := tracker.Config{MSL: time.Second, MaxConns: 150, MaxKept: 400}
	once := runAsking(t, pkts, tcfg, 0)
	often := runAsking(t, pkts, tcfg, 101)
	if !bytes.Equal(once, often) {
		t.Fatalf("the report differs when the connections are asked for during the run (%d bytes, %d without)", len(often), len(once))
	}
}

// runAsking feeds the packets, asking for the connections every every
// packets (0: never), and returns the report.
func runAsking(t *testing.T, pkts []capture.Packet, cfg tracker.Config, every int) []byte {
	tr := tracker.New(cfg)
	for i := range pkts {
		if p := &pkts[i]; p.Kind == capture.TCP {
			tr.Observe(&p.Seg)
		} else {
			tr.Advance(p.Time)
		}
		if every > 0 && i%every == 0 {
			tr.Conns()
		}
	}
	tr.Finish()
	if tr.Evicted().Embryonic == 0 || tr.Evicted().Forgotten == 0 {
		t.Fatalf("evictions %+v: the caps do not bind, nothing to compact", tr.Evicted())
	}
	return marshal(t, tr)
}

// synthPackets writes a generated capture and reads it back.
func synthPackets(t *testing.T, cfg synth.Config) []capture.Packet {
	pkts, err := degrade.Load(synth.TempFile(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}
