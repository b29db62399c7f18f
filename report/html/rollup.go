package html

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// service is one server address and port, over its connections.
type service struct {
	Server            netip.AddrPort
	Connections, Open int
	Findings          int
	Packets, Bytes    uint64
	ServerStates      []stateCount
}

type stateCount struct {
	State tracker.State
	N     int
}

// maxServices caps the rollup's rows.
const maxServices = 50

// services groups the connections by server, most connections first.
func services(r *report.Report) (rows []service, more int) {
	by := map[netip.AddrPort]*service{}
	states := map[netip.AddrPort]map[tracker.State]int{}
	for i := range r.Connections {
		c := &r.Connections[i]
		s := by[c.Server]
		if s == nil {
			s = &service{Server: c.Server}
			by[c.Server] = s
			states[c.Server] = map[tracker.State]int{}
		}
		s.Connections++
		if !closed(c.ClientState) || !closed(c.ServerState) {
			s.Open++
		}
		s.Findings += len(c.Anomalies)
		s.Packets += c.Packets.Client + c.Packets.Server
		s.Bytes += c.PayloadBytes.Client + c.PayloadBytes.Server
		states[c.Server][c.ServerState]++
	}
	for a, s := range by {
		for _, st := range tracker.States() {
			if n := states[a][st]; n > 0 {
				s.ServerStates = append(s.ServerStates, stateCount{st, n})
			}
		}
		rows = append(rows, *s)
	}
	slices.SortFunc(rows, func(a, b service) int {
		return cmp.Or(cmp.Compare(b.Connections, a.Connections), a.Server.Compare(b.Server))
	})
	if len(rows) > maxServices {
		return rows[:maxServices], len(rows) - maxServices
	}
	return rows, 0
}

func closed(s tracker.State) bool { return s == tracker.Closed || s == tracker.TimeWait }
