package tracker

// This file reproduces the two columns of Zeek's conn.log that summarize a
// TCP connection, history and conn_state, so that tcpwatch's output lines up
// with Zeek's. It follows Zeek's own code rather than the RFCs, quirks
// included; each rule names the Zeek function it mirrors:
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process,
//     init_endpoint, get_relative_seq, update_history, update_window,
//     init_peer, update_ack_seq, update_last_seq, UpdateStateMachine and the
//     Update*State functions;
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc and Session.h: CheckHistory,
//     ScaledHistoryEntry, Size, NoDataAcked;
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc (DataSent, AckReceived,
//     Undelivered, Gap) and src/Reassem.cc (TrimToSeq) for content gaps;
//   - src/Conn.cc FlipRoles, IPBasedAnalyzer::NewConn and
//     TCPAnalyzer::WantConnection for the '^' role flips;
//   - scripts/base/protocols/conn/main.zeek, function conn_state.

// zeekEndpointState mirrors Zeek's per-endpoint TCP states
// (TCP_Endpoint.h, EndpointState). The zero value is INACTIVE.
type zeekEndpointState uint8

const (
	zeekInactive    zeekEndpointState = iota // nothing seen from this side
	zeekSynSent                              // SYN seen, no ACK
	zeekSynAckSent                           // SYN-ACK seen without an initial SYN
	zeekPartial                              // data seen, but no SYN
	zeekEstablished                          // SYN-ACK seen (implicit for the responder's SYN)
	zeekClosedState                          // FIN seen
	zeekResetState                           // RST seen
)

// History bits, one per letter that Zeek records once per direction
// (TCP_Endpoint.h, HistoryMasks). The responder's bits are shifted up by 16.
const (
	zeekHistSYN      = 0x1 // 'S' and 'H' share it
	zeekHistFIN      = 0x2
	zeekHistRST      = 0x4
	zeekHistFINRST   = 0x8 // 'I'
	zeekHistData     = 0x10
	zeekHistACK      = 0x20
	zeekHistMultiFlg = 0x40 // 'Q'
)

// Bits of first_packet_seen, by role.
const (
	zeekSeenOrig = 1
	zeekSeenResp = 2
)

const (
	// zeekTooLargeSeqDelta is TOO_LARGE_SEQ_DELTA: SYN and RST sequence
	// numbers further than this from the last one seen are not trusted.
	zeekTooLargeSeqDelta = 1 << 20
	// zeekMaxAboveHoleWithoutAcks and zeekExcessiveData are the defaults of
	// tcp_max_above_hole_without_any_acks and
	// tcp_excessive_data_without_further_acks: past them Zeek's reassembler
	// stops buffering ("skip_deliveries") and so stops reporting gaps.
	zeekMaxAboveHoleWithoutAcks = 16384
	zeekExcessiveData           = 10 * 1024 * 1024

	// zeekMaxHistory bounds the history kept per connection; Zeek's string is
	// unbounded, but only repeated FIN/SYN/RST with new sequence numbers and
	// the logarithmic letters can make it long.
	zeekMaxHistory = 46
	// zeekMaxHoles is how many separate out-of-order ranges per direction the
	// gap model keeps; more are merged with a neighbour, which can hide a hole.
	zeekMaxHoles = 4
)

// zeekScaled counts one kind of event for Zeek's logarithmic history letters
// (Connection::ScaledHistoryEntry): the letter is added at the 1st, 10th,
// 100th, ... occurrence. next==0 stands for the initial threshold 1.
type zeekScaled struct{ count, next uint32 }

// hit counts one event and reports whether it crossed the next threshold.
func (s *zeekScaled) hit() bool {
	s.count++
	next := s.next
	if next == 0 {
		next = 1
	}
	if s.count != next {
		return false
	}
	if n := next * 10; n <= next { // wrapped: keep the threshold, restart the count
		s.count = 0
		s.next = next
	} else {
		s.next = n
	}
	return true
}

// zeekRange is a half-open range [lo, hi) of relative sequence numbers.
type zeekRange struct{ lo, hi uint64 }

// zeekEndpoint is one side of the connection as Zeek's TCP_Endpoint and its
// TCP_Reassembler see it. Sequence numbers are 32-bit wire values or, where
// Zeek uses them, 64-bit values relative to startSeq.
type zeekEndpoint struct {
	state, prev zeekEndpointState
	finSeen     bool // FIN_cnt > 0

	startSeq           int64  // start_seq: the ISN, or one before the first sequence number seen
	lastSeq, ackSeq    uint32 // last_seq: just past the highest segment; ack_seq: highest ACK from the peer
	seqWraps, ackWraps uint32
	finSeq             uint64 // FIN_seq: relative sequence number just past the last FIN

	// hist_last_SYN/FIN/RST: relative sequence numbers of the last control
	// segments, so that a repeat with the same number adds no letter.
	lastSYN, lastFIN, lastRST uint64

	rxmit, zeroWin, gaps zeekScaled // 'T', 'W', 'G'

	// Content-gap model of the TCP_Reassembler: reassem is last_reassem_seq
	// (everything below it was delivered or declared missing), trim is
	// trim_seq (acknowledged), holes are data seen above a hole, sorted and
	// disjoint.
	reassem, trim uint64
	holes         [zeekMaxHoles]zeekRange
	nholes        uint8
	skip          bool // skip_deliveries
}

func (e *zeekEndpoint) setState(s zeekEndpointState) {
	if s != e.state {
		e.prev, e.state = e.state, s
	}
}

// initSeqs resets the sequence bookkeeping (InitStartSeq, InitAckSeq,
// InitLastSeq).
func (e *zeekEndpoint) initSeqs(start, last uint32) {
	e.startSeq = int64(start)
	e.ackSeq = start
	e.lastSeq = last
}

// initEndpoint mirrors init_endpoint: the first segment of a side sets its
// sequence space, and a SYN later may restart it.
func (e *zeekEndpoint) initEndpoint(syn bool, seq, onePast uint32) {
	switch e.state {
	case zeekInactive:
		if syn {
			e.initSeqs(seq, onePast)
		} else {
			// A partial connection: number as though a SYN had been seen,
			// without marking this first segment as a duplicate.
			e.initSeqs(seq-1, seq)
		}
	case zeekSynSent, zeekSynAckSent:
		if syn && seq != uint32(e.startSeq) {
			e.initSeqs(seq, onePast)
		}
	case zeekEstablished, zeekPartial:
		if syn {
			e.initSeqs(seq, onePast)
		}
	case zeekResetState:
		if syn && e.prev == zeekInactive {
			e.initSeqs(seq, onePast)
		}
	}
}

// relative mirrors get_relative_seq: seq relative to the start of this
// side's sequence space, accounting for wraps around last. underflow reports
// a number before the start.
func (e *zeekEndpoint) relative(seq, last, wraps uint32) (rel uint64, underflow bool) {
	if d := int32(seq - last); d < 0 {
		if wraps != 0 && seq > last {
			wraps--
		}
	} else if d > 0 && seq < last {
		wraps++
	}
	if wraps == 0 {
		d := int32(seq - uint32(e.startSeq))
		return uint64(int64(d)), d < 0
	}
	return uint64(wraps)<<32 + uint64(seq) - uint64(e.startSeq), false
}

// initFromAck mirrors init_peer: an ACK for a side not yet heard from
// numbers that side's sequence space as though its SYN had been seen.
func (e *zeekEndpoint) initFromAck(ack uint32) {
	e.initSeqs(ack-1, ack-1)
}

// updateAck mirrors update_ack_seq.
func (e *zeekEndpoint) updateAck(ack uint32) {
	d := int32(ack - e.ackSeq)
	if ack == 0 && d > zeekTooLargeSeqDelta {
		return // more likely a broken ACK than a wrap that lands on 0
	}
	if d > 0 {
		if ack < e.ackSeq {
			e.ackWraps++
		}
		e.ackSeq = ack
	}
}

func (e *zeekEndpoint) setLast(seq uint32) {
	if seq < e.lastSeq {
		e.seqWraps++
	}
	e.lastSeq = seq
}

// updateLast mirrors update_last_seq and reports a retransmission: a segment
// with payload that does not reach past the highest sequence number seen.
func (e *zeekEndpoint) updateLast(onePast uint32, f Flags, payload uint32) (rexmit bool) {
	d := int32(onePast - e.lastSeq)
	switch {
	case f&(SYN|RST) != 0 && (d > zeekTooLargeSeqDelta || d < -zeekTooLargeSeqDelta):
		// untrusted
	case f&FIN != 0 && e.lastSeq == uint32(e.startSeq)+1:
		e.setLast(onePast) // only SYN and FIN seen: accept even a "backwards" FIN (> 2 GB)
	case e.state == zeekResetState:
		// no sequence number is trusted after a RST
	case d > 0:
		e.setLast(onePast)
	case payload > 0:
		return true
	}
	return false
}

func zeekFull(seq, wraps uint32) uint64 { return uint64(wraps)<<32 + uint64(seq) }

// noDataAcked mirrors NoDataAcked: nothing beyond the SYN acknowledged.
func (e *zeekEndpoint) noDataAcked() bool {
	ack, start := zeekFull(e.ackSeq, e.ackWraps), uint64(e.startSeq)
	return ack == start || ack == start+1
}

// size mirrors TCP_Endpoint::Size, the payload byte count conn.log prints
// as orig_bytes/resp_bytes; conn_state uses it to tell REJ.
func (e *zeekEndpoint) size(peer *zeekEndpoint) uint64 {
	if e.prev == zeekSynSent && e.state == zeekResetState && peer.state == zeekInactive && !e.noDataAcked() {
		return 0 // a half-open connection discovered and aborted
	}
	last, ack := zeekFull(e.lastSeq, e.seqWraps), zeekFull(e.ackSeq, e.ackWraps)
	size := ack - uint64(e.startSeq)
	if last > ack {
		size = last - uint64(e.startSeq)
	}
	if size != 0 {
		size-- // the SYN
	}
	if e.finSeen && size != 0 {
		size-- // the FIN
	}
	return size
}

// clean mirrors is_clean in TCP_Reassembler.cc: only gaps between cleanly
// established endpoints are reported.
func (e *zeekEndpoint) clean() bool {
	return e.state == zeekEstablished || (e.state == zeekClosedState && e.prev == zeekEstablished)
}

// buffered approximates the reassembler's buffered bytes: delivered but not
// yet acknowledged, plus out-of-order data.
func (e *zeekEndpoint) buffered() uint64 {
	var n uint64
	if e.reassem > e.trim {
		n = e.reassem - e.trim
	}
	for _, h := range e.holes[:e.nholes] {
		n += h.hi - h.lo
	}
	return n
}

// absorb delivers the out-of-order ranges that now continue the stream.
func (e *zeekEndpoint) absorb() {
	i := 0
	for i < int(e.nholes) && e.holes[i].lo <= e.reassem {
		e.reassem = max(e.reassem, e.holes[i].hi)
		i++
	}
	e.dropHoles(i)
}

func (e *zeekEndpoint) dropHoles(i int) {
	if i > 0 {
		copy(e.holes[:], e.holes[i:e.nholes])
		e.nholes -= uint8(i)
	}
}

// insertHole records out-of-order data [lo, hi), lo > reassem, merging it
// with the ranges it touches.
func (e *zeekEndpoint) insertHole(lo, hi uint64) {
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
		e.holes[i] = zeekRange{lo, hi}
		copy(e.holes[i+1:], e.holes[j:n])
		e.nholes -= uint8(j - i - 1)
	case n < zeekMaxHoles:
		copy(e.holes[i+1:n+1], e.holes[i:n])
		e.holes[i] = zeekRange{lo, hi}
		e.nholes++
	case i == n: // full: extend the last range
		e.holes[n-1].hi = hi
	default: // full: extend the next range down
		e.holes[i].lo = lo
	}
}

