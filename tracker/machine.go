package tracker

import (
	"strings"
	"sync"
	"time"
)

// cause is a set of facts that one segment established about one side. It
// is the evidence recorded with a transition.
type cause uint64

const (
	cSynSent           cause = 1 << iota // it sent its SYN
	cSynAckSent                          // it answered a SYN with a SYN-ACK
	cPeerSyn                             // it received the peer's SYN
	cSynAcked                            // its SYN was acknowledged
	cFinSent                             // it sent its FIN
	cPeerFin                             // it received the peer's FIN
	cFinAcked                            // its FIN was acknowledged
	cRstSent                             // it sent an RST
	cRstRcvd                             // it accepted an RST
	cSynAckLost                          // it retransmitted an acknowledged SYN-ACK
	cFinAckLost                          // it retransmitted an acknowledged FIN
	cPeerSynLost                         // it retransmitted its SYN after a SYN-ACK
	cPeerFinLost                         // its ACK, sent long after the peer's FIN, does not cover it
	cRstLost                             // it retransmitted its SYN after an RST that would have closed it
	cAckHealed                           // its retransmissions stopped after the peer's repeated ACK
	cSynAckInferred                      // it acknowledged the peer's SYN-ACK, which the capture missed
	cGaveUp                              // it stopped retransmitting after the kernel's retry limit
	cRevived                             // it sent new data after an RST at its snd.nxt
	cMidstream                           // picked up mid-stream
	cExpired                             // 2×MSL ran out in TIME_WAIT
	cReused                              // the 4-tuple was reused
	cFinNotCaptured                      // the peer acknowledged one past its last byte: its FIN, not captured
	cFinWasData                          // it sent past the position taken for its FIN: that was data
	cPeerFinWasData                      // the peer sent past the position taken for its FIN: that was data
	cFinAckNotCaptured                   // its FIN was not retransmitted: the peer's ACK, not captured, arrived
	cSynAckedByData                      // it acknowledged the peer's data, which carried the ACK of its SYN
	cFinNotCapturedSeq                   // its sequence number moved one past its last byte: its FIN, not captured
	cSynAckNotCaptured                   // its SYN-ACK was not captured: the peer's ACK from SYN_SENT shows it
	cFinAckLostUnseen                    // the peer repeated its ACK of its FIN: it sent the FIN again, not captured
	cSynAckLostUnseen                    // the peer repeated its ACK of its SYN-ACK: it sent the SYN-ACK again, not captured
	cSynAbandoned                        // its SYN was not sent again when due: refused by an RST not captured, or given up
	cFinNotCapturedEnd                   // its last segments and FIN were not captured: the peer acknowledged past them and had closed
	cCutOff                              // it stopped in the middle of a write and never sent again: an RST not captured ended it
	cCutOffPeer                          // the peer stopped in the middle of a write: this side's RST, not captured, ended it
	cSynAckedBySending                   // it sent data, which a SYN_RCVD socket cannot (no Fast Open): its SYN was acknowledged
	cSynAckAckedUnseen                   // its SYN-ACK, sent again, stopped short of the kernel's limit: the last copy was acknowledged
	cFinUnanswered                       // it never answered the peer's repeated FIN: it never arrived
	cCapturedLate                        // a segment inferred as not captured was captured late (reordered)
	cFinAckDueAfterEnd                   // the input ended before its FIN's ACK was due: taken as acknowledged
	cSynCookie                           // its SYN-ACK was not sent again when due, the peer sent nothing but its SYN: a SYN cookie
	cSynAckIgnored                       // it sent nothing but its SYN and never answered the peer's SYN-ACK: no socket behind it
	cSynAckPruned                        // its SYN-ACK, sent again, then not when due, the peer sent nothing but its SYN: the request was dropped
	cNotFollowed                         // its TIME_WAIT was no longer followed (a forgotten connection's, with too many to follow): taken as over
	cFinCrossed                          // its FIN does not acknowledge the peer's FIN: that FIN had not reached it yet
	cICMPAbort                           // an ICMP error about its SYN (SYN-ACK) ended it, still opening
	cFinAgainArrived                     // the peer's FIN, sent again just before the input ended, taken as arrived
	cDataAbandoned                       // it stopped sending its data (or FIN) again into silence when the next copy was due
	cFinBeforeQuickAck                   // it acknowledged the peer's FIN at once, as only a side past its own FIN does: its FIN, not captured, ended what it sent
	cPeerFinLostUnseen                   // it sent its FIN again, not captured, well after the peer's FIN carrying the ACK of it: that FIN never arrived either
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
	"retransmitted its SYN (same ISN) after the RST or ICMP error: it never arrived, its stack retries a refused connect (Windows does), or it took the ICMP error as a soft one (Linux does while connect() holds the socket)",
	"its retransmissions stopped after the peer's repeated ACK: that ACK arrived (the path healed)",
	"acknowledged the peer's SYN-ACK, which the capture missed",
	"gave up: no retransmission after the kernel's retry limit (tcp_synack_retries, tcp_orphan_retries)",
	"sent new data after an RST at its snd.nxt: that RST was not its own",
	"first seen mid-stream; handshake assumed",
	"TIME_WAIT ended after 2×MSL",
	"4-tuple reused by a new connection",
	"its FIN was not captured: the peer's ACK one past its last byte shows it was sent",
	"it sent past the sequence number taken for its FIN: that was data, not a FIN",
	"the peer sent past the sequence number taken for its FIN: that was data, not a FIN",
	"its FIN was never retransmitted: the peer's ACK, not captured, arrived",
	"it acknowledged the peer's data, which carried the ACK of its SYN: the handshake completed",
	"its FIN was not captured: its next segment's sequence number is one past its last byte",
	"its SYN-ACK was not captured: the peer acknowledged it from SYN_SENT",
	"retransmitted its FIN, not captured: the peer's repeated ACK answered it, so the ACK seen earlier never arrived",
	"retransmitted its SYN-ACK, not captured: the peer's repeated ACK answered it, so the ACK seen earlier never arrived",
	"its SYN was not sent again when its retransmission was due, and it sent nothing else: an RST the capture missed refused it, or its connect() gave up",
	"its last segments were not captured: the peer acknowledged past them and had closed too, and nothing more came; its FIN is taken to be the last of them",
	"it stopped in the middle of a write (its last data had no PSH) and never sent again, not even a retransmission: an RST the capture missed ended the connection",
	"the peer stopped in the middle of a write and never sent again: an RST the capture missed, this side's, ended the connection",
	"it sent data, which a socket in SYN_RCVD cannot without Fast Open: its SYN was acknowledged",
	"its SYN-ACK was sent again, then not again when due, short of the kernel's limit: the ACK of its last copy arrived, though the capture missed it",
	"it never answered the peer's FIN, sent again and again: the FIN never reached it (something dropped it on the way)",
	"a segment taken as not captured was captured late: it was reordered",
	"the input ended before the ACK of its FIN was due: taken as acknowledged (its peer answers a FIN at once; the capture may have stopped too soon to show it)",
	"its SYN-ACK was not sent again when due (Linux resends it after 1 s from SYN_RCVD) and the peer sent nothing but its SYN: a stateless answer (a SYN cookie); it holds no socket",
	"it sent nothing but its SYN and never answered the peer's SYN-ACK, nor sent its SYN again when due: no socket behind it (a spoofed source), or its connect() gave up",
	"its SYN-ACK was sent again, then not again when due, and the peer sent nothing but its SYN: the listener dropped the request (pruned under a full SYN queue, or out of retries)",
	"its TIME_WAIT was no longer followed: taken as over, with too many TIME_WAITs of connections no longer kept to follow them",
	"its FIN does not acknowledge the peer's FIN, which had not reached it yet: the FINs crossed",
	"an ICMP error quoting its SYN (or SYN-ACK) ended it: Linux drops a connection still opening on one",
	"received the peer's FIN, sent again just before the input ended: the first never arrived, nothing says this one did not",
	"it stopped sending again into silence (its data or FIN) when the next copy was due: it gave up (tcp_retries2, TCP_USER_TIMEOUT, tcp_orphan_retries) or an RST the capture missed ended it",
	"its FIN was not captured: it acknowledged the peer's FIN at once, as Linux does only past its own FIN (from ESTABLISHED it delays that ACK by 40 ms or more), so what the capture missed of it ended with its FIN",
	"it sent its FIN again (not captured) a round trip after the peer's FIN, which carried the ACK of it, should have reached it: it never received that ACK, so that FIN never arrived either",
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
	case h.reset, h.reused, h.gaveUp, h.synAbandoned, h.cutOff, !h.synSent, h.stateless && !h.synAcked:
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
func (h *Half) retransmitted(at, orig int64) {
	switch {
	case h.lastRtx != 0:
		h.rtxGap = at - h.lastRtx
	case orig != 0 && orig < at:
		h.rtxGap = at - orig // the first: its gap from the original
	}
	h.lastRtx = at
	h.heldAck = 0
}

// heal judges a side's silence at time now, after its latest FIN or
// retransmission of a SYN-ACK or FIN; final says no segment can come any
// more (end of input). It returns the fact established, if any, with when
// and on which packet (0: none, inferred from time).
//
//   - Silence after the last retransmission Linux makes means it gave up
//     and dropped the connection.
//   - On a black-holed path (lostAcks ≥ blackHoleProofs) a repeat of the lost ACK is not
//     believed (onACK); when the side then stops retransmitting for longer
//     than twice its last backoff, that ACK did arrive: the path healed.
//   - Otherwise a FIN not retransmitted was acknowledged (finAckedUnseen).
func (h *Half) heal(peer *Half, now int64, final bool) (why cause, at int64, pkt uint64) {
	if why, at := h.synSilent(peer, now, final); why != 0 {
		return why, at, 0
	}
	if at := h.synCookie(peer, now); at != 0 {
		return cSynCookie, at, 0
	}
	if h.lastRtx == 0 || now-h.lastRtx <= nextRtxDue(h.rtxGap) {
		return h.finAckedUnseen(peer, now, final)
	}
	if h.sentSynAck && !h.synAcked && max(int(h.synRtx), synAckRetryOfGap(h.rtxGap)) >= synAckRetries ||
		h.finSent && !h.finAcked && h.finRtx >= orphanFinRetries {
		if h.gaveUp {
			return 0, 0, 0
		}
		h.gaveUp = true
		return cGaveUp, h.lastRtx + nextRtxDue(h.rtxGap), 0
	}
	if h.heldAck == 0 || h.lostAcks < blackHoleProofs {
		if h.sentSynAck && !h.synAcked && h.synRtx > 0 && !h.reset && peer.synSent && (peer.ackValid || !peer.Sent()) {
			// Its SYN-ACK sent again, then not again when due, short of
			// the kernel's limit: the last copy was acknowledged (the
			// capture missed that ACK, or never saw the client at all).
			// Not so for a client seen to send nothing but its SYN: a
			// spoofed source never answers, and a listener under a flood
			// stops retransmitting early (it prunes old requests).
			h.synAcked = true
			return cSynAckAckedUnseen, min(h.lastRtx+peer.rtt, now), 0
		}
		if h.sentSynAck && !h.synAcked && h.synRtx > 0 && !h.reset && peer.onlySYN(h) {
			// A request socket retransmits until it is acknowledged or
			// dropped; under a full queue Linux keeps old ones for two
			// retransmissions only (reqsk_timer_handler).
			h.gaveUp = true
			return cSynAckPruned, h.lastRtx + nextRtxDue(h.rtxGap), 0
		}
		return h.finAckedUnseen(peer, now, final)
	}
	at, pkt = h.heldAck, h.heldAckPkt
	h.heldAck = 0 // lostAcks is kept: a later retransmission proves the loss again
	h.reclaimAcks(peer)
	return cAckHealed, at, pkt
}

// synAckRetryOfGap is which retransmission of a SYN-ACK came after a gap
// of gap since the one before: Linux's timeouts double from one second
// (1, 2, 4, 8, 16 s), so a capture that missed some copies still tells
// how far the backoff went.
func synAckRetryOfGap(gap int64) int {
	n := 1
	for step := synTimeoutInit; n < 8 && gap >= step+step/2; step *= 2 {
		n++
	}
	return n
}

// delAckMax is Linux's longest delayed ACK (TCP_DELACK_MAX): a FIN that
// moves its receiver to CLOSE_WAIT is acknowledged late (pingpong mode,
// tcp_fin), so that the application's FIN can carry the ACK.
const delAckMax = int64(200 * time.Millisecond)

// synTimeoutInit is Linux's first SYN retransmission timeout
// (TCP_TIMEOUT_INIT); later ones double.
const synTimeoutInit = int64(time.Second)

// synSilent: a side in SYN_SENT that does not send its SYN again by the
// time its next retransmission was surely due got an answer, or stopped
// trying: a SYN-ACK would have drawn its ACK, so the answer was an RST the
// capture missed (connection refused), or its connect() gave up. Either
// way it holds no connection.
//
// So does a side that sent nothing but its SYN and never answered the
// peer's SYN-ACK: a live socket acknowledges it at once (a spoofed source
// never does). When the input ends before its SYN was due again, a SYN-ACK
// sent more than TCP_RTO_MIN before the end and never answered is taken to
// have found no socket, as a FIN never retransmitted is taken as
// acknowledged (finAckedUnseen): the first SYN-ACK counts, however late a
// copy came (a SYN sent again after it, which shows it lost, keeps h in
// SYN_SENT: synAckBlackHoled).
func (h *Half) synSilent(peer *Half, now int64, final bool) (cause, int64) {
	why := cSynAbandoned
	if !h.inSynSent() {
		why = cSynAckIgnored
	}
	if why == cSynAckIgnored && (!h.onlySYN(peer) || !h.peerSyn) || h.reset || h.synAbandoned {
		return 0, 0
	}
	gap := h.rtxGap
	if h.synRtx == 0 {
		gap = synTimeoutInit / 2 // the first timeout is TCP_TIMEOUT_INIT, as after a gap of half that
	}
	due := nextRtxDue(gap)
	if h.linearSyns() {
		due = gap + gap/10 + minRTO // (the next one as far after as those before)
	}
	at := h.lastSent + due
	if now-h.lastSent <= due {
		if why != cSynAckIgnored || !final || now-peer.synTime <= minRTO {
			return 0, 0
		}
		at = now
	}
	h.synAbandoned = true
	return why, at
}

// synLinearTimeouts is how many of its first SYN retransmissions Linux
// sends at a constant timeout before it doubles (tcp_syn_linear_timeouts,
// 4 since Linux 6.7: 1 s apart).
const synLinearTimeouts = 4

// linearSyns reports whether h, in SYN_SENT, sent its SYN again at least
// twice, evenly spaced (within a tenth), fewer times than Linux keeps its
// timeout constant: the next copy is due as far after as those before.
func (h *Half) linearSyns() bool {
	n := int64(h.synRtx)
	if n < 2 || n >= synLinearTimeouts || h.rtxGap < minRTO {
		return false
	}
	d := h.lastRtx - h.synTime - n*h.rtxGap
	return max(d, -d) <= h.rtxGap/10
}

// onlySYN reports whether the side, an active opener, sent nothing but its
// SYN (and copies of it), as far as the capture and the peer show: a peer
// whose SYN it acknowledged, or that acknowledged data of it, heard more
// from it than the capture did.
func (h *Half) onlySYN(peer *Half) bool {
	return h.synSent && h.synSeen && !h.sentSynAck && !h.ackValid && !h.reset && !h.finSent &&
		h.packets == uint64(h.synRtx)+1 && !peer.synAcked && !(peer.ackValid && h.synEnd.LessThan(peer.ack))
}

// cookieDue is how long after a SYN-ACK a stateful listener surely sends it
// again if it is not acknowledged: TCP_TIMEOUT_INIT (1 s), a little late.
var cookieDue = nextRtxDue(synTimeoutInit / 2)

// synCookie: a SYN-ACK never sent again by the time a request socket would
// surely have resent it, to a peer that sent nothing but its SYN, was a
// stateless answer. Linux answers with a SYN cookie when its SYN queue is
// full (tcp_syncookies=1): the cookie encodes the connection in the ISN,
// and nothing is kept until the ACK that returns it. Such a side holds no
// socket; it returns when that became evident, 0 if not (yet).
func (h *Half) synCookie(peer *Half, now int64) int64 {
	if !h.sentSynAck || !h.synSeen || h.synAcked || h.synRtx != 0 || h.stateless || h.reset || h.finSent ||
		!peer.onlySYN(h) || now-h.synTime <= cookieDue {
		return 0
	}
	h.stateless = true
	return h.synTime + cookieDue
}

// midWriteSilent: a side whose last segment was data in the middle of a
// write (no PSH, and the peer acknowledged nothing past it) sends the rest
// as acknowledgments open the window; if they stop, it retransmits, and a
// closed window draws its window probes. One that sends nothing at all for
// longer than a retransmission was surely due no longer has the
// connection: an RST the capture missed ended it, and the peer that sent
// it holds nothing either. It returns the causes for h and the peer.
func midWriteSilent(h, peer *Half, now int64) (hc, pc cause, at int64) {
	if !h.midWrite || h.lastData != h.lastSent || h.reset || h.cutOff || h.finSent || peer.reset ||
		!h.state.Synchronized() || peer.ackValid && h.sentValid && h.sent.LessThan(peer.ack) {
		return 0, 0, 0
	}
	due := nextRtxDue(max(h.rtt+peer.rtt, minRTO))
	if h.silentRtx > 0 {
		due = max(due, nextRtxDue(h.silentGap))
	}
	if now-h.lastSent <= due {
		return 0, 0, 0
	}
	h.cutOff, peer.cutOff = true, true
	return cCutOff, cCutOffPeer, h.lastSent + due
}

// dataAbandoned: a side sending its data again and again into silence (the
// peer, seen before, silent since its first copy) retransmits until the
// peer answers, its kernel gives up (tcp_retries2, TCP_USER_TIMEOUT: Linux
// sends no RST then) or an RST ends it. One that did not send again when
// its next copy was surely due, the timeout doubling, had stopped: it
// holds no connection, whichever it was (cutOff, alone: the peer, which
// never heard from it again, is as it was; it is revived if it sends
// again). Its FIN too, sent again into silence since it went.
func dataAbandoned(h, peer *Half, now int64) (cause, int64) {
	if h.silentRtx < 2 || h.reset || h.cutOff || h.gaveUp || peer.reset || !peer.Sent() || !h.state.Synchronized() {
		return 0, 0
	}
	switch {
	case !h.finSent && h.lastData == h.lastSent:
	case h.finSent && !h.finAcked && h.silentSince >= h.finTime && h.finLast == h.lastSent:
		// Its FIN, into silence: an orphan's retries (tcp_orphan_retries)
		// may be fewer than heal counts on.
	default:
		return 0, 0
	}
	due := nextRtxDue(h.silentGap)
	if now-h.lastSent <= due {
		return 0, 0
	}
	h.cutOff = true
	return cDataAbandoned, h.lastSent + due
}

// finAckedUnseen: silence proves delivery. Linux acknowledges a FIN the
// moment it arrives, and a sender whose FIN is not acknowledged sends it
// again within its retransmission timeout (TCP_RTO_MIN and the round trip,
// or twice its last backoff). A FIN the peer received (as far as the
// evidence goes) that was not sent again for longer than that was
// acknowledged, though the capture missed the ACK. When the input ended
// before the timeout could tell, a FIN never retransmitted is taken as
// acknowledged all the same: the peer answers at once, and nothing says
// its answer was lost.
func (h *Half) finAckedUnseen(peer *Half, now int64, final bool) (cause, int64, uint64) {
	if !h.finSent || h.finAcked || h.lostAcks >= blackHoleProofs || h.reset || h.gaveUp || !peer.peerFin || peer.reset {
		return 0, 0, 0
	}
	due := nextRtxDue(h.rtxGap)
	// Its ACK cannot have passed the capture point sooner than the peer's
	// round trip, plus a delayed ACK when the FIN found the peer
	// ESTABLISHED (tcp_fin enters pingpong mode).
	soonest := peer.rtt
	if !peer.finSent {
		soonest += delAckMax
	}
	waited := now-h.finLast > max(due, soonest)
	if !waited && !(final && h.finRtx == 0) {
		return 0, 0, 0
	}
	h.finAcked = true
	if !waited && now-h.finLast <= soonest {
		// The input ended before its ACK could have come: nothing was
		// missed, and nothing says the peer, which answers a FIN at once,
		// did not.
		return cFinAckDueAfterEnd, now, 0
	}
	return cFinAckNotCaptured, min(h.finLast+peer.rtt, now), 0
}

// endFIN judges at the end of input a side whose last segments the
// capture missed: the peer acknowledged past what it was seen to send, by
// two or more (one is the FIN rule of ackedUnseen), with nothing seen of it
// since, and the peer had closed as well. The FIN is taken to be the last
// of what the peer acknowledged (a FIN sent with the last data, as Linux
// does when the application closes with data queued): a connection both
// ends were closing, with nothing more from either, ended. (A side never
// seen gives no such evidence: that the peer acknowledged more of it after
// its own FIN fits a half-close just as well as a side still sending in
// CLOSE_WAIT.) It returns the causes for h and for the peer, and when.
func endFIN(h, peer *Half) (hc, pc cause, at int64) {
	if h.finSent || h.reset || h.gaveUp || !h.peerSyn || !peer.ackValid || !peer.finSent || peer.reset || peer.ackTime == 0 {
		return 0, 0, 0
	}
	if !h.sentValid || !h.sent.Add(1).LessThan(peer.ack) || h.lastSent >= peer.ackTime {
		return 0, 0, 0
	}
	// It answered the peer's FIN if that was sent before the peer
	// acknowledged it, and arrived.
	pc = h.takeAckedFIN(peer, peer.ack-1, peer.ackTime, h.peerFin && peer.finTime < peer.ackTime)
	return cFinSent | cFinAcked | cFinNotCapturedEnd, pc, peer.ackTime
}

// finAgainAtEnd judges at the end of input (now) a side h whose FIN the
// peer showed it never received, sent again once, so shortly before the
// end that the peer's answer could not have passed the capture point yet,
// while the peer was still sending (its segments after h's first FIN): the
// copy is taken to have arrived, and been acknowledged, as a FIN never
// sent again is (finAckedUnseen). One lost FIN says nothing of the next; a
// FIN sent again and again unanswered (finUnanswered) does, and is left.
// It returns the causes for h and for the peer, and when.
func finAgainAtEnd(h, peer *Half, now int64) (hc, pc cause, at int64) {
	if !h.finSent || h.finAcked || h.finRtx != 1 || peer.peerFin || h.reset || peer.reset || h.gaveUp || peer.gaveUp ||
		peer.lastSent <= h.finTime || peer.rtt == 0 || now-h.finLast > peer.rtt {
		return 0, 0, 0
	}
	peer.peerFin, h.finAcked = true, true
	return cFinAckDueAfterEnd, cFinAgainArrived, h.finLast
}

// expire ends a TIME_WAIT that has lasted 2×MSL (twLen) by now, and
// returns when it ended.
func (h *Half) expire(now, twLen int64) (why cause, at int64) {
	if h.state != TimeWait || now-h.twSince < twLen {
		return 0, 0
	}
	h.twExpired = true
	return cExpired, h.twSince + twLen
}

// synchronize marks an endpoint picked up mid-stream as past its handshake.
func (h *Half) synchronize() {
	h.synSent, h.peerSyn, h.synAcked = true, true, true
}
