package tracker

// The report's store of ended connections (MaxKept) ranks them: a
// connection answered both ways past its handshake (real traffic) is kept
// over one that is not — an embryonic connection, one seen from one side
// only, a lone segment with impossible flags — so that spoofed traffic,
// however much of it, cannot push real connections out of the report.
// Each rank is a FIFO, of connections kept whole and, older, of frozen
// ones (freeze.go, beyond MaxFull); beyond MaxKept the oldest of the lower
// rank is forgotten first, frozen or whole.

// answered reports whether both sides sent segments and the handshake is
// not left incomplete: a connection the report keeps over others.
func (c *Conn) answered() bool {
	return c.half[Client].packets > 0 && c.half[Server].packets > 0 && !c.embryonic()
}

// keep stores an ended connection for the report, freezing the oldest
// beyond MaxFull and forgetting the oldest of the lowest rank beyond
// MaxKept. A connection stored when it began to wait
// out TIME_WAIT (twrecords.go) and back in the flow table since is not
// forgotten: it is stored again when it ends.
func (t *Tracker) keep(c *Conn) {
	if !c.inEnded {
		c.inEnded = true
		if c.answered() {
			t.ended.push(c)
		} else {
			t.endedOther.push(c)
		}
	}
	for t.ended.len()+t.endedOther.len() > t.maxFull && t.freezeOldest() { // freeze.go
	}
	for t.ended.len()+t.endedOther.len()+t.frozenLen() > t.maxKept && t.forgetOldest() {
	}
	t.compactIfSparse()
}