// ZeekSummary follows one TCP connection the way Zeek's conn.log summarizes
// it: History is the history column and ConnState the conn_state column that
// Zeek (run with -C, which tcpwatch implies: it never verifies checksums)
// would print for the same packets. It is a fixed-size value with no
// pointers; the zero value is ready to use, and Observe does not allocate.
//
// # Orientation
//
// Zeek names the two sides originator and responder, and writes the
// originator's letters in upper case. ZeekSummary reproduces Zeek's choice of
// originator instead of imposing tcpwatch's client, because the point of
// both columns is to match Zeek's log:
//
//   - Zeek's originator is the sender of the first packet seen, except that a
//     connection first seen mid-stream or by its SYN-ACK is flipped at once
//     ("^" as the first letter) when the sender's port is a likely server
//     port and the receiver's is not (or, both likely and no SYN, when the
//     sender's port is the lower). Zeek's likely_server_ports is whatever the
//     loaded analyzers register; ZeekSummary uses the TCP ports that Zeek's
//     default base/protocols scripts register (see zeekLikelyServerPort), so
//     it agrees with Zeek run with its default scripts but not always with
//     `zeek -b`, where few or no analyzers are loaded.
//   - A SYN answering a SYN-ACK that came first flips the roles later in the
//     history ("Hs^"), exactly as Zeek does; an ACK or data after an opening
//     SYN-ACK flips them too, rewriting "H" as "^h" (Zeek 5.1 and later).
//
// tcpwatch's client is the sender of the first SYN, or mid-stream the side
// on the higher / not well-known port. The two therefore differ when a
// connection is picked up mid-stream and Zeek keeps the first sender as
// originator (two ports Zeek does not know, or the client spoke first of two
// known ones), and when a SYN-ACK's receiver never sends its SYN and the
// server's port is not one Zeek knows. OrigIsClient reports which case holds,
// so a report can say that the upper-case letters are the server's.
//
// # Limits
//
//   - 'C' (bad checksum) never appears: tcpwatch does not verify checksums,
//     like Zeek with -C.
//   - 'G' (content gap) is modelled from sequence and acknowledgment numbers
//     the way Zeek's reassembler reports it, but Zeek also counts payload
//     that a short snaplen cut off as missing; Segment.Payload is the length
//     on the wire, so such gaps are not seen here. At most four separate
//     out-of-order ranges are kept per direction.
//   - Letters past 46 are dropped.
//   - Which packets form one connection (4-tuple reuse, Zeek's inactivity
//     and SYN-attempt timeouts) is the caller's decision, not this type's.
type ZeekSummary struct {
	ep       [2]zeekEndpoint // indexed by side: 0 client, 1 server (as the caller's fromClient says)
	origSide uint8           // index in ep of Zeek's originator
	started  bool
	partial  bool  // is_partial
	seen     uint8 // first_packet_seen, by role
	histLen  uint8
	histSeen uint32 // hist_seen: originator's bits low, responder's high
	hist     [zeekMaxHistory]byte
}

