package zeek

// This file models what Zeek's TCP_Reassembler reports as content gaps
// ('G'): data that was acknowledged but never seen.

const (
	// maxAboveHoleWithoutAcks and excessiveData are the defaults of
	// tcp_max_above_hole_without_any_acks and
	// tcp_excessive_data_without_further_acks: past them Zeek's reassembler
	// stops buffering ("skip_deliveries") and so stops reporting gaps.
	maxAboveHoleWithoutAcks = 16384
	excessiveData           = 10 * 1024 * 1024

	// maxHoles is how many separate out-of-order ranges per direction the
	// gap model keeps; more are merged with a neighbour, which can hide a hole.
	maxHoles = 4
)

// span is a half-open range [lo, hi) of relative sequence numbers.
type span struct{ lo, hi relSeq }

// clean mirrors is_clean in TCP_Reassembler.cc: only gaps between cleanly
// established endpoints are reported.
func (e *endpoint) clean() bool {
	return e.state == established || (e.state == closedState && e.prev == established)
}

// buffered approximates the reassembler's buffered bytes: delivered but not
// yet acknowledged, plus out-of-order data.
func (e *endpoint) buffered() uint64 {
	var n uint64
	if e.reassem > e.trim {
		n = uint64(e.reassem - e.trim)
	}
	for _, h := range e.holes[:e.nholes] {
		n += uint64(h.hi - h.lo)
	}
	return n
}

// absorb delivers the out-of-order ranges that now continue the stream.
func (e *endpoint) absorb() {
	i := 0
	for i < int(e.nholes) && e.holes[i].lo <= e.reassem {
		e.reassem = max(e.reassem, e.holes[i].hi)
		i++
	}
	e.dropHoles(i)
}

func (e *endpoint) dropHoles(i int) {
	if i > 0 {
		copy(e.holes[:], e.holes[i:e.nholes])
		e.nholes -= uint8(i)
	}
}

// insertHole records out-of-order data [lo, hi), lo > reassem, merging it
// with the ranges it touches.
func (e *endpoint) insertHole(lo, hi relSeq) {
	n := int(e.nholes)
	i := 0
	for i < n && e.holes[i].hi < lo {
		i++
	}
	j := i
	for j < n && e.holes[j].lo <= hi {
		lo, hi = min(lo, e.holes[j].lo), max(hi, e.holes[j].hi)
		j++
	}
	switch {
	case j > i: // merged with holes[i:j]
		e.holes[i] = span{lo, hi}
		copy(e.holes[i+1:], e.holes[j:n])
		e.nholes -= uint8(j - i - 1)
	case n < maxHoles:
		copy(e.holes[i+1:n+1], e.holes[i:n])
		e.holes[i] = span{lo, hi}
		e.nholes++
	case i == n: // full: extend the last range
		e.holes[n-1].hi = hi
	default: // full: extend the next range down
		e.holes[i].lo = lo
	}
}

// gap mirrors TCP_Reassembler::Gap: a hole in side's data was acknowledged.
func (z *Summary) gap(side int) {
	e, peer := &z.ep[side], &z.ep[side^1]
	if e.clean() && peer.clean() && e.gaps.hit() {
		z.addHistory(side, 'G')
	}
}

// ackReceived mirrors TCP_Reassembler::AckReceived and TrimToSeq: the peer
// acknowledged side's data up to seq; whatever below it was never seen is a
// content gap.
func (z *Summary) ackReceived(side int, seq relSeq) {
	e := &z.ep[side]
	if e.finSeen && seq >= e.finSeq {
		seq = e.finSeq - 1 // the FIN itself is not data
	}
	if seq <= e.trim {
		return
	}
	if seq > e.reassem {
		z.undelivered(side, seq)
	}
	e.trim = seq
}

// undelivered mirrors TCP_Reassembler::Undelivered: one gap per hole below
// upTo.
func (z *Summary) undelivered(side int, upTo relSeq) {
	e := &z.ep[side]
	if upTo <= 2 && z.partial {
		// The first ACK of a partial connection, whose sequence space was
		// made up; nothing is missing.
		return
	}
	if !e.skip {
		for e.nholes > 0 && e.holes[0].lo < upTo {
			z.gap(side)
			e.reassem = e.holes[0].hi
			e.dropHoles(1)
			e.absorb()
		}
		if upTo > e.reassem {
			z.gap(side)
		}
	}
	if upTo > e.reassem {
		e.reassem = upTo
	}
}

// dataSent mirrors TCP_Reassembler::DataSent and Reassembler::NewBlock for
// payload [seq, seq+n) of side.
func (z *Summary) dataSent(side int, seq, n relSeq) {
	e := &z.ep[side]
	if e.skip {
		return
	}
	upper := seq + n
	if ack := e.acked(); seq < ack {
		if upper <= ack {
			return // delivered and acknowledged already
		}
		seq = ack
	}
	if upper <= e.trim {
		return
	}
	seq = max(seq, e.trim)
	if upper <= e.reassem {
		return // a retransmission of delivered data
	}
	if seq <= e.reassem {
		e.reassem = upper
		e.absorb()
	} else {
		e.insertHole(seq, upper)
	}
	if e.nholes > 0 && e.noDataAcked() && e.holes[e.nholes-1].hi-e.reassem > maxAboveHoleWithoutAcks ||
		e.buffered() > excessiveData {
		e.skip = true
		e.nholes = 0
	}
}
