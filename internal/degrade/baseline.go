package degrade

import (
	"net/netip"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// baselineTimeWait is how long the baseline holds TIME_WAIT: 60 s of
// capture time, Linux's TCP_TIMEWAIT_LEN.
const baselineTimeWait = int64(60e9)

// Baseline is the comparison column: the textbook RFC 793 state machine
// (§3.2, Figure 6; §3.9, "SEGMENT ARRIVES") for each side of each 4-tuple,
// driven by the flags alone. It reads no sequence or acknowledgment
// numbers and keeps no timer but TIME_WAIT's. Every segment seen is taken
// as delivered at once:
//
//   - a side that sends a SYN goes to SYN_SENT, a SYN-ACK to SYN_RCVD, a FIN
//     to FIN_WAIT_1 (or LAST_ACK from CLOSE_WAIT), an RST to CLOSED;
//   - a side that receives an RST goes to CLOSED; a SYN-ACK in SYN_SENT
//     makes it ESTABLISHED, a SYN there SYN_RCVD (simultaneous open); any
//     ACK moves SYN_RCVD to ESTABLISHED, FIN_WAIT_1 to FIN_WAIT_2, CLOSING
//     to TIME_WAIT and LAST_ACK to CLOSED; then a FIN moves ESTABLISHED to
//     CLOSE_WAIT, FIN_WAIT_1 to CLOSING and FIN_WAIT_2 to TIME_WAIT;
//   - the client is the sender of the first SYN, or the receiver of a first
//     SYN-ACK (taken to be in SYN_SENT); a connection first seen with
//     neither starts with both sides ESTABLISHED, the higher port the
//     client;
//   - a SYN (without ACK) on a 4-tuple whose sides are both CLOSED or in
//     TIME_WAIT starts a new connection; on a live one it changes nothing;
//   - TIME_WAIT becomes CLOSED after 60 s of capture time.
//
// It is what a tracker knows that believes every ACK acknowledges
// everything: it cannot tell an ACK of data from an ACK of a FIN, nor a
// lost or retransmitted segment from a new one.
type Baseline struct {
	now   int64
	conns []*flagConn
	live  map[[2]netip.AddrPort]*flagConn // the latest connection of each 4-tuple
}

// flagConn is one connection of the baseline.
type flagConn struct {
	client, server netip.AddrPort
	state          [2]tracker.State
	twSince        [2]int64 // when each side entered TIME_WAIT
	first          int64
}

// NewBaseline returns an empty flags-only tracker.
func NewBaseline() *Baseline {
	return &Baseline{live: make(map[[2]netip.AddrPort]*flagConn)}
}

// Advance moves the clock to now; it never moves backwards.
func (b *Baseline) Advance(now int64) {
	if now > b.now {
		b.now = now
	}
}

// Finish ends every TIME_WAIT that lasted its 60 s by the end of input.
func (b *Baseline) Finish() {
	for _, c := range b.conns {
		c.expire(b.now)
	}
}

// Observe applies one segment.
func (b *Baseline) Observe(seg *tracker.Segment) {
	b.Advance(seg.Time)
	src, dst := seg.SrcAddrPort(), seg.DstAddrPort()
	k := pairOf(src, dst)
	c := b.live[k]
	if c != nil {
		c.expire(b.now)
	}
	pureSYN := seg.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN
	if c == nil || pureSYN && c.ended() {
		c = newFlagConn(seg, src, dst)
		b.conns = append(b.conns, c)
		b.live[k] = c
	}
	snd := tracker.Server
	if src == c.client {
		snd = tracker.Client
	}
	rcv := snd.Peer()
	c.set(snd, onSend(c.state[snd], seg.Flags), b.now, false)
	c.set(rcv, onReceive(c.state[rcv], seg.Flags), b.now, seg.Flags.Has(tracker.FIN))
}

// newFlagConn starts a connection with its first segment, before that
// segment is applied.
func newFlagConn(seg *tracker.Segment, src, dst netip.AddrPort) *flagConn {
	c := &flagConn{client: src, server: dst, first: seg.Time}
	switch {
	case seg.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN:
	case seg.Flags.Has(tracker.SYN | tracker.ACK):
		c.client, c.server = dst, src
		c.state[tracker.Client] = tracker.SynSent
	default:
		if src.Port() < dst.Port() {
			c.client, c.server = dst, src
		}
		c.state = [2]tracker.State{tracker.Established, tracker.Established}
	}
	return c
}

// set moves side s to st; a FIN received in TIME_WAIT (fin) restarts it.
func (c *flagConn) set(s tracker.Side, st tracker.State, now int64, fin bool) {
	if st == tracker.TimeWait && (c.state[s] != tracker.TimeWait || fin) {
		c.twSince[s] = now
	}
	c.state[s] = st
}

func (c *flagConn) expire(now int64) {
	for s, st := range c.state {
		if st == tracker.TimeWait && now-c.twSince[s] >= baselineTimeWait {
			c.state[s] = tracker.Closed
		}
	}
}

func (c *flagConn) ended() bool {
	for _, st := range c.state {
		if st != tracker.Closed && st != tracker.TimeWait {
			return false
		}
	}
	return true
}

// onSend is the sender's move: what its user's call (connect, accept,
// close, abort) that put these flags on the wire did to it.
func onSend(st tracker.State, f tracker.Flags) tracker.State {
	switch {
	case f.Has(tracker.RST):
		return tracker.Closed
	case f.Has(tracker.SYN | tracker.ACK):
		if st == tracker.Closed || st == tracker.Listen || st == tracker.SynSent {
			return tracker.SynRcvd
		}
	case f.Has(tracker.SYN):
		if st == tracker.Closed || st == tracker.Listen {
			return tracker.SynSent
		}
	case f.Has(tracker.FIN):
		switch st {
		case tracker.SynRcvd, tracker.Established:
			return tracker.FinWait1
		case tracker.CloseWait:
			return tracker.LastAck
		}
	}
	return st
}

// onReceive is the receiver's move on a segment arriving (RFC 793 §3.9)
// with its numbers taken as acceptable: the ACK first, then the FIN.
func onReceive(st tracker.State, f tracker.Flags) tracker.State {
	switch {
	case f.Has(tracker.RST):
		return tracker.Closed
	case st == tracker.SynSent && f.Has(tracker.SYN|tracker.ACK):
		return tracker.Established
	case st == tracker.SynSent && f.Has(tracker.SYN):
		return tracker.SynRcvd
	case f.Has(tracker.SYN):
		return st
	}
	if f.Has(tracker.ACK) {
		switch st {
		case tracker.SynRcvd:
			st = tracker.Established
		case tracker.FinWait1:
			st = tracker.FinWait2
		case tracker.Closing:
			st = tracker.TimeWait
		case tracker.LastAck:
			st = tracker.Closed
		}
	}
	if f.Has(tracker.FIN) {
		switch st {
		case tracker.Established:
			st = tracker.CloseWait
		case tracker.FinWait1:
			st = tracker.Closing
		case tracker.FinWait2, tracker.TimeWait:
			st = tracker.TimeWait
		}
	}
	return st
}

// Results returns the baseline's connections in order of first packet.
func (b *Baseline) Results() []Result {
	out := make([]Result, len(b.conns))
	for i, c := range b.conns {
		out[i] = Result{Client: c.client, Server: c.server, State: c.state, First: c.first}
	}
	return out
}

// FlagsOnly runs the flags-only baseline over packets and returns its
// connections.
func FlagsOnly(pkts []capture.Packet) []Result {
	b := NewBaseline()
	Run(b, pkts)
	return b.Results()
}
