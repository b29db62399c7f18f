package synth

import "net/netip"

// fault is how a connection ends badly (Config.Faults).
type fault uint8

const (
	noFault      fault = iota
	faultRefused       // the server answers the SYN with RST (connection_refused)
	faultAbort         // the client aborts with RST instead of its FIN (reset)
	faultHang          // the server acknowledges the client's FIN and never closes (CLOSE_WAIT)
)

// pickFault gives the i-th connection its fault: every Faults-th one, in
// turn refused, aborted, hanging. Refused and hanging connections go to
// their own services (port 8080 of the first and of the second server), so
// that those stand out in a per-service rollup; aborted ones keep theirs.
func (g *gen) pickFault(c *conn, i int) {
	n := g.cfg.Faults
	if n <= 0 || i%n != n-1 {
		return
	}
	c.fault = fault(1 + (i/n)%3)
	srv := c.server.Addr().As16()
	switch c.fault {
	case faultRefused:
		srv[15] = 1
	case faultHang:
		srv[15] = 2
	default:
		return
	}
	a := netip.AddrFrom16(srv)
	if c.server.Addr().Is4() {
		a = a.Unmap()
	}
	c.server = netip.AddrPortFrom(a, 8080)
}

// stepFault writes the connection's next packet when its fault changes
// it, and reports whether it did.
func (g *gen) stepFault(c *conn) bool {
	switch {
	case c.fault == faultRefused && c.phase == phSYNACK:
		g.tcp(c.server, c.client, 0, c.cseq, fRST|fACK, 0, false, 0)
	case c.fault == faultAbort && c.phase == phClientFIN:
		g.tcp(c.client, c.server, c.cseq, c.sseq, fRST|fACK, 0, false, 0)
	case c.fault == faultHang && c.phase == phServerFIN:
		// The server's application never calls close(): nothing more.
	default:
		return false
	}
	c.phase = phDone
	return true
}

// fRST is the RST flag.
const fRST = 0x04
