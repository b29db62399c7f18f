package tracker

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// cause is a set of facts that one segment established about one side. It
// is the evidence recorded with a transition.
type cause uint32

const (
	cSynSent        cause = 1 << iota // it sent its SYN
	cSynAckSent                       // it answered a SYN with a SYN-ACK
	cPeerSyn                          // it received the peer's SYN
	cSynAcked                         // its SYN was acknowledged
	cFinSent                          // it sent its FIN
	cPeerFin                          // it received the peer's FIN
	cFinAcked                         // its FIN was acknowledged
	cRstSent                          // it sent an RST
	cRstRcvd                          // it accepted an RST
	cSynAckLost                       // it retransmitted an acknowledged SYN-ACK
	cFinAckLost                       // it retransmitted an acknowledged FIN
	cPeerSynLost                      // it retransmitted its SYN after a SYN-ACK
	cPeerFinLost                      // its ACK, sent long after the peer's FIN, does not cover it
	cRstLost                          // it retransmitted its SYN after an RST that would have closed it
	cAckHealed                        // its retransmissions stopped after the peer's repeated ACK
	cSynAckInferred                   // it acknowledged the peer's SYN-ACK, which the capture missed
	cGaveUp                           // it stopped retransmitting after the kernel's retry limit
	cRevived                          // it sent new data after an RST at its snd.nxt
	cMidstream                        // picked up mid-stream
	cExpired                          // 2×MSL ran out in TIME_WAIT
	cReused                           // the 4-tuple was reused
	numCauses
)

// phrases in the order they are joined; a few common combinations have
// their own, clearer wording (see whyOf).
var causePhrases = [...]string{
	"sent SYN",
	"sent SYN-ACK",
	"received the peer's SYN",
	"its SYN was acknowledged (ACK = ISN+1)",
	"sent FIN",
	"received the peer's FIN",
	"its FIN was acknowledged (ACK ≥ FIN+1)",
	"sent RST",
	"accepted the peer's RST (sequence number in window)",
	"retransmitted its SYN-ACK: the ACK seen earlier never arrived",
	"retransmitted its FIN: the ACK seen earlier never arrived",
	"retransmitted its SYN: the SYN-ACK seen earlier never arrived",
	"its ACK, sent well after the peer's FIN, does not cover it: the FIN never arrived",
	"retransmitted its SYN (same ISN) after the RST: the RST was lost, or its stack retries a refused connect as Windows does",
	"its retransmissions stopped after the peer's repeated ACK: that ACK arrived (the path healed)",
	"acknowledged the peer's SYN-ACK, which the capture missed",
	"gave up: no retransmission after the kernel's retry limit (tcp_synack_retries, tcp_orphan_retries)",
	"sent new data after an RST at its snd.nxt: that RST was not its own",
	"first seen mid-stream; handshake assumed",
	"TIME_WAIT ended after 2×MSL",
	"4-tuple reused by a new connection",
}

var combinedPhrases = map[cause]string{
	cPeerSyn | cSynAcked:              "SYN-ACK acknowledged ISN+1",
	cSynAckSent | cPeerSyn:            "answered the peer's SYN with a SYN-ACK",
	cPeerFin | cFinAcked:              "received FIN acknowledging its own FIN",
	cRstRcvd | cSynAcked:              "RST acknowledging its SYN: connection refused",
	cPeerSyn | cSynAcked | cPeerFin:   "SYN-ACK acknowledged ISN+1; received the peer's FIN",
	cSynAcked | cPeerFin:              "ACK of its SYN with the peer's FIN",
	cSynAckSent | cPeerSyn | cFinSent: "answered the peer's SYN with a SYN-ACK; sent FIN",
}

// whyOf renders a set of causes as the sentence recorded with a transition.
func whyOf(c cause) string {
	if s, ok := combinedPhrases[c]; ok {
		return s
	}
	if s, ok := whyCache.Load(c); ok {
		return s.(string)
	}
	var parts []string
	for i := 0; cause(1)<<i < numCauses; i++ {
		if c&(1<<i) != 0 {
			parts = append(parts, causePhrases[i])
		}
	}
	s := strings.Join(parts, "; ")
	whyCache.Store(c, s)
	return s
}

var whyCache sync.Map // cause → string, for combinations without a phrase of their own

