package synth

import (
	"fmt"
	"math/bits"
	"net/netip"
	"time"
)

// LoneKind is what a flood of lone segments sends: one segment to each of
// many 4-tuples, never answered, none of them part of a connection.
type LoneKind uint8

const (
	// LoneACK: bare ACKs from spoofed sources to the target.
	LoneACK LoneKind = iota
	// LoneRST: RSTs (no ACK bit) from spoofed sources to the target.
	LoneRST
	// LoneSYNACK: SYN-ACKs from many servers to random ports of the target,
	// as a SYN flood elsewhere that spoofs the target's address draws
	// (backscatter).
	LoneSYNACK
	// LoneFINACK: FIN-ACKs from spoofed sources to the target.
	LoneFINACK
	// LoneMixed: each segment's flags drawn from mixedFlags.
	LoneMixed
	// LoneSYN: SYNs from spoofed sources to the target (a SYN flood paced
	// like the others, for comparison).
	LoneSYN
	numLoneKinds
)

var loneKindNames = [numLoneKinds]string{"ack", "rst", "synack", "finack", "mixed", "syn"}

// String returns the kind's name as ParseLoneKind takes it.
func (k LoneKind) String() string {
	if k < numLoneKinds {
		return loneKindNames[k]
	}
	return fmt.Sprintf("LoneKind(%d)", k)
}

// ParseLoneKind parses "ack", "rst", "synack", "finack", "mixed" or "syn".
func ParseLoneKind(s string) (LoneKind, error) {
	for k, n := range loneKindNames {
		if n == s {
			return LoneKind(k), nil
		}
	}
	return 0, fmt.Errorf("synth: flood kind %q: want ack, rst, synack, finack, mixed or syn", s)
}

const fURG = 0x20

// mixedFlags are the flags of a mixed flood: every kind above, data
// without a connection, an RST with ACK, and two combinations no stack
// sends (Xmas and none).
var mixedFlags = [...]byte{fACK, fPSH | fACK, fRST, fRST | fACK, fFIN | fACK, fSYN | fACK, fFIN | fPSH | fURG, 0}

// loneGap is the time between packets of one connection in a lone flood:
// a 200 µs round trip.
const loneGap = int64(200 * time.Microsecond)

// runLone writes the flood and the connections: the connections start at
// evenly spaced times over the flood's expected span, each a burst of its
// packets loneGap apart, the flood's segments between and around them.
func (g *gen) runLone() error {
	span := int64(g.cfg.Lone) * int64(g.cfg.Interval)
	conns := make([]*conn, g.cfg.Conns)
	due := make([]int64, len(conns))
	for i := range conns {
		conns[i] = g.newConn()
		due[i] = g.now + span*int64(2*i+1)/int64(2*len(conns))
	}
	nextFlood := g.now + g.gap()
	for {
		j := -1
		for i, c := range conns {
			if c.phase != phDone && (j < 0 || due[i] < due[j]) {
				j = i
			}
		}
		floodLeft := g.flooded < g.cfg.Lone
		switch {
		case j < 0 && !floodLeft:
			return g.werr
		case j >= 0 && (!floodLeft || due[j] <= nextFlood):
			g.now = max(g.now, due[j])
			g.step(conns[j])
			due[j] = g.now + loneGap
		default:
			g.now = nextFlood
			g.lone()
			nextFlood = g.now + g.gap()
		}
		if g.werr != nil {
			return g.werr
		}
	}
}

// LoneSource returns the source address of the n-th (0-based) lone
// segment sent to target (its sender: a spoofed client, or for SYN-ACKs
// the server answering): the n-th address of 198.18.0.0/15 for an IPv4
// target, of fd00::/8 for an IPv6 one. With sources distinct addresses,
// the n-th segment comes from the (n mod sources)-th.
func LoneSource(target netip.AddrPort, n, sources int) netip.Addr {
	if sources > 0 {
		n %= sources
	}
	if target.Addr().Is6() {
		m := uint32(n + 1)
		return netip.AddrFrom16([16]byte{0: 0xfd, 12: byte(m >> 24), 13: byte(m >> 16), 14: byte(m >> 8), 15: byte(m)})
	}
	m := uint32(n%maxFloodSources + 1)
	return netip.AddrFrom4([4]byte{198, 18 + byte(m>>16), byte(m >> 8), byte(m)})
}

// lone writes the flood's next segment.
func (g *gen) lone() {
	n := g.flooded
	g.flooded++
	src := netip.AddrPortFrom(LoneSource(g.cfg.FloodTarget, n, g.cfg.LoneSources), g.ephemeralPort())
	dst := g.cfg.FloodTarget
	var flags byte
	switch g.cfg.LoneKind {
	case LoneACK:
		flags = fACK
	case LoneRST:
		flags = fRST
	case LoneSYNACK:
		flags = fSYN | fACK
	case LoneFINACK:
		flags = fFIN | fACK
	case LoneSYN:
		flags = fSYN
	default:
		flags = mixedFlags[g.rng.IntN(len(mixedFlags))]
	}
	if flags&(fSYN|fACK) == fSYN|fACK {
		// Backscatter: the server's answer to a SYN spoofed from a random
		// port of the target.
		src = netip.AddrPortFrom(src.Addr(), 80)
		dst = netip.AddrPortFrom(dst.Addr(), g.ephemeralPort())
	}
	var ack uint32
	if flags&fACK != 0 {
		ack = g.rng.Uint32()
	}
	seq := g.rng.Uint32()
	g.tcp(src, dst, seq, ack, flags, uint16(g.rng.IntN(65536)), flags&fSYN != 0, 0)
	if g.cfg.LoneRefused && flags&fRST == 0 {
		// RFC 793 p. 65: an RST at the segment's acknowledgment number, or,
		// without one, at 0 acknowledging the segment.
		g.now += int64(time.Microsecond)
		if flags&fACK != 0 {
			g.tcp(dst, src, ack, 0, fRST, 0, false, 0)
		} else {
			g.tcp(dst, src, 0, seq+uint32(bits.OnesCount8(flags&(fSYN|fFIN))), fRST|fACK, 0, false, 0)
		}
	}
}
