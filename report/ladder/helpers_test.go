package ladder

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/degrade"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// readSegments reads a recording's TCP segments and the times of its other
// packets (as segments with no ports: the tracker only advances its clock).
func readSegments(t *testing.T, name string) []capture.Packet {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "pcaps", name)
	if local := filepath.Join("testdata", name); fileExists(local) {
		path = local // recorded for the ladders (testdata/record)
	}
	pkts, err := degrade.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return pkts
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// draw runs both passes over pkts: the tracker over all of them, then a
// recorder over those it wants, and returns the first pass's tracker and
// every connection's ladder.
func draw(t *testing.T, pkts []capture.Packet) (*tracker.Tracker, []*Ladder) {
	t.Helper()
	return drawWith(t, tracker.Config{}, pkts)
}

// drawWith is draw with a tracker configuration.
func drawWith(t *testing.T, cfg tracker.Config, pkts []capture.Packet) (*tracker.Tracker, []*Ladder) {
	t.Helper()
	tr := track(cfg, pkts)
	rec := NewRecorder(cfg, tr.Records())
	for i := range pkts {
		if p := &pkts[i]; p.Kind == capture.TCP && rec.Wants(&p.Seg) {
			rec.Observe(&p.Seg)
		}
	}
	return tr, rec.Ladders(tr.Anomalies())
}

// track is the first pass: a tracker of cfg fed every packet, finished.
func track(cfg tracker.Config, pkts []capture.Packet) *tracker.Tracker {
	tr := tracker.New(cfg)
	for i := range pkts {
		feed(tr, &pkts[i])
	}
	tr.Finish()
	return tr
}

func feed(tr *tracker.Tracker, p *capture.Packet) {
	if p.Kind == capture.TCP {
		tr.Observe(&p.Seg)
	} else {
		tr.Advance(p.Time)
	}
}