// derive computes the RFC 793 state that follows from an endpoint's facts.
//
// Handshake (RFC 793 §3.4): an endpoint that sent nothing is CLOSED; one
// that sent its SYN but has not received the peer's is in SYN_SENT; one that
// has both SYNs but whose own SYN is unacknowledged is in SYN_RCVD.
//
// Close (RFC 793 §3.5): with both SYNs acknowledged the state follows from
// whether it sent its FIN, whether that FIN was acknowledged, whether it
// received the peer's FIN, and whether its FIN came first (active close,
// leading to TIME_WAIT) or answered the peer's (passive close, leading to
// CLOSED via LAST_ACK).
func (h *Half) derive() State {
	switch {
	case h.reset, h.gaveUp, !h.synSent:
		return Closed
	case !h.peerSyn:
		return SynSent
	case !h.synAcked:
		if h.finSent {
			return FinWait1 // close() in SYN_RCVD sends a FIN (RFC 793 p. 60)
		}
		return SynRcvd
	}
	switch {
	case !h.finSent && !h.peerFin:
		return Established
	case !h.finSent:
		return CloseWait
	case !h.peerFin && h.finAcked:
		return FinWait2
	case !h.peerFin:
		return FinWait1
	case !h.finAcked && h.finFirst:
		return Closing
	case !h.finAcked:
		return LastAck
	case !h.finFirst, h.twExpired:
		return Closed
	}
	return TimeWait
}

// synchronize marks an endpoint picked up mid-stream as past its handshake.
func (h *Half) synchronize() {
	h.synSent, h.peerSyn, h.synAcked = true, true, true
}

// dupWindow: an identical segment from the same side this soon after the
// first, with nothing from the peer between, is a capture duplicate. Linux
// retransmits on a timer no sooner than TCP_TIMEOUT_MIN (2 jiffies) and
// fast-retransmits only after the peer's duplicate ACKs.
const dupWindow = int64(time.Millisecond)

// segSig identifies a segment's content for duplicate detection.
type segSig struct {
	seq, ack seqnum.Value
	flags    Flags
	payload  uint32
	window   uint16
}

// finGrace is added to twice the round trip before a segment that does not
// acknowledge the peer's FIN counts as proof that the FIN was lost: room for
// scheduling delays and delayed processing at the endpoint.
const finGrace = int64(10 * time.Millisecond)

// covers reports whether an acknowledgment number acknowledges the sequence
// position at (ACK ≥ at+1).
func covers(ack, at seqnum.Value) bool { return at.LessThan(ack) }

// una returns the oldest sequence number of h's that h's peer has not
// acknowledged, as far as the observer knows.
func una(h, peer *Half) seqnum.Value {
	if peer.ackValid {
		return peer.ack
	}
	return h.nxt
}

