package degrade

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// PCG streams, one per random degradation, so that loss and reordering with
// the same seed draw independent numbers.
const (
	streamLoss = 0x6c6f7373 // "loss"
	streamSwap = 0x73776170 // "swap"
)

// Loss drops each TCP packet (and each ICMP error about one)
// independently with probability rate, drawn from a PCG generator seeded
// with seed: the same seed drops the same packets. Other packets are kept
// (they move the capture's clock).
func Loss(pkts []capture.Packet, rate float64, seed uint64) []capture.Packet {
	rng := rand.New(rand.NewPCG(seed, streamLoss))
	out := make([]capture.Packet, 0, len(pkts))
	for _, p := range pkts {
		if ofTCP(&p) && rng.Float64() < rate {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Direction is one direction of a connection.
type Direction uint8

// Directions. Both is the zero value: nothing is dropped.
const (
	Both           Direction = iota
	ClientToServer           // c2s: what a capture sees of the client's segments
	ServerToClient           // s2c
)

// String returns the direction's flag value: "c2s", "s2c", or "" for Both.
func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "c2s"
	case ServerToClient:
		return "s2c"
	}
	return ""
}

// ParseDirection parses "c2s" or "s2c".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "c2s":
		return ClientToServer, nil
	case "s2c":
		return ServerToClient, nil
	}
	return Both, fmt.Errorf("direction %q: want c2s or s2c", s)
}

// Roles tells whether a segment was sent by its connection's client. known
// is false for a segment of a connection whose client is not known; such
// segments are kept by OneSide.
type Roles func(seg *tracker.Segment) (fromClient, known bool)

// RolesOf takes each connection's client from the kernel's rows.
func RolesOf(rows []Row) Roles {
	client := make(map[[2]netip.AddrPort]netip.AddrPort, len(rows))
	for _, r := range rows {
		client[pairOf(r.Client, r.Server)] = r.Client
	}
	return func(seg *tracker.Segment) (bool, bool) {
		src := seg.SrcAddrPort()
		c, ok := client[pairOf(src, seg.DstAddrPort())]
		return c == src, ok
	}
}

// ClientEndpoint takes the client to be the endpoint with address addr and,
// if port is not 0, that port. A segment neither from nor to it is unknown.
func ClientEndpoint(addr netip.Addr, port uint16) Roles {
	is := func(ap netip.AddrPort) bool {
		return ap.Addr() == addr && (port == 0 || ap.Port() == port)
	}
	return func(seg *tracker.Segment) (bool, bool) {
		if is(seg.SrcAddrPort()) {
			return true, true
		}
		return false, is(seg.DstAddrPort())
	}
}

// OneSide keeps only the TCP packets sent in one direction (and every
// packet whose direction roles cannot tell, and every non-TCP packet), as a
// capture point that sees one direction of the path would. An ICMP error
// travels back to the sender of the segment it quotes.
func OneSide(pkts []capture.Packet, dir Direction, roles Roles) []capture.Packet {
	out := make([]capture.Packet, 0, len(pkts))
	for _, p := range pkts {
		if ofTCP(&p) && dir != Both {
			fromClient, known := roles(&p.Seg)
			if p.Kind == capture.ICMPError {
				fromClient = !fromClient
			}
			if known && fromClient != (dir == ClientToServer) {
				continue
			}
		}
		out = append(out, p)
	}
	return out
}

// ofTCP reports whether p is a TCP segment or an ICMP error about one:
// a packet of a connection.
func ofTCP(p *capture.Packet) bool { return p.Kind == capture.TCP || p.Kind == capture.ICMPError }