// zeekLikelyServerPort approximates Zeek's likely_server_ports for TCP: the
// ports registered by the analyzers of Zeek's default base/protocols scripts
// (DCE-RPC, DNP3, DNS, FTP, HTTP, IMAP, IRC, Kerberos, LDAP, Modbus, MQTT,
// MySQL, POP3, PostgreSQL, RDP, Redis, SMB, SMTP, SOCKS, SSH, SSL/TLS, XMPP,
// Finger, Telnet).
func zeekLikelyServerPort(p uint16) bool {
	switch p {
	case 21, 22, 23, 25, 53, 79, 80, 81, 88, 110, 135, 139, 143, 389, 443, 445,
		465, 502, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995,
		1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222, 5223, 5269, 5432,
		6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000:
		return true
	}
	return false
}

// zeekFlipAtStart mirrors TCPAnalyzer::WantConnection: whether Zeek makes the
// receiver of a connection's first packet its originator.
func zeekFlipAtStart(seg *Segment) bool {
	if seg.Flags&SYN != 0 && seg.Flags&ACK == 0 {
		return false // an initial SYN: its sender originates
	}
	if !zeekLikelyServerPort(seg.SrcPort) {
		return false
	}
	if zeekLikelyServerPort(seg.DstPort) {
		// Both plausible: flip only without a SYN (not to confuse stealth
		// scans) and towards the lower port.
		return seg.Flags&SYN == 0 && seg.SrcPort < seg.DstPort
	}
	return true
}