// update applies one segment, sent by side s, to the connection: first what
// the sender's own segment says about it, then what the receiver learns by
// receiving it (segments seen are taken as delivered until later evidence
// says otherwise). The rules are written once for both directions.
func (t *Tracker) update(c *Conn, seg *Segment, s Side) {
	S, R := &c.Half[s], &c.Half[s.Peer()]
	var cs, cr cause
	f := seg.Flags

	if f&(SYN|ACK|RST|FIN) == SYN && S.synSent && seg.Seq != S.isn {
		// A SYN with another ISN on a live connection: a new connection if
		// the peer answers it with a SYN-ACK, or once this one ends (see
		// Observe); a live peer answers with a challenge ACK (RFC 5961 §4).
		// It is held aside, not applied to this connection.
		c.BadSeq++
		if p, ok := t.pendingSyn[c.ID]; ok && p.first.Seq == seg.Seq && p.first.Src == seg.Src {
			p.last, p.n = *seg, p.n+1
			t.pendingSyn[c.ID] = p
		} else {
			if ok {
				t.unpend(c, p)
			}
			t.pendingSyn[c.ID] = pendingSYN{first: *seg, last: *seg, n: 1,
				tw: timeWaitSides(c)}
		}
		return
	}

	c.zeek.Observe(seg, s == Client)
	prevSent := S.LastSent
	S.Packets++
	S.Bytes += uint64(seg.Payload)
	c.Last = seg.Time
	sig := segSig{seq: seg.Seq, ack: seg.Ack, flags: f, payload: seg.Payload, window: seg.Window}
	if S.Packets > 1 && sig == S.lastSig && seg.Time-prevSent < dupWindow && R.LastSent < prevSent {
		// The same segment again within a millisecond, with nothing from
		// the peer between: the capture duplicated it (a SPAN port seeing
		// both directions of a VLAN, or several interfaces). No TCP timer
		// retransmits that fast, so it is no evidence of anything.
		c.Duplicates++
		S.LastSent = seg.Time
		return
	}
	S.lastSig = sig
	S.LastSent = seg.Time
	if S.synSent && !S.peerSyn && !S.sentSynAck && f&(SYN|RST|ACK) == ACK && !R.synSent {
		// A side in SYN_SENT sends nothing but SYNs and RSTs: an ACK from it
		// means it received a SYN-ACK the capture missed, acknowledging its
		// SYN. That SYN-ACK is inferred: the peer's ISN is this ACK − 1.
		R.synSent, R.isn, R.sentSynAck, R.peerSyn = true, seg.Ack-1, true, true
		R.nxt, R.nxtValid = seg.Ack, true
		S.peerSyn, S.synAcked = true, true
		cs |= cSynAckInferred
		cr |= cSynAckSent
	}
	if R.synSent && !R.peerSyn && !R.sentSynAck && f&(SYN|RST|ACK) == ACK && seg.Ack != R.isn.Add(1) &&
		!(R.synSeen && R.nxtValid && seg.Ack == R.nxt) {
		// An ACK that does not acknowledge the SYN of a side in SYN_SENT
		// (a TIME_WAIT socket's or a stale peer's): unacceptable, answered
		// by an RST and otherwise ignored (RFC 793 p. 66).
		c.BadSeq++
		return
	}
	R.silentRtx = 0 // R's retransmissions, if any, were answered
	t.window(c, s, seg)
	if !R.nxtValid && f&ACK != 0 && f&RST == 0 {
		R.nxt, R.nxtValid = seg.Ack, true // the peer has sent at least this far
	}

	switch {
	case f&(SYN|FIN) == SYN|FIN, f&(SYN|RST) == SYN|RST,
		f&(SYN|RST|ACK) == 0:
		// Impossible combinations, or neither SYN, RST nor ACK: Linux drops
		// them without a state change (tcp_rcv_state_process); so do we.
		c.Invalid++
		if !c.hasFinding(InvalidFlags, s) {
			t.emit(c, Anomaly{Kind: InvalidFlags, Side: s, HasSide: true, Time: seg.Time,
				Detail: endpoint(c, s) + " sent a segment with " + flagProblem(f)})
		}
	case f&RST != 0:
		if lostData(S, R) && S.finSent && R.peerFin && !covers(R.ack, S.finSeq) {
			R.peerFin, cr = false, cr|cPeerFinLost // the FIN lies beyond data that never arrived
		}
		switch ok, inWindow := t.rstAcceptable(c, S, R, seg); {
		case ok:
			t.onRST(c, s, seg, prevSent, &cs, &cr)
		case inWindow:
			c.ChallengedRST++ // RFC 5961 §3.2: answered by a challenge ACK
			if seg.Seq == S.nxt && !S.reset && S.State.Synchronized() {
				// An RST at its own snd.nxt is an abort (tcp_send_active_reset):
				// its side is gone, though the peer, missing data, does not
				// take it. (A forged RST rarely hits snd.nxt exactly.)
				S.reset, cs = true, cs|cRstSent
			}
		default:
			c.BadRST++
			if !c.hasFinding(BadSequence, s) {
				t.emit(c, Anomaly{Kind: BadSequence, Side: s, HasSide: true, Time: seg.Time,
					Detail: fmt.Sprintf("%s sent an RST with sequence number %d, outside the %s's window", endpoint(c, s), seg.Seq, s.Peer())})
			}
		}
	case S.nxtValid && S.State.Synchronized() && f&(SYN|FIN) == 0 && seg.Payload <= 1 &&
		seg.Seq == una(S, R)-1 && una(S, R) == S.nxt:
		// A keepalive (RFC 1122 §4.2.3.6) or zero-window probe: one byte of
		// already-acknowledged sequence space, or none. Linux sends both as
		// snd.una−1 with no data; they never move a state.
		if R.window == 0 {
			c.ZeroWindowProbes++
		} else {
			c.Keepalives++
		}
	default:
		if f&SYN != 0 {
			if f&ACK == 0 {
				cs, cr = t.onSYN(c, S, R, seg, cs, cr)
			} else {
				cs, cr = t.onSYNACK(c, S, R, seg, cs, cr)
			}
		}
		if f&ACK != 0 {
			cs, cr = t.onACK(c, S, R, seg, cs, cr)
		}
		if f&FIN != 0 {
			cs, cr = t.onFIN(c, s, S, R, seg, cs, cr)
		}
		if seg.Payload > 0 {
			S.lastData = seg.Time
			if S.reset && S.nxtValid && S.nxt.LessThan(seg.End()) && !R.reset {
				S.reset, cs = false, cs|cRevived
			}
		}
		if end := seg.End(); !S.sentValid || S.sent.LessThan(end) {
			S.sent, S.sentValid = end, true
		}
		if end := seg.End(); !S.nxtValid || S.nxt.LessThan(end) {
			S.nxt, S.nxtValid = end, true
		} else if seg.Payload > 0 || f&FIN != 0 {
			if f&FIN == 0 {
				S.Retransmits++
			}
			if S.silentRtx == 0 {
				S.silentSince = seg.Time
			} else {
				S.silentGap = seg.Time - prevSent
			}
			S.silentRtx++
		}
	}
	t.settle(c, s, seg.Time, seg.Packet, cs)
	t.settle(c, s.Peer(), seg.Time, seg.Packet, cr)
	if c.flood != nil && c.Half[Server].synAcked {
		t.flood.completed(c)
	}
}

