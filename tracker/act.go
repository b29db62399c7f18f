package tracker

import (
	"fmt"
	"math"
)

// update applies one segment, sent by side s, to the connection: the core
// (apply) changes the two halves, and update turns what it returns into
// counts, findings, timers, flood statistics and transitions.
func (t *Tracker) update(c *Conn, seg *Segment, s Side) {
	c.zeek.Observe(seg.Zeek(s == Client))
	c.Last = max(c.Last, seg.Time) // the latest: a capture's clock may step back
	res := apply(&c.half[s], &c.half[s.Peer()], seg)
	if res.Obs != 0 {
		t.observed(c, s, seg, &res)
	}
	t.settle(c, s, seg.Time, seg.Packet, res.Snd)
	t.settle(c, s.Peer(), seg.Time, seg.Packet, res.Rcv)
	if c.flood != nil && c.half[Server].synAcked {
		t.floodCompleted(c)
	}
}

// observed acts on what a segment showed: counters, findings, timers.
func (t *Tracker) observed(c *Conn, s Side, seg *Segment, res *Result) {
	o := res.Obs
	if o&obsZeroWindowEnded != 0 && res.ZeroTo-res.ZeroFrom > int64(t.th.Stuck) {
		if !c.hasFinding(ZeroWindow, s) {
			t.emit(c, zeroWindowFinding(c, s, res.ZeroFrom, res.ZeroTo))
		} else {
			t.windowOpened(c, s, res.ZeroFrom, res.ZeroTo) // detect_path.go
		}
	}
	c.count(o)
	if o&obsGap != 0 {
		c.NotCaptured++
	}
	if o&obsGapFilled != 0 && c.NotCaptured > 0 {
		c.NotCaptured--
	}
	switch {
	case o&obsInvalidFlags != 0:
		t.emitOnce(c, InvalidFlags, s, seg.Time, func() (string, map[string]any) {
			return endpoint(c, s) + " sent a segment with " + flagProblem(seg.Flags), map[string]any{"flags": seg.Flags.String()}
		})
	case o&obsRSTOutside != 0 && seg.Flags&ACK != 0 && c.half[s.Peer()].inSynSent():
		t.emitOnce(c, BadSequence, s, seg.Time, func() (string, map[string]any) {
			want := c.half[s.Peer()].isn.Add(1)
			return fmt.Sprintf("%s sent an RST acknowledging %d, not the %s's ISN+1 (%d): in SYN_SENT it is ignored (RFC 793 p. 66)", endpoint(c, s), seg.Ack, s.Peer(), want),
				map[string]any{"reason": "rst_wrong_ack", "ack": uint32(seg.Ack), "expected": uint32(want)}
		})
	case o&obsRSTOutside != 0:
		t.emitOnce(c, BadSequence, s, seg.Time, func() (string, map[string]any) {
			return fmt.Sprintf("%s sent an RST with sequence number %d, outside the %s's window", endpoint(c, s), seg.Seq, s.Peer()),
				map[string]any{"reason": "rst_outside_window", "seq": uint32(seg.Seq)}
		})
	case o&obsPAWSRejected != 0:
		t.emitOnce(c, BadSequence, s, seg.Time, func() (string, map[string]any) {
			syn := c.half[s.Peer()].synTSVal
			return fmt.Sprintf("%s sent %s echoing TSecr %d, no timestamp the %s sent (its SYN's TSval is %d): in SYN_SENT it is dropped (PAWS)",
					endpoint(c, s), segmentNoun(seg), seg.TSEcr, s.Peer(), syn),
				map[string]any{"reason": "paws_rejected", "tsecr": seg.TSEcr, "syn_tsval": syn}
		})
	case o&obsSynAckWrongAck != 0:
		t.emitOnce(c, BadSequence, s, seg.Time, func() (string, map[string]any) {
			want := c.half[s.Peer()].isn.Add(1)
			return fmt.Sprintf("%s's SYN-ACK acknowledges %d, not the %s's ISN+1 (%d)", endpoint(c, s), seg.Ack, s.Peer(), want),
				map[string]any{"reason": "synack_wrong_ack", "ack": uint32(seg.Ack), "expected": uint32(want)}
		})
	case o&obsSynAckOtherISN != 0:
		t.emitOnce(c, BadSequence, s, seg.Time, func() (string, map[string]any) {
			return fmt.Sprintf("%s sent a second SYN-ACK with another ISN (%d, first %d)", endpoint(c, s), seg.Seq, c.half[s].isn),
				map[string]any{"reason": "synack_other_isn", "isn": uint32(seg.Seq), "first_isn": uint32(c.half[s].isn)}
		})
	}
	if o&obsOpened != 0 && !c.Midstream && s == Client && !t.takeOverDropped(c) { // (evictedsyn.go)
		t.flood.opened(c)
	}
	if o&obsSynCapturedLate != 0 && c.Midstream && c.half[Server].packets == 1 {
		// First seen at its SYN-ACK, its SYN now seen too: not picked up
		// mid-stream after all. Its handshake is followed as any.
		c.Midstream = false
		t.handshakes.push(timerOf(c, seg.Time+int64(t.th.HandshakeTimeout)))
	}
	if o&obsRefused != 0 {
		if c.refusedAt == 0 {
			c.refusedAt = seg.Time
		}
		if c.refusals < math.MaxUint16 {
			c.refusals++
		}
	}
	t.aborted(c, s, seg, o)
	if o&obsRSTAccepted != 0 && c.flood != nil {
		if o&obsRefused != 0 {
			t.floodRefused(c) // answered: the server holds nothing
		} else {
			t.floodFailed(c, c.First)
		}
	}
	if o&obsTimeWaitRestarted != 0 {
		t.timeWaits.push(timerOf(c, seg.Time+t.twLen))
	}
}

