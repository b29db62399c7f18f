package tracker

import (
	"fmt"
	"time"
)

// minRTO is Linux's smallest retransmission timeout (TCP_RTO_MIN). Copies
// of a segment closer together than that, from timers, do not happen: they
// are duplicates made by the capture, or a trace with rewritten times, and
// are no evidence of loss.
const minRTO = int64(200 * time.Millisecond)

// pass says when detectors run and what they may report.
type pass struct {
	// counts: also the findings that count retransmissions and say
	// "never answered" (unacked_fin, half_open into silence). They run only
	// from timers and at the end of input, never just before a segment is
	// applied: that segment may be the answer.
	counts bool
	// live: the wire may still answer; "never answered" is said only once
	// the next retransmission was surely due (nextRtxDue) without one.
	live bool
	// skip: kinds not to report, by side (already found), so that a
	// finding's sentence is not formatted again for every packet.
	skip [2]uint32
}

func (p pass) wants(k Kind, s Side) bool { return p.skip[s]&(1<<k) == 0 }

// grace is how long after the last retransmission, whose gap from the one
// before was gap, an answer may still come.
func (p pass) grace(gap int64) int64 {
	if !p.live {
		return 0
	}
	return nextRtxDue(gap)
}

// detectClose finds connections stuck while closing (RFC 793 §3.5):
//
//   - close_wait_stuck: a side received the peer's FIN but has not sent its
//     own for longer than Stuck and sent no data meanwhile: its
//     application never called close(). A side still sending data while
//     half-closed is not stuck (the clock restarts with each data segment).
//   - fin_wait_2_stuck: the mirror image: a side whose FIN was acknowledged
//     has waited longer than Stuck for the peer's FIN while the peer sent
//     nothing.
//   - unacked_fin: a side's FIN was retransmitted FinRetransmits times, over
//     at least minRTO, and is still unacknowledged (FIN_WAIT_1, CLOSING or
//     LAST_ACK).
func detectClose(c *Conn, now int64, th *Thresholds, p pass, out []Anomaly) []Anomaly {
	stuck := int64(th.Stuck)
	for s := Client; s <= Server; s++ {
		h, peer := &c.half[s], &c.half[s.Peer()]
		state := finJudgedIn(h)
		switch state {
		case CloseWait:
			if idle := now - max(h.since, h.lastData); idle > stuck && p.wants(CloseWaitStuck, s) {
				out = append(out, closeWaitStuck(c, s, now, idle, stuck))
			}
		case FinWait2:
			// A peer in CLOSE_WAIT is the cause: its close_wait_stuck says so.
			if idle := now - max(h.since, peer.lastData); idle > stuck && p.wants(FinWait2Stuck, s) && peer.state != CloseWait {
				out = append(out, Anomaly{Kind: FinWait2Stuck, rule: ruleFinWait2, Side: s, HasSide: true, Time: h.since,
					Detail: fmt.Sprintf("%s has waited %s in FIN_WAIT_2 for the %s to close its half",
						endpoint(c, s), secs(now-h.since), s.Peer()),
					Fields: map[string]any{"seconds_stuck": seconds(now - h.since), "seconds_idle": seconds(idle)}})
			}
		case FinWait1, Closing, LastAck:
			if p.wants(UnackedFin, s) && finUnacked(h, th, p, now) {
				a := Anomaly{Kind: UnackedFin, rule: ruleUnackedFin, Side: s, HasSide: true, Time: h.finTime,
					Detail: fmt.Sprintf("%s retransmitted its FIN %d times and it was never acknowledged (%s)",
						endpoint(c, s), h.finRtx, finFate(h, now)),
					Fields: finFields(h, state, now)}
				if silentSinceFIN(c, s, th, p, now) {
					// The peer's silence is the cause: one finding, naming it.
					a.Detail += fmt.Sprintf("; not one segment came back from the %s since: it is gone or the path is black-holed", s.Peer())
					a.Also = []Kind{HalfOpen}
				}
				out = append(out, a)
			}
		}
	}
	return out
}

// finUnacked reports whether h's FIN was retransmitted enough, for long
// enough, to be unacked_fin.
func finUnacked(h *Half, th *Thresholds, p pass, now int64) bool {
	return p.counts && int(h.finRtx) >= th.FinRetransmits && h.finLast-h.finTime >= minRTO && now-h.finLast >= p.grace(h.rtxGap)
}

// finJudgedIn is the state side h's closing is judged in: the one it gave
// up in when it gave up its FIN, or stopped sending it (dataAbandoned),
// unacknowledged, FIN_WAIT_1; else the state it is in.
func finJudgedIn(h *Half) State {
	if (h.gaveUp || h.cutOff) && h.finSent && !h.finAcked {
		return FinWait1
	}
	return h.state
}

// finIntoSilence reports whether side s's retransmissions into silence
// (half_open's) are those of its FIN, which is unacked_fin: that finding
// names the silence (Also: half_open), which is no finding of its own.
func finIntoSilence(c *Conn, s Side, th *Thresholds, p pass, now int64) bool {
	h := &c.half[s]
	switch finJudgedIn(h) {
	case FinWait1, Closing, LastAck:
		return finUnacked(h, th, p, now) && silentSinceFIN(c, s, th, p, now)
	}
	return false
}

