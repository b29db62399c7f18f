package zeek

// Observe feeds one TCP segment of the connection, in capture order.
// seg.FromClient tells which side sent it; it only has to be consistent for
// the life of the connection (see Orientation on Summary).
func (z *Summary) Observe(seg Segment) {
	side := 1
	if seg.FromClient {
		side = 0
	}
	if !z.started {
		z.begin(side, &seg)
	}
	f := seg.Flags
	if f&(SYN|FIN|RST) == 0 && z.openedBySynAck() {
		z.flipAfterSynAck()
	}
	e := &z.ep[side]
	isOrig := z.isOrig(side)
	z.setPartial(isOrig, f)

	segLen := seg.seqLen()
	onePast := seg.Seq.Add(segLen)
	e.initEndpoint(f&SYN != 0, seg.Seq, onePast)
	seq, underflow := e.relative(seg.Seq, e.last.v, e.last.wraps)
	z.updateHistory(side, f, seq, seg.Payload)
	if seg.Window == 0 {
		z.zeroWindow(side, f)
	}
	if f&FIN != 0 {
		e.finSeen = true
		e.finSeq = seq + relSeq(segLen)
	}
	// init_peer and update_ack_seq: the acknowledgment, relative to the
	// peer's sequence space (0 without one, or before the peer's start).
	var ack relSeq
	if peer := &z.ep[side^1]; f&ACK != 0 {
		if peer.state == inactive {
			peer.initFromAck(seg.Ack)
			ack = 1
		} else if r, before := peer.relative(seg.Ack, peer.ack.v, peer.ack.wraps); !before {
			ack = r
			if f&RST == 0 { // ACKs in RSTs are not trusted
				peer.updateAck(seg.Ack)
			}
		}
	}
	if e.updateLast(onePast, f, seg.Payload) && e.rxmit.hit() {
		z.addHistory(side, 'T')
	}

	z.updateStateMachine(side, seg.Seq, seg.Payload, f)

	if f&ACK != 0 {
		// After the state machine, so that gaps revealed by a FIN's or RST's
		// ACK are judged with the endpoints' new states.
		z.ackReceived(side^1, ack)
	}
	// CheckPIA_FirstPacket, with the role the segment arrived in.
	if isOrig {
		z.seen |= seenOrig
	} else {
		z.seen |= seenResp
	}

	if seg.Payload > 0 && f&RST == 0 && !underflow {
		dataSeq := seq
		if f&SYN != 0 {
			dataSeq++
		}
		z.dataSent(side, dataSeq, relSeq(seg.Payload))
	}
}

// zeroWindow mirrors update_window for a segment that advertises a zero
// window: it is interesting unless it comes with or after a RST, or after
// the peer's FIN.
func (z *Summary) zeroWindow(side int, f Flags) {
	e, peer := &z.ep[side], &z.ep[side^1]
	if f&RST == 0 && peer.state != closedState && e.state != resetState && e.zeroWin.hit() {
		z.addHistory(side, 'W')
	}
}

// History returns Zeek's history letters for the segments observed so far:
// upper case for Zeek's originator, lower case for its responder, '^' where
// Zeek flipped the roles (see Orientation on Summary).
func (z *Summary) History() string { return string(z.hist[:z.histLen]) }

// AppendHistory appends the history to b, without allocating a string.
func (z *Summary) AppendHistory(b []byte) []byte { return append(b, z.hist[:z.histLen]...) }

// OrigIsClient reports whether Zeek's originator is the caller's client
// side, i.e. whether History's upper-case letters and conn_state's
// "originator" are the client's.
func (z *Summary) OrigIsClient() bool { return z.origSide == 0 }