// count adds a segment's observations to the connection's counters.
func (c *Conn) count(o observation) {
	switch {
	case o&obsDuplicate != 0:
		c.Duplicates++
	case o&obsInvalidFlags != 0:
		c.Invalid++
	case o&obsRSTOutside != 0:
		c.BadRST++
	case o&obsRSTChallenged != 0:
		c.ChallengedRST++
	case o&obsKeepalive != 0:
		c.Keepalives++
	case o&obsZeroWindowProbe != 0:
		c.ZeroWindowProbes++
	case o&(obsUnacceptableAck|obsSynAckWrongAck|obsSynAckOtherISN|obsFinMoved|obsPAWSRejected) != 0:
		c.BadSeq++
	}
}

// aborted makes the finding for an RST that aborted a connection.
func (t *Tracker) aborted(c *Conn, s Side, seg *Segment, o observation) {
	switch {
	case o&obsAbortAfterClose != 0:
		t.emit(c, Anomaly{Kind: Reset, Side: s, HasSide: true, Time: seg.Time,
			Detail: fmt.Sprintf("%s reset the connection: the %s's data arrived after it had closed", endpoint(c, s), s.Peer()),
			Fields: map[string]any{"reason": "data_after_close", "seconds_open": seconds(seg.Time - c.First)}})
	case o&obsAbortLostState != 0:
		// The abort is the consequence: reported within it (Also).
		t.emit(c, Anomaly{Kind: HalfOpen, Side: s, HasSide: true, Time: seg.Time, Also: []Kind{Reset},
			Detail: fmt.Sprintf("%s answered the %s's data with RST: it no longer knows the connection (restarted or lost its state), or a firewall before it rejected the data with a reset; the connection is aborted",
				endpoint(c, s), s.Peer()),
			Fields: map[string]any{"reason": "peer_lost_state"}})
	case o&obsAbort != 0:
		t.emit(c, abortFinding(endpoint(c, s), s, seg.Time, c.First))
	}
}

// abortFinding is the finding for side s, named who, aborting at at with
// an RST a connection that began at first: of a connection followed
// (aborted), or of one forgotten (forgottenReset).
func abortFinding(who string, s Side, at, first int64) Anomaly {
	return Anomaly{Kind: Reset, Side: s, HasSide: true, Time: at,
		Detail: fmt.Sprintf("%s aborted the connection with RST after %s", who, secs(at-first)),
		Fields: map[string]any{"reason": "abort", "seconds_open": seconds(at - first)}}
}