func (z *ZeekSummary) isOrig(side int) bool { return side == int(z.origSide) }

// addHistory appends a letter (AddHistory), upper case for the originator.
func (z *ZeekSummary) addHistory(side int, code byte) {
	if side >= 0 && !z.isOrig(side) {
		code += 'a' - 'A'
	}
	if int(z.histLen) < len(z.hist) {
		z.hist[z.histLen] = code
		z.histLen++
	}
}

// checkHistory mirrors CheckHistory: it adds the letter the first time its
// bit is seen for the side's current role and reports whether it had been
// seen before. The bits stay with the role when the roles flip.
func (z *ZeekSummary) checkHistory(side int, mask uint32, code byte) bool {
	if !z.isOrig(side) {
		mask <<= 16
	}
	if z.histSeen&mask == 0 {
		z.histSeen |= mask
		z.addHistory(side, code)
		return false
	}
	return true
}

// flip mirrors Connection::FlipRoles and TCPSessionAdapter::FlipRoles.
func (z *ZeekSummary) flip() {
	z.origSide ^= 1
	z.seen = (z.seen&zeekSeenOrig)<<1 | (z.seen&zeekSeenResp)>>1
	z.partial = false
	z.addHistory(-1, '^')
}

// flipAfterSynAck makes the receiver of a connection's opening SYN-ACK its
// originator once an ACK or data follows, and rewrites the history as though
// the roles had been right from the start ("H" becomes "^h"). Zeek does this
// since 5.1 (zeek/zeek#2191, "flip connections that begin with SYN-ACKs if
// subsequent acks or data seen"): a stealth scan's SYN-ACK draws a RST or
// nothing, never an ACK or data. The trigger (history exactly "H", the next
// segment without SYN, FIN or RST) is inferred from that change's description
// and from Zeek's baseline for testing/btest/Traces/tcp/ctu-64702-888.pcap.
func (z *ZeekSummary) flipAfterSynAck() {
	z.origSide ^= 1
	z.seen = (z.seen&zeekSeenOrig)<<1 | (z.seen&zeekSeenResp)>>1
	z.partial = false
	z.histSeen = z.histSeen>>16 | z.histSeen<<16
	z.hist[0], z.hist[1], z.histLen = '^', 'h', 2
}

