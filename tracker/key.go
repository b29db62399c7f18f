package tracker

import "net/netip"

// FlowKey identifies a TCP 4-tuple regardless of direction: the endpoint
// that sorts first (by address, then port) is A. It is a packed, comparable
// value with no pointers, cheap to hash as a map key.
type FlowKey struct {
	A, B         Addr
	APort, BPort uint16
	// Tunnel is the tunnel context the segments came through
	// (Segment.Tunnel): 0 for none. Two overlays carrying the same inner
	// 4-tuple are two connections.
	Tunnel uint32
}

// keyOf returns the segment's flow key and whether the segment was sent by
// endpoint A.
func keyOf(s *Segment) (k FlowKey, fromA bool) {
	if less(s.Src, s.SrcPort, s.Dst, s.DstPort) {
		return FlowKey{A: s.Src, B: s.Dst, APort: s.SrcPort, BPort: s.DstPort, Tunnel: s.Tunnel}, true
	}
	return FlowKey{A: s.Dst, B: s.Src, APort: s.DstPort, BPort: s.SrcPort, Tunnel: s.Tunnel}, false
}

func less(a Addr, ap uint16, b Addr, bp uint16) bool {
	if a != b {
		return a.less(b)
	}
	return ap <= bp
}

// AddrPortA returns endpoint A for printing.
func (k FlowKey) AddrPortA() netip.AddrPort { return netip.AddrPortFrom(k.A.IP(), k.APort) }

// AddrPortB returns endpoint B for printing.
func (k FlowKey) AddrPortB() netip.AddrPort { return netip.AddrPortFrom(k.B.IP(), k.BPort) }

// KeyOf returns the flow key of the connection a segment belongs to, tunnel
// context included, for code outside the tracker that indexes connections
// by the segments it sees.
func KeyOf(s *Segment) FlowKey {
	k, _ := keyOf(s)
	return k
}