// silentSinceFIN reports whether side s retransmitted into silence
// (intoSilence) from its FIN on.
func silentSinceFIN(c *Conn, s Side, th *Thresholds, p pass, now int64) bool {
	h := &c.half[s]
	return h.finSent && h.silentSince >= h.finTime && intoSilence(c, s, th, p, now)
}

// closeWaitStuck is the finding for side s stuck in CLOSE_WAIT. A peer it
// leaves waiting in FIN_WAIT_2 is the consequence, named in the sentence
// (and, past the same threshold, in Also as fin_wait_2_stuck).
func closeWaitStuck(c *Conn, s Side, now, idle, stuck int64) Anomaly {
	h, peer := &c.half[s], &c.half[s.Peer()]
	a := Anomaly{Kind: CloseWaitStuck, rule: ruleCloseWait, Side: s, HasSide: true, Time: h.since,
		Detail: fmt.Sprintf("%s has not closed %s after the %s's FIN — its application never called close()",
			endpoint(c, s), secs(now-h.since), s.Peer()),
		Fields: map[string]any{"seconds_stuck": seconds(now - h.since), "seconds_idle": seconds(idle), "peer_state": peer.state.String()}}
	if peer.state == FinWait2 {
		a.Detail += fmt.Sprintf("; %s is left in FIN_WAIT_2 waiting for it (%s)", endpoint(c, s.Peer()), secs(now-peer.since))
		a.Fields["peer_seconds_waiting"] = seconds(now - peer.since)
		if now-max(peer.since, h.lastData) > stuck {
			a.Also = []Kind{FinWait2Stuck}
		}
	}
	return a
}

// leftCloseWait brings the close_wait_stuck finding of side s up to date
// as s leaves CLOSE_WAIT at at: it was stuck until then, and is no longer.
// Its sentence would otherwise say it never closed, with the figures of
// when it was made (live, as soon as the threshold passed); the end of
// input, which brings the findings of sides still stuck up to date, no
// longer judges it. With its FIN its application closed late; otherwise
// (an RST, a new connection on the 4-tuple: why) it did not close at all.
// If the peer's FIN turns out never to have arrived, the finding was
// wrong, and is withdrawn.
func (t *Tracker) leftCloseWait(c *Conn, s Side, at int64, why cause) {
	if why&(cPeerFinLost|cFinUnanswered) != 0 {
		t.withdraw(c, CloseWaitStuck, s) // the peer's FIN never arrived: it was never in CLOSE_WAIT
		return
	}
	a := t.listedFinding(c.ID, CloseWaitStuck, s, ruleCloseWait)
	if a == nil {
		return // not listed (beyond MaxAnomalies)
	}
	h, peer := &c.half[s], &c.half[s.Peer()]
	switch {
	case h.finSent:
		a.Detail = fmt.Sprintf("%s closed only %s after the %s's FIN: its application called close() that late",
			endpoint(c, s), secs(at-a.Time), s.Peer())
	default:
		a.Detail = fmt.Sprintf("%s stayed in CLOSE_WAIT %s after the %s's FIN, until %s: its application never called close()",
			endpoint(c, s), secs(at-a.Time), s.Peer(), closeWaitEnd(c, why))
	}
	fields := map[string]any{"seconds_stuck": seconds(at - a.Time), "seconds_idle": seconds(at - max(a.Time, h.lastData)),
		"peer_state": peer.state.String()}
	if _, ok := a.Fields["peer_seconds_waiting"]; ok && peer.state == FinWait2 {
		fields["peer_seconds_waiting"] = seconds(at - peer.since)
	}
	a.Fields = fields
}

// closeWaitEnd says what ended a CLOSE_WAIT its side never closed.
func closeWaitEnd(c *Conn, why cause) string {
	switch {
	case why&cReused != 0:
		return "a new connection took over the 4-tuple"
	case c.half[Client].reset || c.half[Server].reset || why&(cCutOff|cCutOffPeer) != 0:
		return "an RST ended the connection"
	}
	return "the connection ended (" + whyOf(why) + ")"
}

// finFields are unacked_fin's figures: retransmissions, how long the FIN
// has waited (until the kernel gave up, if it did), and in what state.
func finFields(h *Half, state State, now int64) map[string]any {
	wait := now - h.finTime
	switch {
	case h.gaveUp:
		wait = h.lastRtx - h.finTime
	case h.cutOff:
		wait = h.finLast - h.finTime
	}
	return map[string]any{"retransmits": int(h.finRtx), "seconds": seconds(wait), "gave_up": h.gaveUp, "state": state.String()}
}

// finFate says how long an unacknowledged FIN has been waiting, or that
// the kernel gave up on it.
func finFate(h *Half, now int64) string {
	switch {
	case h.gaveUp:
		return "the kernel gave up after " + secs(h.lastRtx-h.finTime)
	case h.cutOff: // (dataAbandoned: it stopped sending it again when due)
		return "it stopped sending it after " + secs(h.finLast-h.finTime)
	}
	return h.state.String() + " for " + secs(now-h.finTime)
}
