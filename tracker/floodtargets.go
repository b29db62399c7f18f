package tracker

import "net/netip"

// FloodTarget is what the SYN-flood detector has counted for one target
// (a server address and port that received SYNs).
type FloodTarget struct {
	Target netip.AddrPort
	// Unanswered counts the SYNs that never completed the handshake (known
	// once the handshake timed out or was reset, or was evicted; a refused
	// SYN was answered).
	Unanswered uint64
	HalfOpen   int  // connections opened by a SYN and not completed yet
	Flooded    bool // a syn_flood finding was made for it
}

// FloodTargets appends every target the flood detector follows to buf, in
// order of first SYN, and returns it. Targets beyond the detector's cap
// are not followed.
func (t *Tracker) FloodTargets(buf []FloodTarget) []FloodTarget {
	for _, ft := range t.flood.order {
		buf = append(buf, FloodTarget{Target: ft.addrPort(), Unanswered: uint64(ft.failed), HalfOpen: ft.halfOpen,
			Flooded: ft.anomaly != 0})
	}
	return buf
}
