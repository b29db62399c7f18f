package report

import "github.com/tcpwatch/tcpwatch/tracker"

// A report built by BuildStreamed holds the tracker's records, not its
// connections: each Connection is made as it is printed and dropped after,
// so that a report of hundreds of thousands of connections is not held a
// second time beside the records it comes from. Materialize makes them
// all, for what needs them at once (pictures, -w).

// connSource makes a streamed report's connections from the records.
type connSource struct {
	recs    []*tracker.Record
	verbose bool
	tunnels func(id uint32) (tracker.Tunnel, bool)
}

// conn makes the i-th connection.
func (s *connSource) conn(i int) Connection { return reportConnection(s.recs[i], s.verbose, s.tunnels) }

// reportConnection is a connection as the report lists it: its full row,
// its tunnel context when tunnels knows it. The report's connections and
// ndjson "end" events are both made by it, so they carry the same members.
func reportConnection(c *tracker.Record, verbose bool, tunnels func(uint32) (tracker.Tunnel, bool)) Connection {
	x := connection(c, verbose)
	x.BadChecksums = uint64(c.BadChecksums)
	x.Tunnel = tunnelFor(tunnels, c.Key.Tunnel)
	return x
}

// NumConnections returns the number of connections the report lists.
func (r *Report) NumConnections() int {
	if r.source != nil {
		return len(r.source.recs)
	}
	return len(r.Connections)
}

// each calls f with every connection in order, until f returns false; a
// streamed report makes each one anew, so f may keep it.
func (r *Report) each(f func(c *Connection) bool) {
	if r.source == nil {
		for i := range r.Connections {
			if !f(&r.Connections[i]) {
				return
			}
		}
		return
	}
	for i := range r.source.recs {
		c := r.source.conn(i)
		if !f(&c) {
			return
		}
	}
}

// Materialize makes a streamed report's Connections hold every connection;
// a report that holds them already is left as it is.
func (r *Report) Materialize() {
	if r.source == nil {
		return
	}
	r.Connections = make([]Connection, len(r.source.recs))
	for i := range r.Connections {
		r.Connections[i] = r.source.conn(i)
	}
	r.source = nil
}
