package zeek

// History bits, one per letter that Zeek records once per direction
// (TCP_Endpoint.h, HistoryMasks). The responder's bits are shifted up by 16.
const (
	histSYN      = 0x1 // 'S' and 'H' share it
	histFIN      = 0x2
	histRST      = 0x4
	histFINRST   = 0x8 // 'I'
	histData     = 0x10
	histACK      = 0x20
	histMultiFlg = 0x40 // 'Q'
)

// maxHistory bounds the history kept per connection; Zeek's string is
// unbounded, but only repeated FIN/SYN/RST with new sequence numbers and the
// logarithmic letters can make it long.
const maxHistory = 46

// scaled counts one kind of event for Zeek's logarithmic history letters
// (Connection::ScaledHistoryEntry): the letter is added at the 1st, 10th,
// 100th, ... occurrence. next==0 stands for the initial threshold 1.
type scaled struct{ count, next uint32 }

// hit counts one event and reports whether it crossed the next threshold.
func (s *scaled) hit() bool {
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

// addHistory appends a letter (AddHistory), upper case for the originator.
// side -1 appends the letter as is.
func (z *Summary) addHistory(side int, code byte) {
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
func (z *Summary) checkHistory(side int, mask uint32, code byte) bool {
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

// updateHistory mirrors update_history: the letters for the segment's flags.
// seq is the segment's relative sequence number.
func (z *Summary) updateHistory(side int, f Flags, seq relSeq, payload uint32) {
	e := &z.ep[side]
	syn, fin, rst := f&SYN != 0, f&FIN != 0, f&RST != 0
	switch ctl := f & (SYN | FIN | RST); {
	case ctl&(ctl-1) != 0: // more than one of them
		if fin && rst {
			z.checkHistory(side, histFINRST, 'I')
		} else {
			z.checkHistory(side, histMultiFlg, 'Q')
		}
	case syn:
		code := byte('S')
		if f&ACK != 0 {
			code = 'H'
		}
		if z.checkHistory(side, histSYN, code) && seq != e.lastSYN {
			z.addHistory(side, code)
		}
		e.lastSYN = seq
	case fin:
		// A FIN's number is the one after its payload.
		end := seq + relSeq(payload)
		if z.checkHistory(side, histFIN, 'F') && end != e.lastFIN {
			z.addHistory(side, 'F')
		}
		e.lastFIN = end
	case rst:
		if z.checkHistory(side, histRST, 'R') && seq != e.lastRST {
			z.addHistory(side, 'R')
		}
		e.lastRST = seq
	case payload > 0:
		z.checkHistory(side, histData, 'D')
	case f&ACK != 0:
		z.checkHistory(side, histACK, 'A')
	}
}
