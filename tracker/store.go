package tracker

// The report's store of ended connections (MaxKept) ranks them: a
// connection answered both ways past its handshake (real traffic) is kept
// over one that is not — an embryonic connection, one seen from one side
// only, a lone segment with impossible flags — so that spoofed traffic,
// however much of it, cannot push real connections out of the report.
// Each rank is a FIFO; beyond MaxKept the oldest of the lower rank is
// forgotten first.

// answered reports whether both sides sent segments and the handshake is
// not left incomplete: a connection the report keeps over others.
func (c *Conn) answered() bool {
	return c.half[Client].packets > 0 && c.half[Server].packets > 0 && !c.embryonic()
}

// keep stores an ended connection for the report, forgetting the oldest of
// the lowest rank beyond MaxKept.
func (t *Tracker) keep(c *Conn) {
	if c.answered() {
		t.ended.push(c)
	} else {
		t.endedOther.push(c)
	}
	for t.ended.len()+t.endedOther.len() > t.maxKept {
		q, other := &t.endedOther, true
		if q.len() == 0 {
			q, other = &t.ended, false
		}
		old := q.pop()
		if t.conns[old.idx] == old {
			t.conns[old.idx] = nil
			t.holes++
			t.evicted.Forgotten++
			if other {
				t.evicted.ForgottenUnanswered++
			}
		}
	}
}