func (z *ZeekSummary) roleBit(side int) uint8 {
	if z.isOrig(side) {
		return zeekSeenOrig
	}
	return zeekSeenResp
}

// Observe feeds one TCP segment of the connection, in capture order.
// fromClient tells which side sent it; it only has to be consistent for the
// life of the connection (see Orientation on ZeekSummary).
func (z *ZeekSummary) Observe(seg *Segment, fromClient bool) {
	side := 1
	if fromClient {
		side = 0
	}
	if !z.started {
		z.started = true
		z.ep[0].reassem, z.ep[0].trim = 1, 1 // the reassembler starts at relative 1
		z.ep[1].reassem, z.ep[1].trim = 1, 1
		z.origSide = uint8(side)
		if zeekFlipAtStart(seg) {
			z.flip()
		}
	}
	f := seg.Flags
	if f&(SYN|FIN|RST) == 0 && z.histLen == 1 && z.hist[0] == 'H' &&
		z.ep[z.origSide].state == zeekSynAckSent && z.ep[z.origSide^1].state == zeekInactive {
		z.flipAfterSynAck()
	}
	e, peer := &z.ep[side], &z.ep[side^1]
	isOrig := z.isOrig(side)
	syn, fin, rst, ack := f&SYN != 0, f&FIN != 0, f&RST != 0, f&ACK != 0
	payload := seg.Payload

	// SetPartialStatus
	if isOrig {
		if z.seen&zeekSeenOrig == 0 {
			z.partial = !syn || ack
		}
	} else if z.seen&zeekSeenResp == 0 && !z.partial {
		z.partial = !syn
	}

	// get_segment_len: SYN and FIN take a sequence number each; a RST's
	// payload is not part of the stream.
	segLen := payload
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= payload
	}
	seq, ackNum := uint32(seg.Seq), uint32(seg.Ack)
	onePast := seq + segLen

	e.initEndpoint(syn, seq, onePast)
	relSeq, underflow := e.relative(seq, e.lastSeq, e.seqWraps)
	z.updateHistory(side, f, relSeq, payload)

	// update_window: a zero window is interesting unless it comes with or
	// after a RST, or after the peer's FIN.
	if seg.Window == 0 && !rst && peer.state != zeekClosedState && e.state != zeekResetState {
		if e.zeroWin.hit() {
			z.addHistory(side, 'W')
		}
	}
	if fin {
		e.finSeen = true
		e.finSeq = relSeq + uint64(segLen)
	}

	var relAck uint64
	if ack {
		if peer.state == zeekInactive {
			relAck = 1
			peer.initFromAck(ackNum)
		} else if r, under := peer.relative(ackNum, peer.ackSeq, peer.ackWraps); !under {
			relAck = r
			if !rst { // ACKs in RSTs are not trusted
				peer.updateAck(ackNum)
			}
		}
	}

	if e.updateLast(onePast, f, payload) && e.rxmit.hit() {
		z.addHistory(side, 'T')
	}

	z.updateStateMachine(side, seq, payload, f)

	if ack {
		// After the state machine, so that gaps revealed by a FIN's or RST's
		// ACK are judged with the endpoints' new states.
		z.ackReceived(side^1, relAck)
	}
	// CheckPIA_FirstPacket, with the role the segment arrived in.
	if isOrig {
		z.seen |= zeekSeenOrig
	} else {
		z.seen |= zeekSeenResp
	}

	if payload > 0 && !rst && !underflow {
		dataSeq := relSeq
		if syn {
			dataSeq++
		}
		z.dataSent(side, dataSeq, uint64(payload))
	}
}

