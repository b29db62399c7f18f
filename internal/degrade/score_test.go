package degrade

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker"
)

func TestMatchRules(t *testing.T) {
	closed := [2]tracker.State{}
	tw := [2]tracker.State{tracker.TimeWait, tracker.Closed}
	rows := []Row{
		{cli, srv, closed},
		{cli, srv, tw},
		{netip.MustParseAddrPort("198.18.0.1:40001"), srv, [2]tracker.State{tracker.SynSent, tracker.Closed}},
	}
	got := []Result{
		// the second connection of the 4-tuple first in the list: matched
		// in order of first packet, and with client and server swapped
		{Client: srv, Server: cli, State: [2]tracker.State{tracker.Closed, tracker.TimeWait}, First: 20},
		{Client: cli, Server: srv, State: [2]tracker.State{tracker.Established, tracker.Closed}, First: 10},
	}
	vs := Match(rows, got)
	want := []Verdict{
		{Said: [2]tracker.State{tracker.Established, tracker.Closed}, Found: true, Right: 1},
		{Said: tw, Found: true, Right: 2},
		{Said: closed, Found: false, Right: 1}, // not reported: CLOSED/CLOSED
	}
	if !slices.Equal(vs, want) {
		t.Errorf("Match:\n got %v\nwant %v", vs, want)
	}
	if s := ScoreOf(vs); s != (Score{Right: 4, Total: 6}) {
		t.Errorf("ScoreOf = %+v", s)
	}
}