// onRST applies an RST that the receiver accepts: both ends are closed.
func (t *Tracker) onRST(c *Conn, s Side, seg *Segment, prevSent int64, cs, cr *cause) {
	S, R := &c.Half[s], &c.Half[s.Peer()]
	if S.synSent && !S.peerSyn && !S.sentSynAck && seg.Seq != S.isn.Add(1) {
		// From SYN_SENT, an RST at another sequence number answers an
		// unacceptable segment (RFC 793 p. 66: <SEQ=SEG.ACK><CTL=RST>);
		// the sender stays in SYN_SENT.
		return
	}
	wasOpen := R.State.Synchronized() && R.State != TimeWait
	if !S.reset {
		S.reset, *cs = true, *cs|cRstSent
	}
	if R.reset || !R.synSent {
		return
	}
	R.reset, *cr = true, *cr|cRstRcvd
	switch {
	case !R.peerSyn: // SYN_SENT: refused
		*cr |= cSynAcked // the RST acknowledged its SYN
		if !S.sentSynAck {
			c.refusedAt = seg.Time
		}
	case !wasOpen, S.State == TimeWait:
	case seg.Flags&ACK == 0 && R.lastData > prevSent && S.finSent:
		// Linux answers data that arrives after the application closed
		// its socket with a bare RST (tcp_rcv_state_process, RCV_SHUTDOWN).
		t.emit(c, Anomaly{Kind: Reset, Side: s, HasSide: true, Time: seg.Time,
			Detail: fmt.Sprintf("%s reset the connection: the %s's data arrived after it had closed", endpoint(c, s), s.Peer())})
	case seg.Flags&ACK == 0 && R.lastData > prevSent:
		// An RST without ACK straight after the peer's data, from a side
		// that never closed, is what a host sends for a segment of a
		// connection it does not know (tcp_v4_send_reset): it lost the
		// connection, e.g. restarted.
		t.emit(c, Anomaly{Kind: HalfOpen, Side: s, HasSide: true, Time: seg.Time,
			Detail: fmt.Sprintf("%s answered the %s's data with RST: it no longer knows the connection (restarted or lost its state)",
				endpoint(c, s), s.Peer())})
	default:
		t.emit(c, Anomaly{Kind: Reset, Side: s, HasSide: true, Time: seg.Time,
			Detail: fmt.Sprintf("%s aborted the connection with RST after %s", endpoint(c, s), secs(seg.Time-c.First))})
	}
	if c.flood != nil {
		t.floodFailed(c, c.First)
	}
}

