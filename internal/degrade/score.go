package degrade

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// Result is one connection as a tracker reported it at the end of a
// capture: its endpoints as the tracker labelled them, each side's final
// state, and the time of its first packet.
type Result struct {
	Client, Server netip.AddrPort
	State          [2]tracker.State // indexed by tracker.Client and tracker.Server
	First          int64
}

// stateOf returns the final state of endpoint ep, whichever label the
// tracker gave it, and whether ep is one of the connection's endpoints.
func (r *Result) stateOf(ep netip.AddrPort) (tracker.State, bool) {
	switch ep {
	case r.Client:
		return r.State[tracker.Client], true
	case r.Server:
		return r.State[tracker.Server], true
	}
	return tracker.Closed, false
}

// cliConfig is the tracker configuration tcpwatch -r uses with default
// flags (cmd/tcpwatch: trackerConfig).
func cliConfig() tracker.Config {
	return tracker.Config{
		MSL:        tracker.DefaultMSL,
		MaxConns:   tracker.DefaultMaxConns,
		MaxKept:    tracker.DefaultMaxKept,
		Thresholds: tracker.Thresholds{Stuck: 60 * time.Second},
	}
}

// Feeder is what Run drives: tcpwatch's tracker or the flags-only Baseline.
type Feeder interface {
	Observe(seg *tracker.Segment)
	Advance(now int64)
	Finish()
}

// ICMPFeeder is a Feeder that reads ICMP errors too (tcpwatch's tracker).
type ICMPFeeder interface {
	ObserveICMP(seg *tracker.Segment)
}

// Run feeds packets to f in order as the command does: each TCP segment to
// Observe, each ICMP error about one to ObserveICMP (if f has it), the time
// of every other packet to Advance, then Finish. Packets are numbered anew
// from 1, as in a degraded file read back.
func Run(f Feeder, pkts []capture.Packet) {
	icmp, _ := f.(ICMPFeeder)
	for i := range pkts {
		p := &pkts[i]
		seg := p.Seg
		seg.Packet = uint64(i + 1)
		switch {
		case p.Kind == capture.TCP:
			f.Observe(&seg)
		case p.Kind == capture.ICMPError && icmp != nil:
			icmp.ObserveICMP(&seg)
		default:
			f.Advance(p.Time)
		}
	}
	f.Finish()
}

// Tcpwatch runs tcpwatch's tracker over packets with the command's default
// configuration and returns its connections.
func Tcpwatch(pkts []capture.Packet) []Result {
	tr := tracker.New(cliConfig())
	Run(tr, pkts)
	conns := tr.Conns()
	out := make([]Result, len(conns))
	for i, c := range conns {
		out[i] = Result{
			Client: c.Client(), Server: c.Server(),
			State: [2]tracker.State{c.State(tracker.Client), c.State(tracker.Server)},
			First: c.First,
		}
	}
	return out
}

// Verdict is what a tracker said about one kernel row.
type Verdict struct {
	Said  [2]tracker.State // for the row's client and server, matched by address
	Found bool             // a connection was matched to the row
	Right int              // sides (0, 1 or 2) whose state equals the kernel's
}

// Match pairs each kernel row with a tracker's connection and scores it.
// Rows and connections are matched by their unordered 4-tuple; several
// rows of one 4-tuple (port reuse) take that 4-tuple's connections in order
// of first packet. A row left without a connection is scored as if the
// tracker said CLOSED for both sides. States are read by address, so a
// connection whose client and server the tracker swapped is scored by
// what it said of each endpoint.
func Match(rows []Row, got []Result) []Verdict {
	byPair := make(map[[2]netip.AddrPort][]*Result)
	for i := range got {
		r := &got[i]
		k := pairOf(r.Client, r.Server)
		byPair[k] = append(byPair[k], r)
	}
	for _, rs := range byPair {
		slices.SortStableFunc(rs, func(a, b *Result) int { return cmp.Compare(a.First, b.First) })
	}
	out := make([]Verdict, len(rows))
	for i, row := range rows {
		v := &out[i]
		k := pairOf(row.Client, row.Server)
		if rs := byPair[k]; len(rs) > 0 {
			r := rs[0]
			byPair[k] = rs[1:]
			v.Found = true
			v.Said[tracker.Client], _ = r.stateOf(row.Client)
			v.Said[tracker.Server], _ = r.stateOf(row.Server)
		}
		for s := range v.Said {
			if v.Said[s] == row.State[s] {
				v.Right++
			}
		}
	}
	return out
}

// Score counts sides: how many a tracker got right, of how many.
type Score struct{ Right, Total int }

// Add adds another score to s.
func (s *Score) Add(o Score) { s.Right += o.Right; s.Total += o.Total }

// Fraction is Right/Total, or 1 when there is nothing to score.
func (s Score) Fraction() float64 {
	if s.Total == 0 {
		return 1
	}
	return float64(s.Right) / float64(s.Total)
}

// ScoreOf sums verdicts.
func ScoreOf(vs []Verdict) Score {
	s := Score{Total: 2 * len(vs)}
	for _, v := range vs {
		s.Right += v.Right
	}
	return s
}
