package main

import (
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestFindingsOfConnectionsNotListedSaySo: with --keep binding, the
// earliest findings name connections forgotten since: each is marked
// unlisted, and exactly those whose connection is not in connections.
func TestFindingsOfConnectionsNotListedSaySo(t *testing.T) {
	mix := synth.Config{Seed: 3, Conns: 2000, Concurrency: 100, Flood: 500,
		FloodTarget: netip.MustParseAddrPort("198.18.0.9:80"), Interval: 200 * time.Microsecond, Faults: 10}
	f := synthCapture(t, mix)
	for _, keep := range []int{0, 100} {
		out, _ := reportJSON(t, []string{f}, tracker.Config{MaxKept: keep})
		var rep report.Report
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatal(err)
		}
		listed := map[uint64]bool{}
		for _, c := range rep.Connections {
			listed[c.ID] = true
		}
		unlisted := 0
		for _, a := range rep.Anomalies {
			if a.Connection == 0 {
				continue
			}
			if a.Unlisted == listed[a.Connection] {
				t.Errorf("--keep %d: %s of #%d marked unlisted %v, its connection listed %v", keep, a.Kind, a.Connection, a.Unlisted, listed[a.Connection])
			}
			if a.Unlisted {
				unlisted++
			}
		}
		if keep == 100 && unlisted == 0 {
			t.Errorf("--keep 100: no finding names a forgotten connection: the test proves little")
		}
		if keep == 0 && unlisted != 0 {
			t.Errorf("default caps: %d findings marked unlisted on a capture whose connections are all kept", unlisted)
		}
	}
}
