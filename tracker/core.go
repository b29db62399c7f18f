package tracker

import (
	"math"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// The core: one pure function, apply, takes a segment to the two halves of
// its connection — first what the sender's own segment says about it, then
// what the receiver learns by receiving it (segments seen are taken as
// delivered until later evidence says otherwise) — and returns what it
// changed and what it observed. It touches nothing but the two halves: no
// tracker, no timers, no findings. The tracker (act) turns the result into
// transitions, findings, timers and flood statistics.

// Result is what applying one segment did: the facts it established about
// each half, as causes, and what it observed for the tracker to act on.
type Result struct {
	Snd, Rcv cause       // facts established about the sender and the receiver
	Obs      observation // what the segment showed
	// ZeroFrom and ZeroTo bound a zero receive window of the sender's that
	// this segment ended (ObsZeroWindowEnded).
	ZeroFrom, ZeroTo int64
}

// observation is a set of things a segment showed that are not facts
// about a side: what to count, what to find, which timer to start.
type observation uint32

const (
	obsDuplicate         observation = 1 << iota // a capture duplicate: ignored
	obsUnacceptableAck                           // an ACK that misses a SYN_SENT side's SYN: ignored
	obsInvalidFlags                              // impossible flags: ignored
	obsRSTOutside                                // an RST outside the receiver's window: ignored
	obsRSTChallenged                             // an RST in the window, not at its edge: a challenge ACK
	obsKeepalive                                 // a keepalive probe
	obsZeroWindowProbe                           // a zero-window probe
	obsSynAckWrongAck                            // a SYN-ACK acknowledging another ISN: ignored
	obsSynAckOtherISN                            // a second SYN-ACK with another ISN: ignored
	obsFinMoved                                  // a FIN at another sequence number than the first: ignored
	obsOpened                                    // the sender's first SYN, before the peer sent anything
	obsRefused                                   // an RST answered the receiver's SYN
	obsRSTAccepted                               // the receiver accepted an RST: both ends closed
	obsAbort                                     // an established connection aborted by the sender
	obsAbortAfterClose                           // the sender closed and reset the peer's late data
	obsAbortLostState                            // the sender answered data with a bare RST: it lost the connection
	obsTimeWaitRestarted                         // a retransmitted FIN restarted the receiver's TIME_WAIT
	obsZeroWindowEnded                           // the sender's zero window opened (ZeroFrom, ZeroTo)
	obsGap                                       // the sender's sequence numbers jumped data the capture missed
	obsGapFilled                                 // segments came that filled a gap: they were reordered, not missed
	obsSynCapturedLate                           // the sender's SYN, shown by the peer's SYN-ACK, captured after it (reordered)
	obsPAWSRejected                              // a segment acknowledging a SYN_SENT side's SYN, echoing no timestamp it sent: ignored
)

// arrival is one segment being applied: its sender S, its receiver R and what
// has been found so far. Its methods are the rules, each written once for
// both directions.
type arrival struct {
	S, R     *Half
	seg      *Segment
	prevSent int64  // the sender's previous segment
	prevSig  segSig // and what it was
	same     bool   // this segment is the same as that one (segSig)
	res      Result
}

// apply applies one segment, sent by snd to rcv, and returns what it
// changed and observed. It is the whole of the state machine's input side.
func apply(snd, rcv *Half, seg *Segment) Result {
	a := arrival{S: snd, R: rcv, seg: seg}
	if a.account() {
		a.apply()
	}
	return a.res
}

func (a *arrival) cs(c cause) { a.res.Snd |= c }
func (a *arrival) cr(c cause) { a.res.Rcv |= c }
func (a *arrival) obs(o observation) {
	a.res.Obs |= o
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

// account counts the segment for its sender and reports whether it is
// evidence at all: the same segment again within a millisecond, with
// nothing from the peer between, was duplicated by the capture (a SPAN port
// seeing both directions of a VLAN, or several interfaces). No TCP timer
// retransmits that fast.
func (a *arrival) account() bool {
	S, R, seg := a.S, a.R, a.seg
	a.prevSent, a.prevSig = S.lastSent, S.lastSig
	S.packets++
	S.bytes += uint64(seg.Payload)
	sig := segSig{seq: seg.Seq, ack: seg.Ack, flags: seg.Flags, payload: seg.Payload, window: seg.Window}
	a.same = S.packets > 1 && sig == S.lastSig
	dup := a.same && seg.Time-a.prevSent < dupWindow && R.lastSent < a.prevSent
	S.lastSent = seg.Time
	if dup {
		a.obs(obsDuplicate)
		return false
	}
	S.lastSig = sig
	return true
}

// apply runs the rules for one segment that is evidence.
func (a *arrival) apply() {
	S, R, seg := a.S, a.R, a.seg
	f := seg.Flags
	a.inferMissedSynAck()
	R.pawsDropped = false
	if R.inSynSent() && f&(SYN|RST|ACK) == ACK && !R.acceptsSynAck(seg.Ack) {
		// An ACK that does not acknowledge the SYN of a side in SYN_SENT
		// (a TIME_WAIT socket's or a stale peer's): unacceptable, answered
		// by an RST and otherwise ignored (RFC 793 p. 66).
		a.obs(obsUnacceptableAck)
		return
	}
	if R.inSynSent() && a.tsecrNotSent() {
		R.pawsDropped = true
		a.obs(obsPAWSRejected)
		return
	}
	R.silentRtx = 0 // R's retransmissions, if any, were answered
	if S.cutOff || S.synAbandoned || R.cutOff {
		// It sends again: nothing ended the connection.
		S.cutOff, S.synAbandoned, R.cutOff = false, false, false
		a.cs(cRevived)
		a.cr(cRevived)
	}
	a.window()
	if !R.nxtValid && f&ACK != 0 && f&RST == 0 {
		R.nxt, R.nxtValid = seg.Ack, true // the peer has sent at least this far
	}
	switch {
	case f&(SYN|FIN) == SYN|FIN, f&(SYN|RST) == SYN|RST, f&(SYN|RST|ACK) == 0:
		// Impossible combinations, or neither SYN, RST nor ACK: Linux drops
		// them without a state change (tcp_rcv_state_process); so do we.
		a.obs(obsInvalidFlags)
	case f&RST != 0:
		a.onRST()
	case a.isProbe():
		if R.window == 0 {
			a.obs(obsZeroWindowProbe)
		} else {
			a.obs(obsKeepalive)
		}
	default:
		a.onSegment()
	}
}

// setISN records h's initial sequence number and the end of its SYN (past
// the data of a Fast Open SYN).
func (h *Half) setISN(isn, end seqnum.Value) {
	h.isn, h.synEnd, h.isnKnown = isn, end, true
}

// inSynSent reports whether h is in SYN_SENT as far as its facts go: it
// sent a SYN, not a SYN-ACK, and has not received the peer's SYN.
func (h *Half) inSynSent() bool { return h.synSent && !h.peerSyn && !h.sentSynAck }

// acceptsSynAck reports whether an acknowledgment number acknowledges h's
// SYN: ISN+1, or, for a Fast Open SYN with data, the end of that data (RFC
// 7413 §4.2).
func (h *Half) acceptsSynAck(ack seqnum.Value) bool {
	return ack == h.isn.Add(1) || h.synSeen && h.nxtValid && ack == h.nxt
}

// tsValOf returns a segment's TSval, 0 when it carries no timestamps.
func tsValOf(seg *Segment) uint32 {
	if !seg.HasTS {
		return 0
	}
	return seg.TSVal
}

// tsecrNotSent reports whether the segment acknowledges the SYN of its
// receiver, in SYN_SENT, with a TSecr that is no timestamp the receiver can
// have sent, so that the receiver drops it, answering it with an RST
// unless it is one (Linux's tcp_rcv_synsent_state_process,
// PAWSActiveRejected: PAWS, RFC 7323 §5, applied to the handshake). An
// RST, a SYN-ACK or a FIN forged into a handshake without the client's
// timestamp does not end or open it.
//
// The TSecr must lie between the first SYN's TSval and the receiver's
// clock now. The capture may have missed earlier SYNs (it started late),
// so a TSecr counts as older only when older than the first SYN seen by
// more than synSpanTicks; and the clock is not known, so one counts as
// later only when later than the SYN by more than a microsecond clock
// (faster than RFC 7323's 1 ms to 1 s a tick: Linux's tcp_usec_ts) has
// run since, with a second to spare. A TSecr of 0 is not checked (nor does Linux:
// RFC 7323 §3.2 has a segment without ACK carry 0).
func (a *arrival) tsecrNotSent() bool {
	R, seg := a.R, a.seg
	if seg.Flags&ACK == 0 || !seg.HasTS || seg.TSEcr == 0 || R.synTSVal == 0 || !R.acceptsSynAck(seg.Ack) {
		return false
	}
	d := int64(int32(seg.TSEcr - R.synTSVal))
	if d < 0 {
		return -d > synSpanTicks
	}
	// (A capture's clock can step back: no less than nothing has run.)
	return d > max(seg.Time-R.synTime, 0)/int64(time.Microsecond)+int64(time.Second/time.Microsecond)
}

// synSpanTicks bounds how much older than the first SYN captured an
// earlier one can be, in timestamp ticks: Linux's default six SYN
// retries take 127 s, which is 127,000,000 ticks of a microsecond clock
// (and days of a millisecond one).
const synSpanTicks = 1 << 27

// inferMissedSynAck: a side in SYN_SENT sends nothing but SYNs and RSTs, so
// an ACK from it means it received a SYN-ACK the capture missed,
// acknowledging its SYN. That SYN-ACK is inferred: the peer's ISN is this
// ACK − 1.
func (a *arrival) inferMissedSynAck() {
	S, R, seg := a.S, a.R, a.seg
	if !S.inSynSent() || seg.Flags&(SYN|RST|ACK) != ACK || R.synSent {
		return
	}
	R.synSent, R.sentSynAck, R.peerSyn = true, true, true
	R.setISN(seg.Ack-1, seg.Ack)
	R.synTime = seg.Time // (sent before this ACK, after the SYN)
	R.synAckInferred = true
	if S.synTime != 0 && R.rtt == 0 {
		// SYN out, ACK back: the whole path's round trip, which the
		// capture cannot split between the two ends.
		R.rtt = max(seg.Time-a.prevSent, 1) // (from its latest SYN: earlier ones went unanswered)
	}
	R.nxt, R.nxtValid = seg.Ack, true
	S.peerSyn, S.synAcked = true, true
	a.cs(cSynAckInferred)
	a.cr(cSynAckSent | cSynAckNotCaptured)
}

// isProbe reports whether the segment is a keepalive (RFC 1122 §4.2.3.6)
// or zero-window probe: one byte of already-acknowledged sequence space, or
// none. Linux sends both as snd.una−1 with no data; they never move a state.
func (a *arrival) isProbe() bool {
	S, R, seg := a.S, a.R, a.seg
	una := una(S, R)
	return S.nxtValid && S.state.Synchronized() && seg.Flags&(SYN|FIN) == 0 && seg.Payload <= 1 &&
		seg.Seq == una-1 && una == S.nxt
}

// una returns the oldest sequence number of h's that h's peer has not
// acknowledged, as far as the observer knows.
func una(h, peer *Half) seqnum.Value {
	if peer.ackValid {
		return peer.ack
	}
	return h.nxt
}

// onSegment applies a segment that is neither an RST nor a probe: its SYN,
// its acknowledgment, its FIN, its data, in sequence order.
func (a *arrival) onSegment() {
	S, R, seg := a.S, a.R, a.seg
	f := seg.Flags
	a.seqPastFIN()
	a.quickAckPastFIN()
	if f&SYN != 0 {
		if f&ACK == 0 {
			a.onSYN()
		} else if !a.onSYNACK() {
			return // the receiver ignores it
		}
	}
	if f&ACK != 0 {
		a.onACK()
	}
	if f&FIN != 0 {
		a.onFIN()
	}
	if seg.Payload > 0 {
		a.dataFromSynRcvd()
		if S.finInferred && S.finSeq.LessThan(seg.Seq.Add(seqnum.Size(seg.Payload))) && f&FIN == 0 {
			a.finWasData(S, true) // data at the position taken for its FIN
		}
		S.lastData = seg.Time
		if !S.sentValid || S.sent.LessThan(seg.End()) {
			S.midWrite = f&(PSH|FIN) == 0 // (a retransmission says nothing about the write)
		}
		if S.reset && S.nxtValid && S.nxt.LessThan(seg.End()) && !R.reset {
			S.reset = false // new data after an RST at its snd.nxt: that RST was not its own
			a.cs(cRevived)
		}
	}
	a.advance()
}

// dataFromSynRcvd: a socket in SYN_RCVD sends no data unless the peer's
// SYN carried Fast Open data (RFC 7413 §4.2); data from a side whose SYN-ACK
// answered a plain SYN shows that its SYN was acknowledged, though the ACK
// seen for it was proven lost or never captured.
func (a *arrival) dataFromSynRcvd() {
	S, R, seg := a.S, a.R, a.seg
	if !S.sentSynAck || S.synAcked || seg.Flags&SYN != 0 || !R.isnKnown || R.synEnd != R.isn.Add(1) {
		return
	}
	S.synAcked, S.lostAcks, S.heldAck = true, 0, 0
	a.cs(cSynAckedBySending)
}

// advance moves the sender's sequence space past the segment, or counts it
// as a retransmission when it carried nothing new.
func (a *arrival) advance() {
	S, R, seg := a.S, a.R, a.seg
	end := seg.End()
	a.gaps()
	if !S.sentValid || S.sent.LessThan(end) {
		S.sent, S.sentValid = end, true
		if R.overAck != 0 && R.ackValid && !S.sent.Add(1).LessThan(R.ack) {
			R.overAck = 0 // what the peer acknowledged beyond its view was sent: it is seen now
		}
	}
	if !S.nxtValid || S.nxt.LessThan(end) {
		S.nxt, S.nxtValid, S.nxtTime = end, true, seg.Time
		return
	}
	if seg.Payload == 0 && seg.Flags&FIN == 0 || seg.Flags&SYN != 0 {
		return // (a SYN sent again is counted as such, data and all)
	}
	if seg.Flags&FIN == 0 {
		S.retransmits++
	}
	if S.silentRtx == 0 {
		S.silentSince = seg.Time
	} else {
		S.silentGap = seg.Time - a.prevSent
	}
	if S.silentRtx < math.MaxUint16 {
		S.silentRtx++
	}
}

// missedGap counts [from, to) of what h sent as data the capture missed,
// its latest gap.
func (h *Half) missedGap(from, to seqnum.Value) {
	h.missed += uint64(to.Sub(from))
	h.gaps.add(from, to)
}

// maxHoles: the gaps followed at once in what a sender was seen to send.
// Segments reordered on the way to the capture point leave one gap each
// until they come; a path that holds back two at a time needs two
// (bulk-reordered). A gap pushed out stays counted as missed. Two keep a
// Conn within 20 cache lines (1,280 bytes), as before there were any.
const maxHoles = 2

// holes are gaps [start, end) in a sender's sequence space, latest first;
// an empty one (start == end) is unused.
type holes [maxHoles][2]seqnum.Value

// add makes [from, to) the latest gap, pushing out the oldest.
func (g *holes) add(from, to seqnum.Value) {
	copy(g[1:], g[:maxHoles-1])
	g[0] = [2]seqnum.Value{from, to}
}

// maxBehind: how far behind the sender's highest sequence number a segment
// of a gap can still come, reordered or retransmitted: within the
// receiver's window, which is 1 GiB at most (RFC 7323). A gap further
// behind, or one the sequence numbers wrapped past, is no longer followed
// (its bytes stay missed): a transfer of gigabytes reuses its numbers.
const maxBehind = 1 << 30

// forget stops following the gaps that ended more than maxBehind before
// sent, or past it (sequence numbers that wrapped since).
func (g *holes) forget(sent seqnum.Value) {
	for i := range g {
		if d := sent.Sub(g[i][1]); d < 0 || d > maxBehind {
			g[i][1] = g[i][0]
		}
	}
}

// fill takes [from, to), a segment captured after all, out of the gaps it
// overlaps. It returns how many bytes they lost, and by how many the gaps
// went down (a gap closed) or up (a segment from a gap's middle made it
// two).
func (g *holes) fill(from, to seqnum.Value) (n uint32, fewer int) {
	for i := range g {
		h := &g[i]
		lo, hi := seqnum.Max(from, h[0]), seqnum.Min(to, h[1])
		if !lo.LessThan(hi) {
			continue // (an empty gap, or one the segment misses)
		}
		n += uint32(hi.Sub(lo))
		switch {
		case lo == h[0] && hi == h[1]:
			h[1], fewer = h[0], fewer+1
		case lo == h[0]:
			h[0] = hi
		case hi == h[1]:
			h[1] = lo
		default:
			rest := [2]seqnum.Value{hi, h[1]}
			h[1] = lo
			g.add(rest[0], rest[1]) // (g[i] moves on to g[i+1]: seen again, with nothing to fill)
			fewer--
		}
	}
	return n, fewer
}

// gaps follows the holes in what the capture saw of the sender's data: a
// segment that begins past the last sequence number seen leaves a gap the
// capture missed (the sender sent it: its sequence numbers moved on); a
// later segment inside a gap fills it (reordered, or a retransmission).
func (a *arrival) gaps() {
	S, seg := a.S, a.seg
	if !S.sentValid {
		return
	}
	from := S.sent
	if S.finInferred && S.finSeq == from {
		from++ // the FIN inferred there is not data
	}
	to := seg.Seq
	if S.finInferred && S.finSeq.Add(1) == to && from.LessThan(S.finSeq) {
		to = S.finSeq // nor is one inferred at the end of the gap (quickAckPastFIN)
	}
	if from.LessThan(to) {
		// A jump past the window the receiver offered is no data missed,
		// unless the receiver acknowledges it, already or later (onACK): a
		// capture that missed gigabytes of a transfer, its ACKs seen; not
		// if the sender told two ISNs, and the receiver took the other.
		acked := a.R.ackValid && !a.R.ack.LessThan(seg.Seq) && !S.otherISN
		if seqnum.Size(to.Sub(from)) <= a.R.recvWindow(S) || acked {
			S.missedGap(from, to)
			a.obs(obsGap)
			return
		}
		if !S.otherISN {
			S.jump, S.jumped = [2]seqnum.Value{from, to}, true
		}
	}
	if S.missed > 0 && seg.Payload > 0 && seg.Seq.LessThan(S.sent) {
		// (Only what it sends again, or late, below its highest: the
		// gaps are all behind that.)
		S.gaps.forget(S.sent)
		n, fewer := S.gaps.fill(seg.Seq, seqnum.Min(seg.Seq.Add(seqnum.Size(seg.Payload)), S.sent))
		S.missed -= min(S.missed, uint64(n))
		switch {
		case fewer > 0:
			a.obs(obsGapFilled)
		case fewer < 0:
			a.obs(obsGap) // (one missed segment taken for two)
		}
	}
}

// window follows the receive window the sender advertises, for zero_window.
func (a *arrival) window() {
	h, seg := a.S, a.seg
	if seg.Flags&SYN != 0 && h.window != 0 {
		return // a SYN's window is never scaled (RFC 7323 §2.2): keep the last real one
	}
	h.window = seg.Window
	if seg.Flags&(SYN|RST) != 0 {
		return
	}
	switch {
	case seg.Window == 0 && h.zeroSince == 0:
		h.zeroSince = seg.Time
	case seg.Window != 0 && h.zeroSince != 0:
		a.res.ZeroFrom, a.res.ZeroTo = h.zeroSince, seg.Time
		a.obs(obsZeroWindowEnded)
		h.zeroSince = 0
	}
}