// window follows the receive window a side advertises, for zero_window.
func (t *Tracker) window(c *Conn, s Side, seg *Segment) {
	h := &c.Half[s]
	if seg.Flags&SYN != 0 && h.window != 0 {
		return // a SYN's window is never scaled (RFC 7323 §2.2): keep the last real one
	}
	h.window = seg.Window
	if seg.Flags&(SYN|RST) != 0 {
		return
	}
	switch {
	case seg.Window == 0 && h.zeroSince == 0:
		h.zeroSince, h.zeroEnd = seg.Time, 0
	case seg.Window != 0 && h.zeroSince != 0:
		if seg.Time-h.zeroSince > int64(t.th.Stuck) {
			h.zeroEnd = seg.Time
			t.check(c, seg.Time, beforeSegment(c))
		}
		h.zeroSince, h.zeroEnd = 0, 0
	}
}

// flagProblem names what is wrong with a segment's flags.
func flagProblem(f Flags) string {
	switch {
	case f&(SYN|FIN) == SYN|FIN:
		return "SYN and FIN both set"
	case f&(SYN|RST) == SYN|RST:
		return "SYN and RST both set"
	case f&(FIN|PSH|URG) != 0:
		return "no ACK (flags " + f.String() + ")"
	}
	return "no flags set"
}

// onSYN handles a SYN without ACK sent by S: an active open, or its
// retransmission.
func (t *Tracker) onSYN(c *Conn, S, R *Half, seg *Segment, cs, cr cause) (cause, cause) {
	switch {
	case !S.synSent:
		S.synSent, S.isn, S.wscale, S.synSeen = true, seg.Seq, seg.WScale, true
		S.synTime = seg.Time
		cs |= cSynSent
		if S.peerSyn { // the peer's SYN is on its way in: simultaneous open
			cs |= cPeerSyn
		}
	case seg.Seq == S.isn:
		S.Retransmits++
		S.synRtx++
		if S.reset && !S.peerSyn {
			S.reset, cs = false, cs|cRstLost // the RST that refused it never arrived
		}
		// It retransmits its SYN after we saw the peer's SYN-ACK and before it
		// acknowledged it: the SYN-ACK never reached it.
		if S.peerSyn && !(S.ackValid && R.synSent && covers(S.ack, R.isn)) {
			S.peerSyn, cs = false, cs|cPeerSynLost
		}
		return cs, cr
	default: // another ISN: held aside before update gets here
		return cs, cr
	}
	if !R.Sent() && !c.Midstream && S == &c.Half[Client] {
		t.flood.opened(c)
	}
	if R.synSent && !R.peerSyn {
		R.peerSyn, cr = true, cr|cPeerSyn // simultaneous open: SYN_SENT → SYN_RCVD
	} else if !R.synSent {
		R.peerSyn = true
	}
	return cs, cr
}

// onSYNACK handles a SYN-ACK sent by S: the answer to R's SYN, its
// retransmission, or the second half of a simultaneous open.
func (t *Tracker) onSYNACK(c *Conn, S, R *Half, seg *Segment, cs, cr cause) (cause, cause) {
	// It must acknowledge ISN+1 (RFC 793 p. 66), or, when it accepts the
	// data of a Fast Open SYN, the end of that data (RFC 7413 §4.2).
	if R.synSent && seg.Ack != R.isn.Add(1) && !(R.synSeen && R.nxtValid && seg.Ack == R.nxt) {
		c.BadSeq++ // the receiver ignores it
		if !c.hasFinding(BadSequence, c.sideOfHalf(S)) {
			t.emit(c, Anomaly{Kind: BadSequence, Side: c.sideOfHalf(S), HasSide: true, Time: seg.Time,
				Detail: fmt.Sprintf("%s's SYN-ACK acknowledges %d, not the %s's ISN+1 (%d)",
					endpoint(c, c.sideOfHalf(S)), seg.Ack, c.sideOfHalf(R), R.isn.Add(1))})
		}
		return cs, cr
	}
	if !R.synSent { // its SYN was not seen: picked up at the SYN-ACK
		R.synSent, R.isn, R.wscale = true, seg.Ack-1, -1
	}
	switch {
	case !S.synSent:
		S.synSent, S.isn, S.wscale, S.synSeen = true, seg.Seq, seg.WScale, true
		S.sentSynAck = true
		S.synTime = seg.Time
		if R.synTime != 0 {
			S.rtt = max(seg.Time-R.LastSent, 1) // SYN in, SYN-ACK out: the round trip to S
		}
		cs |= cSynAckSent
	case seg.Seq != S.isn:
		c.BadSeq++
		if !c.hasFinding(BadSequence, c.sideOfHalf(S)) {
			t.emit(c, Anomaly{Kind: BadSequence, Side: c.sideOfHalf(S), HasSide: true, Time: seg.Time,
				Detail: fmt.Sprintf("%s sent a second SYN-ACK with another ISN (%d, first %d)", endpoint(c, c.sideOfHalf(S)), seg.Seq, S.isn)})
		}
		return cs, cr
	case S.sentSynAck:
		S.Retransmits++
		S.synRtx++
		S.retransmitted(seg.Time)
		if S.synAcked { // retransmitted after its ACK: that ACK never arrived
			S.synAcked = false
			S.lostAcks++
			S.lostAck = R.ack
			cs |= cSynAckLost
		}
	default: // simultaneous open: SYN_RCVD sends SYN-ACK
		S.sentSynAck = true
		S.wscale = seg.WScale
	}
	if !S.peerSyn {
		S.peerSyn, cs = true, cs|cPeerSyn
	}
	if !R.peerSyn {
		R.peerSyn, cr = true, cr|cPeerSyn
	}
	return cs, cr
}

