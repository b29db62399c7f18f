package synth_test

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestFaultsEndOneConnectionInNBadly: with Faults 3, connections 3, 6, 9,
// ... end badly, in turn refused (to port 8080 of the first server),
// aborted by the client's RST, and left in CLOSE_WAIT by the server (port
// 8080 of the second); the others close cleanly.
func TestFaultsEndOneConnectionInNBadly(t *testing.T) {
	pkts, _ := readAll(t, synth.Config{Seed: 7, Conns: 30, Concurrency: 5, Faults: 3})
	tr := tracker.New(tracker.Config{})
	for i := range pkts {
		tr.Observe(&pkts[i].Seg)
	}
	tr.Finish()
	got := map[string]int{}
	for _, c := range tr.Conns() {
		cs, ss := c.State(tracker.Client), c.State(tracker.Server)
		srv := c.Server().String()
		switch {
		case srv == "198.18.255.1:8080" && c.ConnState() == "REJ" && cs == tracker.Closed:
			got["refused"]++
		case c.ConnState() == "RSTO" && cs == tracker.Closed && ss == tracker.Closed:
			got["aborted"]++
		case srv == "198.18.255.2:8080" && cs == tracker.FinWait2 && ss == tracker.CloseWait:
			got["hanging"]++
		case c.ConnState() == "SF":
			got["clean"]++
		default:
			t.Errorf("connection %d %v → %v: %v/%v %s", c.ID, c.Client(), c.Server(), cs, ss, c.ConnState())
		}
	}
	want := map[string]int{"refused": 4, "aborted": 3, "hanging": 3, "clean": 20}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d connections, want %d (all: %v)", k, got[k], n, got)
		}
	}
}
