package tracker

import (
	"math"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// covers reports whether an acknowledgment number acknowledges the sequence
// position at (ACK ≥ at+1).
func covers(ack, at seqnum.Value) bool { return at.LessThan(ack) }

// finGrace is added to twice the round trip before a segment that does not
// acknowledge the peer's FIN counts as proof that the FIN was lost: room for
// scheduling delays and delayed processing at the endpoint.
const finGrace = int64(10 * time.Millisecond)

// onSYN handles a SYN without ACK: an active open, or its retransmission.
// (A SYN with another ISN on a live connection never gets here: the tracker
// holds it aside, see pending.go.)
func (a *arrival) onSYN() {
	S, R, seg := a.S, a.R, a.seg
	if S.synSent {
		switch {
		case seg.Seq != S.isn:
		case a.synCapturedLate():
			S.synSeen, S.wscale = true, seg.WScale
			S.synTSVal = tsValOf(seg)
			a.obs(obsSynCapturedLate)
		default:
			a.synRetransmitted()
		}
		return
	}
	S.synSent, S.wscale, S.synSeen = true, seg.WScale, true
	S.setISN(seg.Seq, seg.Seq.Add(1+seqnum.Size(seg.Payload)))
	S.synTime = seg.Time
	S.synTSVal = tsValOf(seg)
	a.cs(cSynSent)
	if S.peerSyn { // the peer's SYN is on its way in: simultaneous open
		a.cs(cPeerSyn)
	}
	if !R.Sent() {
		a.obs(obsOpened)
	}
	if R.synSent && !R.peerSyn {
		R.peerSyn = true // simultaneous open: SYN_SENT → SYN_RCVD
		a.cr(cPeerSyn)
	} else if !R.synSent {
		R.peerSyn = true
	}
}

// synCapturedLate reports whether the SYN is the sender's first segment,
// captured after the peer's SYN-ACK that acknowledged it (reordered on the
// way to the capture point, several interfaces or queues merged): sooner
// after that SYN-ACK than any SYN is sent again (its first went before the
// SYN-ACK, and a retransmission waits TCP_RTO_MIN at least; Linux's first
// waits 1 s). It is no retransmission: the SYN-ACK did arrive.
func (a *arrival) synCapturedLate() bool {
	S, R, seg := a.S, a.R, a.seg
	return !S.synSeen && S.packets == 1 && R.sentSynAck && R.synRtx == 0 && seg.Time-R.synTime < minRTO
}

// synRetransmitted handles the same SYN again.
func (a *arrival) synRetransmitted() {
	S, R := a.S, a.R
	S.retransmits++
	S.synRtx++
	S.lastRtx, S.rtxGap = a.seg.Time, a.seg.Time-a.prevSent // (its previous segment was its SYN)
	if S.reset && !S.peerSyn {
		S.reset = false // the RST that refused it never arrived
		a.cs(cRstLost)
		if R.reset && !R.sentSynAck {
			// That RST refused the attempt before, with no socket behind
			// it: the peer answers this one afresh (a SYN-ACK now opens it).
			R.reset = false
		}
	}
	// It retransmits its SYN after we saw the peer's SYN-ACK and before it
	// acknowledged it: the SYN-ACK never reached it.
	if S.peerSyn && !(S.ackValid && R.synSent && covers(S.ack, R.isn)) {
		S.peerSyn = false
		if R.sentSynAck { // (not the peer's bare SYN of a simultaneous open)
			S.synAcksLost = min(S.synAcksLost+1, math.MaxUint8)
		}
		a.cs(cPeerSynLost)
	}
}

// onSYNACK handles a SYN-ACK: the answer to the receiver's SYN, its
// retransmission, or the second half of a simultaneous open.
func (a *arrival) onSYNACK() (ok bool) {
	S, R, seg := a.S, a.R, a.seg
	// It must acknowledge ISN+1 (RFC 793 p. 66), or the end of a Fast Open
	// SYN's data that it accepts.
	if R.synSent && R.isnKnown && !R.acceptsSynAck(seg.Ack) {
		a.obs(obsSynAckWrongAck) // the receiver ignores it
		return false
	}
	if !R.isnKnown { // its SYN was not seen: picked up at the SYN-ACK or later
		R.synSent = true
		R.setISN(seg.Ack-1, seg.Ack)
		if !R.synSeen {
			R.wscale = -1
		}
	}
	switch {
	case S.synSent && !S.isnKnown:
		a.midstreamSynAck()
	case !S.synSent:
		S.synSent, S.wscale, S.synSeen = true, seg.WScale, true
		S.setISN(seg.Seq, seg.Seq.Add(1+seqnum.Size(seg.Payload)))
		S.sentSynAck = true
		S.synTime = seg.Time
		if R.synTime != 0 {
			S.rtt = max(seg.Time-R.lastSent, 1) // SYN in, SYN-ACK out: the round trip to S
			S.rttShake = true
		}
		a.cs(cSynAckSent)
	case seg.Seq != S.isn:
		S.otherISN = true
		a.obs(obsSynAckOtherISN)
		return false
	case S.synAckInferred:
		S.synAckInferred, S.synSeen, S.wscale = false, true, seg.WScale
		a.cs(cCapturedLate) // the inferred SYN-ACK, captured late: no retransmission
	case S.sentSynAck:
		S.retransmits++
		S.synRtx++
		S.retransmitted(seg.Time, S.synTime)
		if S.ackNeverArrived(&S.synAcked, R) {
			a.cs(cSynAckLost)
		}
	default: // simultaneous open: SYN_RCVD sends SYN-ACK
		S.sentSynAck = true
		S.wscale = seg.WScale
	}
	if !S.peerSyn {
		S.peerSyn = true
		a.cs(cPeerSyn)
	}
	if !R.peerSyn && !R.synAckBlackHoled() {
		R.peerSyn = true
		a.cr(cPeerSyn)
	}
	return true
}

// synAckBlackHoled: h, an active opener, proved that the peer's SYN-ACKs do
// not reach it (it sent its SYN again after one passed, blackHoleProofs
// times) and has acknowledged none: another copy, the same SYN-ACK, is not
// believed to arrive either. Its ACK of one, or data, shows one did.
func (h *Half) synAckBlackHoled() bool {
	return h.synAcksLost >= blackHoleProofs && !h.sentSynAck
}

// measureRTT takes one round trip measured on data and the ACK that
// answered it, when the handshake gave none (a capture that started late):
// the smallest sample, since a delayed ACK only adds to it, and the rules
// that use the round trip wait for a multiple of it.
func (h *Half) measureRTT(d int64) {
	if d > 0 && (h.rtt == 0 || d < h.rtt) {
		h.rtt, h.rttByData = d, true
	}
}

// midstreamSynAck: a SYN-ACK from a side picked up mid-stream, taken to be
// past its handshake. Its ACK was seen before it (the capture began after
// the SYN-ACK went out): the SYN-ACK is sent again, so that ACK never
// arrived (the server is still in SYN_RCVD).
func (a *arrival) midstreamSynAck() {
	S, R, seg := a.S, a.R, a.seg
	S.setISN(seg.Seq, seg.Seq.Add(1+seqnum.Size(seg.Payload)))
	S.sentSynAck, S.synSeen, S.wscale = true, true, seg.WScale
	if S.synTime == 0 {
		S.synTime = seg.Time // (its first SYN-ACK went out before the capture began)
	}
	S.retransmits++
	S.synRtx++
	S.retransmitted(seg.Time, 0)
	if S.ackNeverArrived(&S.synAcked, R) {
		a.cs(cSynAckLost)
	}
}

// ackNeverArrived applies "retransmitted after its ACK": h sent again what
// the peer had acknowledged (one of h's acknowledged facts), which proves
// that acknowledgment never reached h. The fact is withdrawn, and the proof
// counted: after blackHoleProofs of them nothing carrying the same
// acknowledgment is believed to arrive (see onACK).
func (h *Half) ackNeverArrived(acked *bool, peer *Half) bool {
	if !*acked {
		return false
	}
	*acked = false
	h.lostAcks++
	h.lostAck = peer.ack
	return true
}

// onACK handles the acknowledgment field: what it says the sender
// received, and what the receiver learns when it arrives.
func (a *arrival) onACK() {
	S, R, seg := a.S, a.R, a.seg
	ack, notSyn := seg.Ack, seg.Flags&SYN == 0
	if notSyn {
		a.ackedUnseen()
		a.repeatedAck()
		if (S.rtt == 0 || S.rttByData) && R.nxtTime != 0 && ack == R.nxt && R.nxtValid && (!S.ackValid || S.ack.LessThan(ack)) {
			S.measureRTT(seg.Time - R.nxtTime)
			if R.sentSynAck && ack == R.synEnd && seg.Payload == 0 && R.synRtx == 0 {
				S.rttShake = true // the bare ACK of the SYN-ACK, sent at once (and no copy of it since)
			}
		}
		if R.nxtValid && R.nxt.LessThan(ack) {
			// It acknowledges more than the peer was seen to send: data
			// the capture missed, a segment reordered before the capture
			// point, or data never sent. It is believed; whether the peer
			// ever sent it is judged at the end (detectSeq).
			R.nxt, R.nxtTime = ack, 0 // (moved by an acknowledgment, not by a segment seen)
		}
	}
	if R.sentValid && R.sent.Add(1).LessThan(ack) && S.overAck == 0 {
		S.overAck = seg.Time
	}
	if notSyn && S.sentSynAck && !S.synAcked && R.synSent && covers(ack, R.synEnd) {
		// It acknowledges data (or a FIN) of the peer's past the SYN: the
		// peer sent it from ESTABLISHED, and every such segment carries the
		// ACK of this side's SYN.
		S.synAcked = true
		a.cs(cSynAckedByData)
	}
	if R.jumped && !ack.LessThan(R.jump[1]) {
		// It acknowledges what the peer's sequence numbers jumped past its
		// window: that was data the capture missed.
		R.missedGap(R.jump[0], R.jump[1])
		R.jumped = false
	}
	if !S.ackValid || S.ack.LessThan(ack) {
		heard := S.ackValid // (a first acknowledgment number is no news from the peer)
		S.ack, S.ackValid, S.ackTime = ack, true, seg.Time
		if S.lostAcks > 0 && heard {
			// It hears the peer again: the peer's latest acknowledgment
			// reached it with this data.
			S.lostAcks = 0
			a.cs(S.reclaimAcks(R))
		}
	}
	// After R proved that this very acknowledgment did not reach it,
	// nothing carrying it is believed to arrive (the path to R is a black
	// hole) until R shows it hears from S again (above), or falls silent
	// (heal).
	pureRepeat := notSyn && R.lostAcks >= blackHoleProofs && ack == R.lostAck
	if R.synSent && covers(ack, R.isn) {
		if S.rtt == 0 && R.synTime != 0 && notSyn {
			S.rtt = max(seg.Time-R.synTime, 1) // SYN-ACK out, ACK back: the round trip to S
			S.rttShake = seg.Payload == 0 && R.synRtx == 0
		}
		if !S.peerSyn {
			S.peerSyn = true
			a.cs(cPeerSyn)
		}
		a.cr(R.receiveAck(&R.synAcked, cSynAcked, pureRepeat, seg))
	}
	a.finLostBeforeAck()
	if R.finSent && covers(ack, R.finSeq) {
		if !S.peerFin {
			S.peerFin = true
			a.cs(cPeerFin)
		}
		a.cr(R.receiveAck(&R.finAcked, cFinAcked, pureRepeat, seg))
	}
}

// ackedUnseen applies what an acknowledgment proves about the peer's
// sequence space that the capture did not show. One exactly one past the
// last sequence number the peer R was seen to send — or, for a peer never
// seen, one past the acknowledgment S gave before — sits where R's FIN would
// be: R sent its FIN and the capture missed it (finNotCaptured). It must
// move S's acknowledgment forward: the answer to a keepalive, whose
// sequence number is one below the peer's snd.nxt, repeats it. One byte
// of data would fit as well; if R later turns out to have sent past that
// position, the FIN is withdrawn (finWasData).
func (a *arrival) ackedUnseen() {
	S, R, seg := a.S, a.R, a.seg
	if R.finInferred && covers(seg.Ack, R.finSeq.Add(1)) {
		a.finWasData(R, false) // nothing follows a FIN
	}
	if !S.ackValid || !S.ack.LessThan(seg.Ack) || R.finSent || !R.synSent || !R.peerSyn || R.reset {
		return // (an acknowledgment that does not move is a keepalive's answer)
	}
	end := S.ack // the last R sent as far as seen: its segments, or what S acknowledged
	if R.sentValid && end.LessThan(R.sent) {
		end = R.sent
	}
	if seg.Ack != end.Add(1) || R.isnKnown && !covers(end, R.isn) {
		return
	}
	a.inferFIN(R, S, end, false)
	a.cr(cFinNotCaptured)
}

// seqPastFIN: the sender's sequence number is exactly one past the last
// sequence number it was seen to send: the one between is its FIN, which
// the capture missed (data would have been retransmitted, or shown by an
// acknowledgment). For a sender never seen before, a bare ACK one past
// what the peer acknowledged says the same (FINs that crossed before the
// capture began).
func (a *arrival) seqPastFIN() {
	S, R, seg := a.S, a.R, a.seg
	last, known := S.sent, S.sentValid
	if !known && seg.Flags == ACK && seg.Payload == 0 {
		last, known = R.ack, R.ackValid // (where the peer's ACK puts it, as in ackedUnseen)
	}
	if !known || seg.Seq != last.Add(1) || S.finSent || !S.peerSyn || S.reset || seg.Flags&SYN != 0 {
		return
	}
	a.inferFIN(S, R, last, true)
	a.cs(cFinNotCapturedSeq)
}

// quickAckWindow: how much later than a round trip from the capture point
// an acknowledgment of a FIN can come and still be immediate. Linux
// acknowledges a FIN at once only from FIN_WAIT_1 or FIN_WAIT_2
// (tcp_fin's tcp_send_ack); in ESTABLISHED it enters CLOSE_WAIT in
// pingpong mode and delays the ACK (40 ms at least, TCP_DELACK_MIN),
// unless more than a segment's worth is unacknowledged.
const quickAckWindow = int64(20 * time.Millisecond)

// minSegment: Linux acknowledges at once when more than its estimate of
// the peer's segment size is unacknowledged (__tcp_ack_snd_check); the
// estimate starts at 536 bytes (TCP_MSS_DEFAULT) and rarely drops below.
// Nothing but the FIN's own segment may be unacknowledged either: two
// small segments unacknowledged are acknowledged as soon as the
// application reads (tcp_cleanup_rbuf, ICSK_ACK_PUSHED2), and a delayed
// ACK already due for earlier data keeps its time (tcp_send_delayed_ack).
const minSegment = 536

// quickAckPastFIN: a bare ACK of the peer's FIN, sent at once, comes from
// a side that had sent its own FIN (quickAckWindow). Its sequence number
// is past what it was seen to send, or ends a gap an earlier segment of
// its jumped, or, for a side picked up mid-stream that has sent no data
// since, is where the capture found it (a half-close before the capture
// began); and the peer acknowledged all of it: the segments the capture
// missed ended with its FIN, one below this sequence number (a FIN sent
// with the last data). One exactly one past is seqPastFIN. The ACK must
// answer the FIN's first copy (a copy sent again is acknowledged at once
// in any state; one the capture missed, such as a tail loss probe's,
// cannot be told), with nothing unacknowledged before the FIN's segment
// and less than minSegment in it. It must come within quickAckWindow of
// the FIN, or of a round trip with a sample from the handshake added
// (rttShake: samples on data alone may all be delayed ACKs).
func (a *arrival) quickAckPastFIN() {
	S, R, seg := a.S, a.R, a.seg
	if seg.Flags != ACK || seg.Payload != 0 || !S.sentValid || S.finSent || !S.peerSyn || S.reset || R.reset ||
		!R.ackValid || R.ack != seg.Seq {
		return
	}
	jumps := S.sent.Add(1).LessThan(seg.Seq)
	gap := &S.gaps[0]
	endsGap := S.sent == seg.Seq && gap[1] == seg.Seq && gap[0].Add(1).LessThan(seg.Seq)
	before := S.sent == seg.Seq && !S.isnKnown && S.bytes == 0 // (all it sent in the capture: bare ACKs here)
	if !jumps && !endsGap && !before {
		return
	}
	fin := &R.lastSig // (the peer's FIN segment, when it sent nothing after it)
	if !R.finSent || R.finInferred || R.finLast != R.finTime || !covers(seg.Ack, R.finSeq) || fin.flags&FIN == 0 ||
		fin.seq.Add(seqnum.Size(fin.payload)) != R.finSeq || !S.ackValid || S.ack != fin.seq || fin.payload >= minSegment {
		return
	}
	limit := quickAckWindow
	if S.rttShake {
		limit += S.rtt
	}
	if seg.Time-R.finTime >= limit {
		return
	}
	if endsGap {
		gap[1]-- // (its last byte is the FIN, not data missed)
		S.missed -= min(S.missed, 1)
	}
	// The peer acknowledged that FIN (its acknowledgment reached this
	// sequence number); its own FIN answered it if it did so too.
	a.cr(S.takeAckedFIN(R, seg.Seq-1, R.ackTime, false))
	a.cs(cFinSent | cFinAcked | cFinBeforeQuickAck)
}

// inferFIN records h's FIN at sequence number at, which the capture
// missed; sender says whether h sent this segment. The FIN answered the
// peer's if that had arrived, and then carried the ACK of it.
func (a *arrival) inferFIN(h, peer *Half, at seqnum.Value, sender bool) {
	seg := a.seg
	hc, pc := a.cs, a.cr
	if !sender {
		hc, pc = a.cr, a.cs
	}
	hc(cFinSent)
	answered := ackedFIN(h, peer) || !crossed(h, peer, seg.Time) && !(sender && bareAckOfFIN(seg, peer))
	pc(h.takeFIN(peer, at, seg.Time, h.peerFin && answered))
	if sender && !peer.peerFin {
		peer.peerFin = true
		pc(cPeerFin)
	}
}

// takeFIN records h's FIN at sequence number at, which the capture missed,
// sent by the time when; answered says it answered the peer's FIN, and so
// carried the ACK of it. It returns what that established for the peer.
func (h *Half) takeFIN(peer *Half, at seqnum.Value, when int64, answered bool) cause {
	h.finSent, h.finSeq, h.finInferred = true, at, true
	h.finTime, h.finLast, h.finAck = when, when, h.ack
	h.finFirst = !answered
	if answered && peer.finSent && !peer.finAcked {
		peer.finAcked = true
		return cFinAcked
	}
	return 0
}

// takeAckedFIN is takeFIN for a FIN the peer acknowledged (its
// acknowledgment reached past at, by when): the peer received it, and its
// own FIN, if it acknowledged h's, answered it. It returns what that
// established for the peer.
func (h *Half) takeAckedFIN(peer *Half, at seqnum.Value, when int64, answered bool) cause {
	pc := h.takeFIN(peer, at, when, answered)
	h.finAcked = true
	if !peer.peerFin {
		peer.peerFin, pc = true, pc|cPeerFin
	}
	if h.finFirst && peer.finFirst && covers(peer.finAck, h.finSeq) {
		peer.finFirst = false // the peer's FIN, acknowledging h's, answered it
	}
	return pc
}

// ackedFIN reports whether h acknowledged the peer's FIN in a segment the
// capture saw. Every segment h sent after its own FIN would carry a
// sequence number past it, and none did (its FIN is being inferred), so
// that acknowledgment went out before h's FIN: the FIN answered the
// peer's, however soon after it the peer's ACK of it came.
func ackedFIN(h, peer *Half) bool {
	return peer.finSent && h.ackValid && covers(h.ack, peer.finSeq)
}

// bareAckOfFIN: seg, a bare ACK sent past its sender's FIN, is the first
// of its segments to acknowledge the peer's FIN, which was not sent again.
// A FIN that answered the peer's carries that acknowledgment itself
// (Linux acknowledges a FIN with its own FIN when the application closes
// at once, or else with a bare ACK before it, below the FIN); one sent
// after its FIN acknowledges a FIN that came after it: they crossed.
func bareAckOfFIN(seg *Segment, peer *Half) bool {
	return seg.Payload == 0 && seg.Flags&(FIN|SYN|RST) == 0 && peer.finSent && !peer.finInferred &&
		peer.finRtx == 0 && covers(seg.Ack, peer.finSeq)
}

// crossed reports whether h's FIN, which the capture missed, was sent
// before the peer's FIN reached h, though h is taken to have received it
// since: the segment at time `at` (the peer's ACK of h's FIN, or h's next
// segment) came sooner after the peer's FIN passed the capture point than
// a FIN answering it could have. An answer has to travel the whole path,
// capture point to h and back, and, for the peer's ACK of it, to the peer
// and back: one round trip of each end from the capture point (both known,
// or the path's measured on the handshake). The FINs crossed: a
// simultaneous close.
func crossed(h, peer *Half, at int64) bool {
	if !peer.finSent || peer.finInferred || h.rtt == 0 {
		return false
	}
	path := h.rtt + peer.rtt
	guard := path / 4 // jitter between the handshake sample and the close round trip
	return at-peer.finTime < path-guard
}

// repeatedAck: a bare ACK that repeats the sender's previous segment
// exactly, well after it (not a capture duplicate, no window change), is
// the answer to a segment that brought nothing new: the peer sent again
// what this ACK had already acknowledged. When that is the peer's FIN or
// SYN-ACK, the peer retransmitted it — the capture missed the copy — and
// so it never received the acknowledgment: the same rule as a
// retransmission seen (ackNeverArrived). A bare ACK just past the
// sender's FIN, well after that FIN (its first copy or one sent again)
// and with the same acknowledgment, brings nothing new either: the sender
// after its FIN has nothing to send but answers.
func (a *arrival) repeatedAck() {
	S, R, seg := a.S, a.R, a.seg
	if seg.Time-a.prevSent < minRTO || seg.Flags&(SYN|FIN|RST) != 0 || seg.Payload != 0 || R.lastSent > a.prevSent ||
		!a.same && !a.afterOwnFIN() {
		return // (a copy the capture saw was judged as it came)
	}
	switch {
	case R.finSent && seg.Ack == R.finSeq.Add(1) && (R.finAcked || R.lostAcks > 0):
		at := max(seg.Time-S.rtt, a.prevSent) // (when the copy passed the capture point)
		if !R.ackNeverArrived(&R.finAcked, S) {
			// Its ACK was proven lost already, and still none has
			// arrived: it keeps retransmitting (heal waits from this copy).
			R.retransmitted(at, R.finTime)
			R.finLast = at
		}
		R.finRtx++
		a.cr(cFinAckLostUnseen)
		a.peerFinLostBefore(at)
	case R.sentSynAck && R.synAcked && !R.finSent && seg.Ack == R.synEnd && (!R.nxtValid || R.nxt == R.synEnd) &&
		seg.Time-R.synTime < synAckWindow:
		if R.ackNeverArrived(&R.synAcked, S) {
			R.synRtx++
			a.cr(cSynAckLostUnseen)
		}
	}
}

// afterOwnFIN: the segment, a bare ACK, is the sender's first past its
// FIN, with the acknowledgment its previous segment, that FIN, carried.
func (a *arrival) afterOwnFIN() bool {
	S, seg, prev := a.S, a.seg, &a.prevSig
	return S.finSent && prev.flags&FIN != 0 && prev.seq == S.finSeq && prev.payload == 0 && prev.ack == seg.Ack &&
		seg.Seq == S.finSeq.Add(1)
}

// peerFinLostBefore: the receiver sent its FIN again at (the capture
// missed the copy), so no acknowledgment of it had reached it. The
// sender's FIN carried that acknowledgment: if its latest copy passed the
// capture point more than the receiver's round trip before, it never
// arrived either, and the receiver did not get the sender's FIN.
func (a *arrival) peerFinLostBefore(at int64) {
	S, R := a.S, a.R
	if !S.finSent || S.finAcked || !R.peerFin || !covers(S.finAck, R.finSeq) || R.rtt == 0 || at-S.finLast <= R.rtt {
		return
	}
	R.peerFin = false
	a.cr(cPeerFinLostUnseen)
}

// finWasData withdraws h's inferred FIN: h (the sender of this segment, or
// its receiver) sent past the sequence number taken for it, so that was a
// byte of data.
func (a *arrival) finWasData(h *Half, sender bool) {
	peer := a.R
	if !sender {
		peer = a.S
	}
	h.finSent, h.finInferred, h.finAcked, h.finFirst = false, false, false, false
	peer.peerFin = false
	if peer.finSent {
		peer.finFirst = true // it answered no FIN of h's: there was none yet
	}
	if sender {
		a.cs(cFinWasData)
		a.cr(cPeerFinWasData)
	} else {
		a.cr(cFinWasData)
		a.cs(cPeerFinWasData)
	}
}

// finLostBeforeAck: Linux acknowledges a FIN at once, and every later
// segment carries that acknowledgment. One sent well over a round trip
// after the peer's last FIN passed that does not cover it shows the FIN
// never arrived. It is believed received again only when acknowledged.
func (a *arrival) finLostBeforeAck() {
	S, R, seg := a.S, a.R, a.seg
	if R.finSent && !covers(seg.Ack, R.finSeq) && S.peerFin && S.rtt > 0 && seg.Time-R.finLast > 2*S.rtt+finGrace &&
		seg.Flags&SYN == 0 && !(S.ackValid && covers(S.ack, R.finSeq)) {
		S.peerFin = false
		a.cs(cPeerFinLost)
	}
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

// tlpMin: the least time after a segment that a tail-loss probe sends
// it again (Linux: max(2×SRTT, 10 ms); FreeBSD's RACK the same floor).
// The retransmission timeout, 200 ms at least, is later still.
const tlpMin = int64(10 * time.Millisecond)

// lateFINWindow: how soon after the segment that showed S's FIN (and so
// the time it was inferred) a copy of that FIN is the original, captured
// late, rather than a retransmission. A copy is sent tlpMin after the
// original at least, and the original left S at most a round trip of
// the path (from the capture point to each end and back) before the
// segment that showed it passed: with the path known, a copy sooner than
// tlpMin less that is the original. Unknown, or a path that long, only a
// copy within dupWindow is (the original reordered on its way to the
// capture point).
func lateFINWindow(S, R *Half) int64 {
	if S.rtt == 0 || R.rtt == 0 {
		return dupWindow
	}
	return max(dupWindow, tlpMin-(S.rtt+R.rtt)*5/4)
}

// onFIN handles a FIN: the sender's close, or its retransmission.
func (a *arrival) onFIN() {
	S, R, seg := a.S, a.R, a.seg
	fin := seg.Seq.Add(seqnum.Size(seg.Payload))
	if seg.Flags&SYN != 0 {
		fin++
	}
	if S.finInferred {
		if fin == S.finSeq {
			// The FIN inferred earlier, captured late (reordered): it was
			// not missed, and its own acknowledgment says whether it
			// answered the peer's.
			S.finInferred = false
			if seg.Ack.LessThan(S.ack) || seg.Time-S.finTime < lateFINWindow(S, R) {
				// It acknowledges less than the sender had already
				// acknowledged, or it comes sooner after the segment
				// that showed it than any timer sends a FIN again:
				// this is the original, sent before that segment, not
				// a retransmission.
				S.finAck = seg.Ack
				S.finFirst = !(R.finSent && covers(seg.Ack, R.finSeq))
				a.cs(cCapturedLate)
			}
			return
		}
		a.finWasData(S, true)
	}
	switch {
	case !S.finSent:
		a.firstFIN(fin)
	case fin == S.finSeq:
		S.finRtx++
		S.finLast = seg.Time // (a retransmission is not assumed delivered: see onACK)
		S.retransmitted(seg.Time, S.finTime)
		if S.ackNeverArrived(&S.finAcked, R) {
			a.cs(cFinAckLost)
		}
		a.finUnanswered()
		if R.state == TimeWait { // a retransmitted FIN restarts TIME_WAIT (RFC 793 p. 73)
			R.twSince = seg.Time
			a.obs(obsTimeWaitRestarted)
		}
	default:
		a.obs(obsFinMoved) // a FIN at another sequence number than its first
	}
}

// finUnanswered: a FIN sent again and again without a single segment
// back from its receiver never reached the receiver's TCP: a live receiver
// acknowledges every copy (a duplicate FIN draws an ACK too), and a host
// next to the capture point answers within its round trip. Its silence
// means something dropped the FIN on the way (a firewall after the capture
// point); the receiver's state does not advance on it. (The receiver's
// answers could also have been lost on a path that drops them all; nothing
// shows they were sent, and a receiver that later acknowledges the FIN is
// taken to have received it after all.)
func (a *arrival) finUnanswered() {
	S, R := a.S, a.R
	if S.finRtx < 2 || !R.peerFin || R.lastSent >= S.finTime || !R.Sent() {
		return
	}
	R.peerFin = false
	a.cr(cFinUnanswered)
}

// firstFIN records the sender's FIN at sequence number fin.
func (a *arrival) firstFIN(fin seqnum.Value) {
	S, R, seg := a.S, a.R, a.seg
	S.finSent, S.finSeq, S.finTime, S.finLast = true, fin, seg.Time, seg.Time
	S.finAck = seg.Ack
	// Its FIN came first unless it acknowledges the peer's FIN.
	S.finFirst = !(R.finSent && covers(seg.Ack, R.finSeq))
	a.cs(cFinSent)
	if R.ackValid && R.ack == fin.Add(1) {
		// The peer acknowledged this FIN before it passed the capture
		// point (reordered on the way): it was received, and a FIN the
		// peer sent with that acknowledgment answered it.
		S.finAcked = true
		a.cs(cFinAcked)
		if R.finSent && R.finFirst && covers(R.finAck, fin) {
			R.finFirst = false
		}
	}
	if !R.peerFin {
		R.peerFin = true
		a.cr(cPeerFin)
	}
}

// blackHoleProofs is how many retransmissions after an acknowledgment was
// seen — each a proof that it never arrived — make the path a black hole
// for that acknowledgment: a repeat of it is no longer believed.
const blackHoleProofs = 1

// synAckWindow: Linux retransmits a SYN-ACK tcp_synack_retries (5) times,
// 1+2+4+8+16 s after the first, and drops the request 32 s later.
const synAckWindow = int64(64 * time.Second)
