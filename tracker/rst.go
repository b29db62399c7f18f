package tracker

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// onRST applies an RST: accepted, it closes both ends; in the window but
// not at its edge, it only draws a challenge ACK (RFC 5961 §3.2); outside
// the window, it is ignored.
func (a *arrival) onRST() {
	S, R, seg := a.S, a.R, a.seg
	if lostData(S, R) && S.finSent && R.peerFin && !covers(R.ack, S.finSeq) {
		R.peerFin = false // the FIN lies beyond data that never arrived
		a.cr(cPeerFinLost)
	}
	switch ok, inWindow := rstAcceptable(S, R, seg); {
	case ok, a.rstAtRetransmitted():
		a.rstAccepted()
	case inWindow:
		a.obs(obsRSTChallenged)
		if seg.Seq == S.nxt && !S.reset && S.state.Synchronized() {
			// An RST at its own snd.nxt is an abort (tcp_send_active_reset):
			// its side is gone, though the peer, missing data, does not
			// take it. (A forged RST rarely hits snd.nxt exactly.)
			S.reset = true
			a.cs(cRstSent)
		}
	default:
		a.obs(obsRSTOutside)
	}
}

// rstAccepted applies an RST that the receiver accepts: both ends are
// closed, and the result says what kind of abort it was.
func (a *arrival) rstAccepted() {
	S, R, seg := a.S, a.R, a.seg
	if S.inSynSent() && seg.Seq != S.isn.Add(1) && (seg.Seq != S.isn || R.Sent()) {
		// From SYN_SENT, an RST at another sequence number answers an
		// unacceptable segment (RFC 793 p. 66: <SEQ=SEG.ACK><CTL=RST>);
		// the sender stays in SYN_SENT. One at its SYN's own sequence
		// number, to a peer that sent nothing it could answer, is its
		// sender giving up its attempt (a scanner's, crafted): it holds
		// nothing after it.
		return
	}
	if S.inSynSent() && S.pawsDropped && seg.Seq == R.lastSig.ack {
		// It answers the peer's segment it dropped for its TSecr
		// (tsecrNotSent), at that segment's ACK: still in SYN_SENT.
		return
	}
	wasOpen := R.state.Synchronized() && R.state != TimeWait
	if !S.reset {
		S.reset = true
		a.cs(cRstSent)
	}
	if R.reset || !R.synSent {
		return
	}
	R.reset = true
	a.cr(cRstRcvd)
	a.obs(obsRSTAccepted)
	switch {
	case !R.peerSyn: // SYN_SENT: refused
		a.cr(cSynAcked) // the RST acknowledged its SYN
		if !S.sentSynAck {
			a.obs(obsRefused)
		}
	case !wasOpen, S.state == TimeWait:
	case seg.Flags&ACK == 0 && R.lastData > a.prevSent && S.finSent:
		// Linux answers data that arrives after the application closed
		// its socket with a bare RST (tcp_rcv_state_process, RCV_SHUTDOWN).
		a.obs(obsAbortAfterClose)
	case seg.Flags&ACK == 0 && R.lastData > a.prevSent:
		// An RST without ACK straight after the peer's data, from a side
		// that never closed, is what a host sends for a segment of a
		// connection it does not know (tcp_v4_send_reset): it lost the
		// connection, e.g. restarted.
		a.obs(obsAbortLostState)
	default:
		a.obs(obsAbort)
	}
}

// rstAtRetransmitted reports whether the RST comes at the sequence number
// its sender's previous segment, data it had sent at least twice more into
// silence, started at: its snd.una, for a sender retransmitting on its
// timer sends its oldest unacknowledged data (RFC 6298 §5.4), which begins
// where the peer's last acknowledgment came. That acknowledgment, and what
// arrived before it, is the peer's rcv.nxt (rstAcceptable's lostData, where
// the acknowledgment was not captured: seen from one side only, or lost),
// so the peer takes the RST: the sender gave up (a user timeout, a
// give-up after its retries) and aborted. A peer seen to acknowledge more,
// or less than a segment it was sent before, is not taken to.
func (a *arrival) rstAtRetransmitted() bool {
	S, R, seg, p := a.S, a.R, a.seg, &a.prevSig
	if S.silentRtx < 2 || p.payload == 0 || p.flags&(SYN|RST) != 0 || seg.Seq != p.seq || !S.nxtValid || !p.seq.LessThan(S.nxt) {
		return false
	}
	return !R.ackValid || !p.seq.LessThan(R.ack)
}

// rstAcceptable applies RFC 793 p. 37 and RFC 5961 §3.2 as Linux does
// (tcp_validate_incoming, tcp_reset_check): in SYN_SENT an RST counts only if
// it acknowledges the SYN; otherwise its sequence number must be exactly the
// next one expected, or the one before it once the peer's FIN was received.
// An RST elsewhere in the window (inWindow) only draws a challenge ACK.
func rstAcceptable(S, R *Half, seg *Segment) (ok, inWindow bool) {
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
	switch R.state {
	case CloseWait, LastAck, Closing:
		if seg.Seq == rcvNxt-1 {
			return true, false
		}
	}
	// A receiver the capture never saw advertised no window: the RST is
	// taken as in it (challenged), not as outside it.
	inWindow = !R.Sent() || seg.Seq.InWindow(rcvNxt, R.recvWindow(S))
	if R.state == SynRcvd && inWindow {
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
