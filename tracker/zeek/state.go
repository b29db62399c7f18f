package zeek

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// updateStateMachine mirrors UpdateStateMachine and the Update*State
// functions it dispatches to; only the endpoint states matter here.
func (z *Summary) updateStateMachine(side int, seq seqnum.Value, payload uint32, f Flags) {
	e, peer := &z.ep[side], &z.ep[side^1]
	fin, rst := f&FIN != 0, f&RST != 0
	switch e.state {
	case inactive:
		z.updateInactive(side, seq, payload, f)
	case synSent, synAckSent: // UpdateSYN_SentState
		if fin {
			e.setState(closedState)
		}
		if rst {
			e.setState(resetState)
		}
	case established, partial:
		if f&(SYN|FIN|RST) != 0 { // UpdateEstablishedState acts on nothing else
			updateEstablished(e, peer, f)
		}
	case closedState: // UpdateClosedState
		if rst && peer.state != closedState {
			e.setState(resetState)
		}
	case resetState: // UpdateResetState changes nothing
	}
}

// updateInactive mirrors UpdateInactiveState: the first segment of a side.
func (z *Summary) updateInactive(side int, seq seqnum.Value, payload uint32, f Flags) {
	e, peer := &z.ep[side], &z.ep[side^1]
	if f&SYN != 0 {
		z.inactiveSYN(side, seq, f&ACK != 0)
	}
	if f&FIN != 0 {
		e.setState(closedState)
	}
	if f&RST != 0 {
		e.setState(resetState)
	}
	if e.state != inactive {
		return
	}
	// No control flag changed the state.
	switch {
	case !z.isOrig(side) && payload == 0 && z.ep[z.origSide].state == synSent:
		// An ACK of the SYN before the SYN-ACK: not a partial connection.
	case f&ACK != 0 && peer.state == established:
		// A SYN-ACK was seen without its SYN, and now its ACK.
		e.setState(established)
		z.partial = false
		z.seen |= z.roleBit(side)
	default:
		e.setState(partial)
	}
}

// inactiveSYN is UpdateInactiveState's handling of a side's first SYN or
// SYN-ACK.
func (z *Summary) inactiveSYN(side int, seq seqnum.Value, ack bool) {
	e, peer := &z.ep[side], &z.ep[side^1]
	switch isOrig := z.isOrig(side); {
	case isOrig && ack:
		e.setState(synAckSent)
	case isOrig:
		e.setState(synSent)
	default:
		if !ack && peer.state == synAckSent && seq == e.start {
			// The SYN of a SYN-ACK seen first: Zeek flips the roles and
			// takes the connection as established.
			z.flip()
			peer.setState(established)
			z.seen |= seenOrig
		}
		if peer.state == synSent {
			peer.setState(established)
		}
		e.setState(established)
	}
}

// updateEstablished mirrors UpdateEstablishedState, for a side that is
// established or partial.
func updateEstablished(e, peer *endpoint, f Flags) {
	syn, fin, rst, ack := f&SYN != 0, f&FIN != 0, f&RST != 0, f&ACK != 0
	if syn && e.state == partial && peer.state == inactive && !ack {
		e.setState(synSent)
	}
	if fin && !rst {
		e.setState(closedState)
		if peer.state == resetState && peer.prev == closedState {
			// The peer's FIN then RST was a normal termination after all.
			peer.setState(closedState)
		}
	}
	if rst {
		e.setState(resetState)
	}
}

// ConnState returns Zeek's conn_state for the connection as observed so far:
// one of S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH, computed from
// the two endpoints' states exactly as the conn_state function of Zeek's
// base/protocols/conn/main.zeek does. It is "" before any segment.
func (z *Summary) ConnState() string {
	if !z.started {
		return ""
	}
	o, r := &z.ep[z.origSide], &z.ep[z.origSide^1]
	os, rs := o.state, r.state
	oInactive := os == inactive || os == partial
	rInactive := rs == inactive || rs == partial
	switch {
	case rs == resetState:
		switch {
		case os == synSent || os == synAckSent ||
			(os == resetState && o.size(r) == 0 && r.size(o) == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case os == resetState:
		if rInactive {
			if synThenReset(z.History()) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == closedState && os == closedState:
		return "SF"
	case os == closedState:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == closedState:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == synSent && rs == inactive:
		return "S0"
	case os == established && rs == established:
		return "S1"
	}
	return "OTH"
}

// synThenReset reports whether h matches conn_state's pattern
// /\^?S[^HAFGIQ]*R.*/ (the whole string): the originator's SYN, then its
// RST, with no handshake, ACK, FIN, gap or odd flags of its own between.
func synThenReset(h string) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for i := 1; i < len(h); i++ {
		switch h[i] {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