// LateStart drops the first n TCP packets of each connection, as a capture
// started a moment late would miss them (for every connection, not only the
// first). A connection starts with the first packet of a 4-tuple, or with a
// SYN (without ACK) that carries a new ISN on a 4-tuple seen before — the
// rule the .states files use; a retransmitted SYN has the same ISN.
func LateStart(pkts []capture.Packet, n int) []capture.Packet {
	type conn struct {
		isn  uint32 // sequence number of its opening SYN
		syn  bool   // it opened with a SYN
		seen int    // TCP packets of it so far
	}
	conns := make(map[[2]netip.AddrPort]*conn)
	out := make([]capture.Packet, 0, len(pkts))
	for _, p := range pkts {
		if !ofTCP(&p) {
			out = append(out, p)
			continue
		}
		s := &p.Seg
		k := pairOf(s.SrcAddrPort(), s.DstAddrPort())
		pureSYN := p.Kind == capture.TCP && s.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN
		c := conns[k]
		if c == nil || pureSYN && (!c.syn || c.isn != uint32(s.Seq)) {
			c = &conn{isn: uint32(s.Seq), syn: pureSYN}
			conns[k] = c
		}
		c.seen++
		if c.seen > n {
			out = append(out, p)
		}
	}
	return out
}

// Swap exchanges adjacent TCP packets: each pair of consecutive TCP packets
// (non-TCP packets between them are left in place) is swapped with
// probability rate, pairs never overlapping, drawn from a PCG generator
// seeded with seed. The capture times stay where they were, in order: the
// later packet takes the earlier one's timestamp, as when the network
// delivered them to the capture point in the other order.
func Swap(pkts []capture.Packet, rate float64, seed uint64) []capture.Packet {
	rng := rand.New(rand.NewPCG(seed, streamSwap))
	out := append([]capture.Packet(nil), pkts...)
	prev := -1 // index of the previous TCP packet not yet part of a pair
	for i := range out {
		if out[i].Kind != capture.TCP {
			continue
		}
		if prev < 0 {
			prev = i
			continue
		}
		if rng.Float64() < rate {
			a, b := &out[prev], &out[i]
			ta, tb := a.Time, b.Time
			*a, *b = *b, *a
			a.Time, a.Seg.Time = ta, ta
			b.Time, b.Seg.Time = tb, tb
			prev = -1
			continue
		}
		prev = i
	}
	return out
}

// pairOf is a 4-tuple whatever its direction: its endpoints in order.
func pairOf(a, b netip.AddrPort) [2]netip.AddrPort {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return [2]netip.AddrPort{a, b}
}

// Plan is a combination of degradations, applied in this order: one
// direction, late start, loss, reordering. The zero Plan changes nothing.
type Plan struct {
	Only Direction // keep one direction (Both: keep all)
	Late int       // drop the first Late packets of each connection
	Loss float64   // drop this fraction of TCP packets at random
	Swap float64   // swap this fraction of adjacent TCP pairs at random
	Seed uint64    // seeds Loss and Swap
}

// Apply degrades a packet list; roles is needed only with Only set.
func (pl Plan) Apply(pkts []capture.Packet, roles Roles) []capture.Packet {
	if pl.Only != Both {
		pkts = OneSide(pkts, pl.Only, roles)
	}
	if pl.Late > 0 {
		pkts = LateStart(pkts, pl.Late)
	}
	if pl.Loss > 0 {
		pkts = Loss(pkts, pl.Loss, pl.Seed)
	}
	if pl.Swap > 0 {
		pkts = Swap(pkts, pl.Swap, pl.Seed)
	}
	return pkts
}

// Flags returns the degrade command's flags that write the same degraded
// capture, e.g. "-loss 0.05 -seed 3".
func (pl Plan) Flags() string {
	var f []string
	if pl.Only != Both {
		f = append(f, "-only "+pl.Only.String())
	}
	if pl.Late > 0 {
		f = append(f, "-late "+strconv.Itoa(pl.Late))
	}
	if pl.Loss > 0 {
		f = append(f, "-loss "+strconv.FormatFloat(pl.Loss, 'g', -1, 64))
	}
	if pl.Swap > 0 {
		f = append(f, "-swap "+strconv.FormatFloat(pl.Swap, 'g', -1, 64))
	}
	if pl.Loss > 0 || pl.Swap > 0 {
		f = append(f, "-seed "+strconv.FormatUint(pl.Seed, 10))
	}
	return strings.Join(f, " ")
}