// updateHistory mirrors update_history: the letters for the segment's flags.
func (z *ZeekSummary) updateHistory(side int, f Flags, relSeq uint64, payload uint32) {
	e := &z.ep[side]
	syn, fin, rst := f&SYN != 0, f&FIN != 0, f&RST != 0
	n := 0
	for _, b := range [...]bool{syn, fin, rst} {
		if b {
			n++
		}
	}
	switch {
	case n > 1:
		if fin && rst {
			z.checkHistory(side, zeekHistFINRST, 'I')
		} else {
			z.checkHistory(side, zeekHistMultiFlg, 'Q')
		}
	case syn:
		code := byte('S')
		if f&ACK != 0 {
			code = 'H'
		}
		if z.checkHistory(side, zeekHistSYN, code) && relSeq != e.lastSYN {
			z.addHistory(side, code)
		}
		e.lastSYN = relSeq
	case fin:
		// A FIN's number is the one after its payload.
		end := relSeq + uint64(payload)
		if z.checkHistory(side, zeekHistFIN, 'F') && end != e.lastFIN {
			z.addHistory(side, 'F')
		}
		e.lastFIN = end
	case rst:
		if z.checkHistory(side, zeekHistRST, 'R') && relSeq != e.lastRST {
			z.addHistory(side, 'R')
		}
		e.lastRST = relSeq
	case payload > 0:
		z.checkHistory(side, zeekHistData, 'D')
	case f&ACK != 0:
		z.checkHistory(side, zeekHistACK, 'A')
	}
}

// updateStateMachine mirrors UpdateStateMachine and the Update*State
// functions it dispatches to; only the endpoint states matter here.
func (z *ZeekSummary) updateStateMachine(side int, seq, payload uint32, f Flags) {
	e, peer := &z.ep[side], &z.ep[side^1]
	syn, fin, rst, ack := f&SYN != 0, f&FIN != 0, f&RST != 0, f&ACK != 0
	isOrig := z.isOrig(side)

	switch e.state {
	case zeekInactive: // UpdateInactiveState
		if syn {
			switch {
			case isOrig && ack:
				e.setState(zeekSynAckSent)
			case isOrig:
				e.setState(zeekSynSent)
			default:
				if !ack && peer.state == zeekSynAckSent && seq == uint32(e.startSeq) {
					// The SYN of a SYN-ACK seen first: Zeek flips the roles
					// and takes the connection as established.
					z.flip()
					peer.setState(zeekEstablished)
					z.seen |= zeekSeenOrig
				}
				if peer.state == zeekSynSent {
					peer.setState(zeekEstablished)
				}
				e.setState(zeekEstablished)
			}
		}
		if fin {
			e.setState(zeekClosedState)
		}
		if rst {
			e.setState(zeekResetState)
		}
		if e.state == zeekInactive { // no control flag changed the state
			switch {
			case !isOrig && payload == 0 && z.ep[z.origSide].state == zeekSynSent:
				// An ACK of the SYN before the SYN-ACK: not a partial connection.
			case ack && peer.state == zeekEstablished:
				// A SYN-ACK was seen without its SYN, and now its ACK.
				e.setState(zeekEstablished)
				z.partial = false
				z.seen |= z.roleBit(side)
			default:
				e.setState(zeekPartial)
			}
		}

	case zeekSynSent, zeekSynAckSent: // UpdateSYN_SentState
		if fin {
			e.setState(zeekClosedState)
		}
		if rst {
			e.setState(zeekResetState)
		}

	case zeekEstablished, zeekPartial: // UpdateEstablishedState
		if syn && e.state == zeekPartial && peer.state == zeekInactive && !ack {
			e.setState(zeekSynSent)
		}
		if fin && !rst {
			e.setState(zeekClosedState)
			if peer.state == zeekResetState && peer.prev == zeekClosedState {
				// The peer's FIN then RST was a normal termination after all.
				peer.setState(zeekClosedState)
			}
		}
		if rst {
			e.setState(zeekResetState)
		}

	case zeekClosedState: // UpdateClosedState
		if rst && peer.state != zeekClosedState {
			e.setState(zeekResetState)
		}

	case zeekResetState: // UpdateResetState changes nothing
	}
}