// onACK handles the acknowledgment field of a segment sent by S: what it
// says S received, and what R learns when it arrives.
func (t *Tracker) onACK(c *Conn, S, R *Half, seg *Segment, cs, cr cause) (cause, cause) {
	ack := seg.Ack
	if R.nxtValid && R.nxt.LessThan(ack) && seg.Flags&SYN == 0 {
		// It acknowledges more than the peer was seen to send: data the
		// capture missed, a segment reordered before the capture point, or
		// data never sent. It is believed; whether the peer ever sent it is
		// judged at the end (detectSeq).
		R.nxt = ack
	}
	if R.sentValid && R.sent.Add(1).LessThan(ack) && S.overAck == 0 {
		S.overAck = seg.Time
	}
	if !S.ackValid || S.ack.LessThan(ack) {
		S.ack, S.ackValid = ack, true
		if S.lostAcks > 0 {
			// It hears the peer again: the peer's latest acknowledgment
			// reached it with this data.
			S.lostAcks = 0
			cs |= S.reclaimAcks(R)
		}
	}
	// After R proved twice that this very acknowledgment did not reach it,
	// nothing carrying it is believed to arrive (the path to R is a black
	// hole) until R shows it hears from S again (above).
	pureRepeat := seg.Flags&SYN == 0 && R.lostAcks >= 2 && ack == R.lostAck
	if R.synSent && covers(ack, R.isn) {
		if S.rtt == 0 && R.synTime != 0 && seg.Flags&SYN == 0 {
			S.rtt = max(seg.Time-R.synTime, 1) // SYN-ACK out, ACK back: the round trip to S
		}
		if !S.peerSyn {
			S.peerSyn, cs = true, cs|cPeerSyn
		}
		cr |= R.receiveAck(&R.synAcked, cSynAcked, pureRepeat, seg)
	}
	if R.finSent && !covers(ack, R.finSeq) && S.peerFin && S.rtt > 0 && seg.Time-R.finLast > 2*S.rtt+finGrace &&
		seg.Flags&SYN == 0 && !(S.ackValid && covers(S.ack, R.finSeq)) {
		// Linux acknowledges a FIN at once, and every later segment carries
		// that acknowledgment. This one was sent well over a round trip
		// after the peer's last FIN passed, yet does not cover it: the FIN
		// never arrived. It is believed received again only when
		// acknowledged.
		S.peerFin, cs = false, cs|cPeerFinLost
	}
	if R.finSent && covers(ack, R.finSeq) {
		if !S.peerFin {
			S.peerFin, cs = true, cs|cPeerFin
		}
		cr |= R.receiveAck(&R.finAcked, cFinAcked, pureRepeat, seg)
	}
	return cs, cr
}

// receiveAck sets one of h's "acknowledged" facts when an ACK covering it
// arrives — unless it is a repeat of an ACK h proved lost, which is held
// back for heal instead.
func (h *Half) receiveAck(fact *bool, why cause, lost bool, seg *Segment) cause {
	switch {
	case *fact:
		return 0
	case lost:
		h.heldAck, h.heldAckPkt = seg.Time, seg.Packet
		return 0
	}
	*fact = true
	return why
}