// emitOnce makes a finding of kind k for side s unless that side has one
// already, formatting its sentence only then: a repeated offence costs
// nothing on the packet path.
func (t *Tracker) emitOnce(c *Conn, k Kind, s Side, at int64, detail func() (string, map[string]any)) {
	if !c.hasFinding(k, s) {
		d, f := detail()
		t.emit(c, Anomaly{Kind: k, Side: s, HasSide: true, Time: at, Detail: d, Fields: f})
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

// settle re-derives one side's state after its facts changed and records
// the transition, if any, with its causes. It is the only place a state is
// set: every state is derive's.
func (t *Tracker) settle(c *Conn, s Side, at int64, pkt uint64, why cause) {
	if why == 0 {
		return // no fact changed: every change of a fact records its cause
	}
	c.countInferred(why)
	h := &c.half[s]
	to := h.derive()
	if to == h.state {
		return
	}
	if h.state == CloseWait && to == Closing {
		// Its FIN does not acknowledge the peer's FIN, which it was taken
		// to have received (CLOSE_WAIT): it sent its FIN before that FIN
		// reached it, and received it after: the FINs crossed. Told as
		// the two steps it took.
		t.enter(c, s, FinWait1, at, pkt, why|cFinCrossed)
		why = cPeerFin
	}
	t.enter(c, s, to, at, pkt, why)
}

// enter moves side s of c to state to, at capture time at on packet pkt
// (0: none) for the reasons why, and records and tells the transition.
func (t *Tracker) enter(c *Conn, s Side, to State, at int64, pkt uint64, why cause) {
	h := &c.half[s]
	at = max(at, h.since) // (an inference dated back never goes before the side's last change)
	tr := trans{time: at, packet: pkt, side: s, from: h.state, to: to, why: why}
	h.state = to
	h.since = at
	if to == TimeWait {
		h.twSince = at
		t.timeWaits.push(timerOf(c, at+t.twLen))
	}
	if s == Client && (to == TimeWait) != (tr.from == TimeWait) && !c.Midstream && (to == TimeWait || c.inTable) {
		t.twCount(c, at, to == TimeWait) // (a retired one left when it was retired)
	}
	if c.half[0].state == Closed && c.half[1].state == Closed {
		t.closed.push(timerOf(c, c.Last+t.twLen))
	}
	if tr.from == CloseWait && c.hasFinding(CloseWaitStuck, s) {
		t.leftCloseWait(c, s, at, why) // detect_close.go
	}
	if tr.from == FinWait2 && why&(cFinAckLost|cFinAckLostUnseen) != 0 {
		t.withdraw(c, FinWait2Stuck, s) // the ACK of its FIN never arrived: it was never in FIN_WAIT_2
	}
	c.addTransFrom(tr, &t.spares)
	if t.cfg.OnTransition != nil {
		t.cfg.OnTransition(c, tr.public())
	}
}

// notCapturedCauses are the facts that show a segment the capture missed;
// inferredCauses also those that take such an inference back, or infer
// a segment counted otherwise (a FIN with the data of a gap).
const (
	notCapturedCauses = cFinNotCaptured | cFinNotCapturedSeq | cSynAckNotCaptured | cFinAckNotCaptured |
		cFinAckLostUnseen | cSynAckLostUnseen | cFinNotCapturedEnd | cCutOff | cSynAckAckedUnseen
	inferredCauses = notCapturedCauses | cSynAckInferred | cFinWasData | cPeerFinWasData | cCutOffPeer | cSynAbandoned |
		cFinAckDueAfterEnd | cCapturedLate | cSynCookie | cSynAckIgnored | cSynAckPruned |
		cFinBeforeQuickAck | // (its FIN came with the data of a gap, counted as missed)
		cPeerFinLostUnseen
)

// countInferred counts the segments a side's new facts show the capture
// missed (and takes back an inferred FIN that was data).
func (c *Conn) countInferred(why cause) {
	if why&notCapturedCauses != 0 {
		c.NotCaptured++
	}
	if why&(cFinWasData|cCapturedLate) != 0 && c.NotCaptured > 0 {
		c.NotCaptured--
	}
}

// segmentNoun names a segment in a sentence by what it carries: "an RST",
// "a SYN-ACK", "a FIN", "data" or "an ACK".
func segmentNoun(seg *Segment) string {
	switch f := seg.Flags; {
	case f&RST != 0:
		return "an RST"
	case f&SYN != 0:
		return "a SYN-ACK"
	case f&FIN != 0:
		return "a FIN"
	case seg.Payload > 0:
		return "data"
	}
	return "an ACK"
}
