package report

import "github.com/tcpwatch/tcpwatch/tracker"

// Summarize counts the tracker's connections by side and state and its
// findings by kind, exactly as the report's summary does.
func Summarize(tr *tracker.Tracker) Summary { return summarize(tr, connStates(tr, tr.Conns())) }

// connStates counts the connections kept whole by state, and those frozen.
func connStates(tr *tracker.Tracker, conns []*tracker.Conn) stateCounts {
	var st stateCounts
	for _, c := range conns {
		st.add(c.State(tracker.Client), c.State(tracker.Server))
	}
	tr.FrozenStates(func(cl, sv tracker.State) { st.add(cl, sv) })
	return st
}