// reclaimAcks restores h's "acknowledged" facts that the peer's latest
// acknowledgment covers: h shows it hears the peer again, or its path
// healed.
func (h *Half) reclaimAcks(peer *Half) (c cause) {
	if h.sentSynAck && !h.synAcked && peer.ackValid && covers(peer.ack, h.isn) {
		h.synAcked, c = true, c|cSynAcked
	}
	if h.finSent && !h.finAcked && peer.ackValid && covers(peer.ack, h.finSeq) {
		h.finAcked, c = true, c|cFinAcked
	}
	return c
}

// onFIN handles a FIN sent by S.
func (t *Tracker) onFIN(c *Conn, s Side, S, R *Half, seg *Segment, cs, cr cause) (cause, cause) {
	fin := seg.Seq.Add(seqnum.Size(seg.Payload))
	if seg.Flags&SYN != 0 {
		fin++
	}
	switch {
	case !S.finSent:
		S.finSent, S.finSeq, S.finTime, S.finLast = true, fin, seg.Time, seg.Time
		S.finAck = seg.Ack
		// Its FIN came first unless it acknowledges the peer's FIN.
		S.finFirst = !(R.finSent && covers(seg.Ack, R.finSeq))
		cs |= cFinSent
		if R.ackValid && R.ack == fin.Add(1) {
			// The peer acknowledged this FIN before it passed the capture
			// point (reordered on the way): it was received, and a FIN the
			// peer sent with that acknowledgment answered it.
			S.finAcked, cs = true, cs|cFinAcked
			if R.finSent && R.finFirst && covers(R.finAck, fin) {
				R.finFirst = false
			}
		}
	case fin == S.finSeq:
		S.finRtx++
		S.finLast = seg.Time // (a retransmission is not assumed delivered: see onACK)
		S.retransmitted(seg.Time)
		if S.finAcked { // retransmitted after its ACK: that ACK never arrived
			S.finAcked = false
			S.lostAcks++
			S.lostAck = R.ack
			cs |= cFinAckLost
		}
		if R.State == TimeWait { // a retransmitted FIN restarts TIME_WAIT (RFC 793 p. 73)
			R.twSince = seg.Time
			t.timeWaits.push(timer{key: c.Key, id: c.ID, side: s.Peer(), due: seg.Time + t.twLen})
		}
		return cs, cr
	default:
		c.BadSeq++ // a FIN at another sequence number than its first
		return cs, cr
	}
	if !R.peerFin {
		R.peerFin, cr = true, cr|cPeerFin
	}
	return cs, cr
}

// rstAcceptable applies RFC 793 p. 37 and RFC 5961 §3.2 as Linux does
// (tcp_validate_incoming, tcp_reset_check): in SYN_SENT an RST counts only if
// it acknowledges the SYN; otherwise its sequence number must be exactly the
// next one expected, or the one before it once the peer's FIN was received.
// An RST elsewhere in the window (inWindow) only draws a challenge ACK.
func (t *Tracker) rstAcceptable(c *Conn, S, R *Half, seg *Segment) (ok, inWindow bool) {
	if R.synSent && !R.peerSyn { // R in SYN_SENT
		return seg.Flags&ACK != 0 && seg.Ack == R.isn.Add(1), false
	}
	if !S.nxtValid || !R.synSent {
		return true, false // nothing known to check against
	}
	// R's rcv.nxt: what it last acknowledged, or — segments seen are taken
	// as delivered — everything S sent, unless S's data was retransmitted
	// into silence (it never arrived: R would have acknowledged it).
	rcvNxt := S.nxt
	if lostData(S, R) {
		rcvNxt = R.ack
	}
	if seg.Seq == rcvNxt || (R.ackValid && seg.Seq == R.ack) {
		return true, false
	}
	switch R.State {
	case CloseWait, LastAck, Closing:
		if seg.Seq == rcvNxt-1 {
			return true, false
		}
	}
	inWindow = seg.Seq.InWindow(rcvNxt, R.recvWindow(S))
	if R.State == SynRcvd && inWindow {
		return true, false // a request socket takes any RST in its window (tcp_check_req)
	}
	return false, inWindow
}