// gap mirrors TCP_Reassembler::Gap: a hole in side's data was acknowledged.
func (z *ZeekSummary) gap(side int) {
	e, peer := &z.ep[side], &z.ep[side^1]
	if e.clean() && peer.clean() && e.gaps.hit() {
		z.addHistory(side, 'G')
	}
}

// ackReceived mirrors TCP_Reassembler::AckReceived and TrimToSeq: the peer
// acknowledged side's data up to seq; whatever below it was never seen is a
// content gap.
func (z *ZeekSummary) ackReceived(side int, seq uint64) {
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
func (z *ZeekSummary) undelivered(side int, upTo uint64) {
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
func (z *ZeekSummary) dataSent(side int, seq, n uint64) {
	e := &z.ep[side]
	if e.skip {
		return
	}
	upper := seq + n
	if ack := zeekFull(e.ackSeq, e.ackWraps) - uint64(e.startSeq); seq < ack {
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
	if e.nholes > 0 && e.noDataAcked() && e.holes[e.nholes-1].hi-e.reassem > zeekMaxAboveHoleWithoutAcks ||
		e.buffered() > zeekExcessiveData {
		e.skip = true
		e.nholes = 0
	}
}

// History returns Zeek's history letters for the segments observed so far:
// upper case for Zeek's originator, lower case for its responder, '^' where
// Zeek flipped the roles (see Orientation on ZeekSummary).
func (z *ZeekSummary) History() string { return string(z.hist[:z.histLen]) }

// OrigIsClient reports whether Zeek's originator is the caller's client
// side, i.e. whether History's upper-case letters and conn_state's
// "originator" are the client's.
func (z *ZeekSummary) OrigIsClient() bool { return z.origSide == 0 }

// ConnState returns Zeek's conn_state for the connection as observed so far:
// one of S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH, computed from
// the two endpoints' states exactly as the conn_state function of Zeek's
// base/protocols/conn/main.zeek does. It is "" before any segment.
func (z *ZeekSummary) ConnState() string {
	if !z.started {
		return ""
	}
	o, r := &z.ep[z.origSide], &z.ep[z.origSide^1]
	os, rs := o.state, r.state
	oInactive := os == zeekInactive || os == zeekPartial
	rInactive := rs == zeekInactive || rs == zeekPartial
	switch {
	case rs == zeekResetState:
		switch {
		case os == zeekSynSent || os == zeekSynAckSent ||
			(os == zeekResetState && o.size(r) == 0 && r.size(o) == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case os == zeekResetState:
		if rInactive {
			if zeekSynThenReset(z.History()) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == zeekClosedState && os == zeekClosedState:
		return "SF"
	case os == zeekClosedState:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == zeekClosedState:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == zeekSynSent && rs == zeekInactive:
		return "S0"
	case os == zeekEstablished && rs == zeekEstablished:
		return "S1"
	}
	return "OTH"
}

// zeekSynThenReset reports whether h matches conn_state's pattern
// /\^?S[^HAFGIQ]*R.*/ (the whole string): the originator's SYN, then its
// RST, with no handshake, ACK, FIN, gap or odd flags of its own between.
func zeekSynThenReset(h string) bool {
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
