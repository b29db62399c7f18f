package zeek

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// endpointState mirrors Zeek's per-endpoint TCP states (TCP_Endpoint.h,
// EndpointState). The zero value is INACTIVE.
type endpointState uint8

const (
	inactive    endpointState = iota // nothing seen from this side
	synSent                          // SYN seen, no ACK
	synAckSent                       // SYN-ACK seen without an initial SYN
	partial                          // data seen, but no SYN
	established                      // SYN-ACK seen (implicit for the responder's SYN)
	closedState                      // FIN seen
	resetState                       // RST seen
)

// tooLargeSeqDelta is TOO_LARGE_SEQ_DELTA: SYN and RST sequence numbers
// further than this from the last one seen are not trusted.
const tooLargeSeqDelta = 1 << 20

// relSeq is a sequence number relative to the start of one side's sequence
// space, in 64 bits: Zeek's relative numbering, which counts the wraps of the
// 32-bit wire numbers instead of wrapping itself.
type relSeq uint64

// counter is a wire sequence number that moves only forward, with the number
// of times it passed 2^32: Zeek's last_seq and seq_wraps, or ack_seq and
// ack_wraps.
type counter struct {
	v     seqnum.Value
	wraps uint32
}

// full is the number in 64 bits, wraps included (absolute, not relative).
func (c counter) full() uint64 { return uint64(c.wraps)<<32 + uint64(c.v) }

// advance moves the counter to v, counting a wrap as Zeek does: whenever v is
// numerically below the old value.
func (c *counter) advance(v seqnum.Value) {
	if passesZero(c.v, v) {
		c.wraps++
	}
	c.v = v
}

// passesZero reports whether a step forward from one wire number to another
// passes 2^32, that is whether to is numerically below from. This is the one
// place where Zeek compares 32-bit sequence numbers as plain integers: the
// caller knows the direction of the step from serial arithmetic.
func passesZero(from, to seqnum.Value) bool { return to < from }

// endpoint is one side of the connection as Zeek's TCP_Endpoint and its
// TCP_Reassembler see it.
type endpoint struct {
	state, prev endpointState
	finSeen     bool  // FIN_cnt > 0
	nholes      uint8 // ranges in holes
	skip        bool  // skip_deliveries

	start     seqnum.Value // start_seq: the ISN, or one before the first sequence number seen
	last, ack counter      // last_seq: just past the highest segment; ack_seq: highest ACK from the peer

	rxmit, zeroWin, gaps scaled // 'T', 'W', 'G'

	finSeq relSeq // FIN_seq: just past the last FIN

	// hist_last_SYN/FIN/RST: relative sequence numbers of the last control
	// segments, so that a repeat with the same number adds no letter.
	lastSYN, lastFIN, lastRST relSeq

	// Content-gap model of the TCP_Reassembler: reassem is last_reassem_seq
	// (everything below it was delivered or declared missing), trim is
	// trim_seq (acknowledged), holes are data seen above a hole, sorted and
	// disjoint.
	reassem, trim relSeq
	holes         [maxHoles]span
}

func (e *endpoint) setState(s endpointState) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

// initSeqs resets the sequence bookkeeping (InitStartSeq, InitAckSeq,
// InitLastSeq). The wrap counts stay, as in Zeek.
func (e *endpoint) initSeqs(start, last seqnum.Value) {
	e.start = start
	e.ack.v = start
	e.last.v = last
}

// initEndpoint mirrors init_endpoint: the first segment of a side sets its
// sequence space, and a SYN later may restart it.
func (e *endpoint) initEndpoint(syn bool, seq, onePast seqnum.Value) {
	switch e.state {
	case inactive:
		if syn {
			e.initSeqs(seq, onePast)
		} else {
			// A partial connection: number as though a SYN had been seen,
			// without marking this first segment as a duplicate.
			e.initSeqs(seq-1, seq)
		}
	case synSent, synAckSent:
		if syn && seq != e.start {
			e.initSeqs(seq, onePast)
		}
	case established, partial:
		if syn {
			e.initSeqs(seq, onePast)
		}
	case resetState:
		if syn && e.prev == inactive {
			e.initSeqs(seq, onePast)
		}
	}
}

// relative mirrors get_relative_seq: seq relative to the start of this
// side's sequence space, where last is the highest sequence number (or
// acknowledgment) seen and wraps how often it passed 2^32: a seq behind last
// but numerically above it is from before last's latest wrap, one ahead of
// last but numerically below it from after the next. underflow reports a
// number before the start.
//
// It runs twice per segment, so it is kept within the compiler's inlining
// budget: it takes last and wraps rather than a counter, and the second
// branch omits Zeek's test that seq is ahead of last (delta > 0): seq is not
// behind last there, and passesZero(last, seq) excludes seq == last.
func (e *endpoint) relative(seq, last seqnum.Value, wraps uint32) (rel relSeq, underflow bool) {
	if seq.Sub(last) < 0 {
		if wraps != 0 && passesZero(seq, last) {
			wraps--
		}
	} else if passesZero(last, seq) {
		wraps++
	}
	if wraps == 0 {
		d := seq.Sub(e.start)
		return relSeq(d), d < 0 // sign-extended
	}
	return relSeq(uint64(wraps)<<32 + uint64(seq) - uint64(e.start)), false
}

// initFromAck mirrors init_peer: an ACK for a side not yet heard from
// numbers that side's sequence space as though its SYN had been seen.
func (e *endpoint) initFromAck(ack seqnum.Value) {
	e.initSeqs(ack-1, ack-1)
}

// updateAck mirrors update_ack_seq.
func (e *endpoint) updateAck(ack seqnum.Value) {
	d := ack.Sub(e.ack.v)
	if ack == 0 && d > tooLargeSeqDelta {
		return // more likely a broken ACK than a wrap that lands on 0
	}
	if d > 0 {
		e.ack.advance(ack)
	}
}

// updateLast mirrors update_last_seq and reports a retransmission: a segment
// with payload that does not reach past the highest sequence number seen.
func (e *endpoint) updateLast(onePast seqnum.Value, f Flags, payload uint32) (rexmit bool) {
	d := onePast.Sub(e.last.v)
	switch {
	case f&(SYN|RST) != 0 && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
		// untrusted
	case f&FIN != 0 && e.last.v == e.start.Add(1):
		e.last.advance(onePast) // only SYN and FIN seen: accept even a "backwards" FIN (> 2 GB)
	case e.state == resetState:
		// no sequence number is trusted after a RST
	case d > 0:
		e.last.advance(onePast)
	case payload > 0:
		return true
	}
	return false
}

// acked is the relative sequence number the peer acknowledged last.
func (e *endpoint) acked() relSeq { return relSeq(e.ack.full() - uint64(e.start)) }

// noDataAcked mirrors NoDataAcked: nothing beyond the SYN acknowledged.
func (e *endpoint) noDataAcked() bool {
	ack, start := e.ack.full(), uint64(e.start)
	return ack == start || ack == start+1
}

// size mirrors TCP_Endpoint::Size, the payload byte count conn.log prints
// as orig_bytes/resp_bytes; conn_state uses it to tell REJ.
func (e *endpoint) size(peer *endpoint) uint64 {
	if e.prev == synSent && e.state == resetState && peer.state == inactive && !e.noDataAcked() {
		return 0 // a half-open connection discovered and aborted
	}
	last, ack, start := e.last.full(), e.ack.full(), uint64(e.start)
	size := ack - start
	if last > ack {
		size = last - start
	}
	if size != 0 {
		size-- // the SYN
	}
	if e.finSeen && size != 0 {
		size-- // the FIN
	}
	return size
}