// lostData reports whether S's latest data evidently never reached R: S
// retransmitted it twice without a single segment back, and R acknowledged
// less. (One retransmission proves nothing: a tail-loss probe goes out while
// the ACK may be on its way.)
func lostData(S, R *Half) bool {
	return S.silentRtx >= 2 && R.ackValid && R.ack.LessThan(S.nxt)
}

// recvWindow is the receive window h last advertised, scaled when both
// SYNs carried the window-scale option (RFC 7323 §2.2); when the scale is
// unknown (mid-stream) the largest possible scale is assumed.
func (h *Half) recvWindow(peer *Half) seqnum.Size {
	w := seqnum.Size(h.window)
	switch {
	case !h.synSeen || !peer.synSeen:
		w <<= 14
	case h.wscale >= 0 && peer.wscale >= 0:
		w <<= uint(min(h.wscale, 14))
	}
	return max(w, 1)
}

// settle re-derives one side's state after its facts changed and records
// the transition, if any, with its causes.
func (t *Tracker) settle(c *Conn, s Side, at int64, pkt uint64, why cause) {
	if why == 0 {
		return // no fact changed: every change of a fact records its cause
	}
	h := &c.Half[s]
	to := h.derive()
	if to == h.State {
		return
	}
	t.transition(c, s, at, pkt, to, why)
}

func (t *Tracker) transition(c *Conn, s Side, at int64, pkt uint64, to State, why cause) {
	h := &c.Half[s]
	tr := trans{time: at, packet: pkt, side: s, from: h.State, to: to, why: why}
	h.State = to
	h.since = at
	if to == TimeWait {
		h.twSince = at
		t.timeWaits.push(timer{key: c.Key, id: c.ID, side: s, due: at + t.twLen})
	}
	if c.Half[0].State == Closed && c.Half[1].State == Closed {
		t.closed.push(timer{key: c.Key, id: c.ID, due: c.Last + t.twLen})
	}
	c.addTrans(tr)
	if t.cfg.OnTransition != nil {
		t.cfg.OnTransition(c, tr.public())
	}
}

// Linux's retry limits: a SYN_RCVD request is dropped after
// tcp_synack_retries (5) retransmissions of its SYN-ACK; an orphaned socket
// gives up its FIN after tcp_orphan_retries (0, meaning 8).
const (
	synAckRetries    = 5
	orphanFinRetries = 8
)

// nextRtxDue is how long after a retransmission whose gap from the one
// before was gap the next one is surely due: the backoff doubles, and Linux's
// timers fire a little late (a tenth, plus TCP_RTO_MIN).
func nextRtxDue(gap int64) int64 {
	next := 2 * max(gap, minRTO)
	return next + next/10 + minRTO
}

// retransmitted records a retransmission of a SYN-ACK or FIN: the gap since
// the previous one (for heal and the live grace), and that any ACK held
// back before it did not arrive after all.
func (h *Half) retransmitted(at int64) {
	if h.lastRtx != 0 {
		h.rtxGap = at - h.lastRtx
	}
	h.lastRtx = at
	h.heldAck = 0
}

// heal: on a black-holed path (lostAcks ≥ 2) a repeat of the lost ACK is not
// believed (onACK); but when the side stops retransmitting after one for
// longer than twice its last backoff, that ACK did arrive: the path healed.
func (t *Tracker) heal(c *Conn, now int64) {
	for s := Client; s <= Server; s++ {
		h, p := &c.Half[s], &c.Half[s.Peer()]
		if h.lastRtx == 0 || now-h.lastRtx <= nextRtxDue(h.rtxGap) {
			continue // the next retransmission may still come
		}
		if h.sentSynAck && !h.synAcked && h.synRtx >= synAckRetries ||
			h.finSent && !h.finAcked && h.finRtx >= orphanFinRetries {
			// Silence after the last retransmission Linux makes: it gave
			// up and dropped the connection, healed path or not.
			if !h.gaveUp {
				h.gaveUp = true
				t.settle(c, s, h.lastRtx+nextRtxDue(h.rtxGap), 0, cGaveUp)
			}
			continue
		}
		if h.heldAck == 0 || h.lostAcks < 2 {
			continue
		}
		at, pkt := h.heldAck, h.heldAckPkt
		h.heldAck = 0 // lostAcks is kept: a later retransmission proves the loss again
		h.reclaimAcks(p)
		t.settle(c, s, at, pkt, cAckHealed)
	}
}
