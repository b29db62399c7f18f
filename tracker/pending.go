package tracker

import (
	"net/netip"
	"strconv"
)

// A SYN on a 4-tuple the tracker follows is where one connection ends and
// the next begins, and every rule for it is here. A SYN after the
// connection ended (TIME_WAIT at most, RFC 793 p. 72 and RFC 6191) starts
// a new one. A SYN with a new ISN on a live connection is held aside: it
// opens a new connection if the peer answers it with a SYN-ACK, or once
// the old one ends; a live peer answers it with a challenge ACK (RFC 5961
// §4) and the old connection goes on.

// connFor returns the connection a segment on c's 4-tuple belongs to: c, a
// new connection that replaces it, or, with held set, none yet (the
// segment is a SYN held aside).
func (t *Tracker) connFor(c *Conn, seg *Segment, fromA bool) (_ *Conn, held bool) {
	if p, ok := t.answersPendingSyn(c, seg); ok {
		// A SYN-ACK to the SYN with a new ISN: the old connection is gone.
		// The SYN opened a new one.
		return t.openFromPending(c, p, seg), false
	}
	s := c.sideOf(fromA)
	if seg.Flags&(SYN|ACK|RST) == SYN|ACK && !c.half[s].sentIt(seg) && (c.Ended() || c.half[s.Peer()].newHandshake(seg)) {
		// A SYN-ACK of another handshake on a 4-tuple whose connection
		// ended, or that answers a SYN the capture never showed: a SYN
		// the capture missed opened a new connection (a server that
		// still held the old one would answer it with a challenge ACK,
		// RFC 5961 §4).
		return t.replace(c, seg, fromA), false
	}
	if seg.Flags&(SYN|ACK|RST) != SYN {
		return c, false
	}
	if p, ok := t.pendingFor(c, seg); ok && c.Ended() && seg.Seq == p.first.Seq &&
		seg.Src == p.first.Src && seg.SrcPort == p.first.SrcPort {
		// The old connection ended (the new socket's RST answered the
		// challenge ACK) and the new SYN is retransmitted: the connection
		// began with its first transmission.
		delete(t.pendingSyn, c.ID)
		return t.openFromPending(c, p, seg), false
	}
	if t.startsNew(c, seg, s) {
		return t.replace(c, seg, fromA), false
	}
	if h := &c.half[s]; seg.Flags&FIN == 0 && h.synSent && (seg.Seq != h.isn || !h.isnKnown) {
		t.holdSyn(c, seg, s)
		return c, true
	}
	return c, false
}

// replace ends c, whose 4-tuple seg reuses, and opens the new connection.
func (t *Tracker) replace(c *Conn, seg *Segment, fromA bool) *Conn {
	oldTW := timeWaitSides(c)
	t.supersede(c, seg)
	n := t.newConn(c.Key, seg, fromA)
	t.portReuse(c, oldTW, n, seg)
	return n
}

// newHandshake reports whether a SYN-ACK to h acknowledges another SYN
// than the one h's ISN was inferred from (its SYN never seen): h's new
// SYN, which the capture missed.
func (h *Half) newHandshake(synAck *Segment) bool {
	return !h.synSeen && h.isnKnown && synAck.Ack != h.isn.Add(1)
}

// sentIt reports whether a SYN-ACK is h's own, sent again: same ISN.
func (h *Half) sentIt(synAck *Segment) bool {
	return h.isnKnown && h.sentSynAck && synAck.Seq == h.isn
}

// startsNew reports whether a SYN from side s on a known 4-tuple opens a
// new connection: after the previous connection ended, or with a new ISN
// from a client whose earlier attempt was never answered.
func (t *Tracker) startsNew(c *Conn, seg *Segment, s Side) bool {
	h, p := &c.half[s], &c.half[s.Peer()]
	if h.synSeen && !h.sentSynAck && !h.peerSyn && seg.Seq == h.isn {
		// A retransmission of its SYN (same ISN) that never got past SYN_SENT:
		// the same connect(). The RST that closed it was lost, or the stack
		// retries on RST (Windows does, twice); Zeek logs each attempt as a
		// connection. After a handshake a same-ISN SYN is a new connection
		// (scanners reuse their ISN).
		return false
	}
	if c.Ended() {
		return true
	}
	return h.state == SynSent && !p.Sent() && seg.Seq != h.isn
}

// holdSyn holds aside a SYN with a new ISN seen on the live connection c,
// counting its copies.
func (t *Tracker) holdSyn(c *Conn, seg *Segment, s Side) {
	c.BadSeq++
	c.half[s].lastSent = seg.Time // (answers to it are answers)
	p, ok := t.pendingSyn[c.ID]
	if ok && p.first.Seq == seg.Seq && p.first.Src == seg.Src {
		p.last, p.n = *seg, p.n+1
		t.pendingSyn[c.ID] = p
		return
	}
	if ok {
		t.unpend(c, p) // another new ISN replaces the one held: that one opened nothing
	}
	t.pendingSyn[c.ID] = pendingSYN{first: *seg, last: *seg, n: 1, tw: timeWaitSides(c)}
}

// pendingSYN is a SYN with a new ISN seen on a live connection, and how
// many times it was sent: the first and the latest copy.
type pendingSYN struct {
	first, last Segment
	n           int
	tw          [2]bool // which sides of the old connection were in TIME_WAIT when it came
}

// openFromPending closes the connection old, which a SYN with a new ISN
// turned out to replace when cur arrived, and opens the new connection
// with that SYN and its retransmissions.
func (t *Tracker) openFromPending(old *Conn, p pendingSYN, cur *Segment) *Conn {
	syn := &p.first
	old.BadSeq -= uint32(p.n)
	tw := timeWaitSides(old)
	tw[Client], tw[Server] = tw[Client] || p.tw[Client], tw[Server] || p.tw[Server]
	t.supersede(old, cur)
	k, fromA := keyOf(syn)
	c := t.newConn(k, syn, fromA)
	t.update(c, syn, c.sideOf(fromA))
	for i := 1; i < p.n; i++ {
		t.update(c, &p.last, c.sideOf(fromA)) // its retransmissions (timed as the latest)
	}
	t.portReuse(old, tw, c, syn)
	return c
}

// pendingFor returns c's held-aside SYN if seg is a SYN that may repeat it;
// cheap for every other segment.
func (t *Tracker) pendingFor(c *Conn, seg *Segment) (pendingSYN, bool) {
	if seg.Flags&(SYN|ACK|RST) != SYN || len(t.pendingSyn) == 0 {
		return pendingSYN{}, false
	}
	p, ok := t.pendingSyn[c.ID]
	return p, ok
}

// letGoPending counts the SYNs held aside on c, if any, as its segments
// (unpend) and forgets them, when c is dropped, retired, frozen or
// forgotten.
func (t *Tracker) letGoPending(c *Conn) {
	if p, ok := t.pendingSyn[c.ID]; ok {
		t.unpend(c, p)
		delete(t.pendingSyn, c.ID)
	}
}

// unpend counts held-aside SYNs that opened nothing as segments of the
// connection they were seen on.
func (t *Tracker) unpend(c *Conn, p pendingSYN) {
	h := &c.half[c.sideOf(p.first.Src == c.Key.A && p.first.SrcPort == c.Key.APort)]
	h.packets += uint64(p.n)
	h.bytes += uint64(p.n) * uint64(p.first.Payload)
	h.retransmits += uint32(p.n - 1)
}

// answersPendingSyn reports whether seg is a SYN-ACK answering a SYN with a
// new ISN seen earlier on the live connection c, and returns that SYN.
func (t *Tracker) answersPendingSyn(c *Conn, seg *Segment) (pendingSYN, bool) {
	if len(t.pendingSyn) == 0 || seg.Flags&(SYN|ACK|RST) != SYN|ACK {
		return pendingSYN{}, false
	}
	p, ok := t.pendingSyn[c.ID]
	if !ok || seg.Ack != p.first.Seq.Add(1) || seg.Src != p.first.Dst || seg.SrcPort != p.first.DstPort {
		return pendingSYN{}, false
	}
	delete(t.pendingSyn, c.ID)
	return p, true
}

// supersede closes what is left of a connection whose 4-tuple is reused.
func (t *Tracker) supersede(c *Conn, seg *Segment) {
	for s := Client; s <= Server; s++ {
		if c.half[s].state != Closed {
			c.half[s].reused = true
			t.settle(c, s, seg.Time, seg.Packet, cReused)
		}
	}
	if c.flood != nil {
		t.floodFailed(c, c.First)
	}
	t.judgeOpen(c)
	t.retire(c)
}

// timeWaitSides reports which sides of c are in TIME_WAIT.
func timeWaitSides(c *Conn) [2]bool {
	return [2]bool{c.half[Client].state == TimeWait, c.half[Server].state == TimeWait}
}

// portReuse: a new SYN while one end still held the previous connection
// on the 4-tuple in TIME_WAIT (sides, indexed by old's sides; RFC 6191 describes when
// that is safe).
func (t *Tracker) portReuse(old *Conn, sides [2]bool, c *Conn, seg *Segment) {
	tw := Client
	switch {
	case sides[Client]:
	case sides[Server]:
		tw = Server
	default:
		return
	}
	ep := old.Client()
	if tw == Server {
		ep = old.Server()
	}
	t.reuseFinding(old.ID, ep, c, seg)
}

// reuseFinding makes the port_reuse finding for the new connection c whose
// SYN seg came while ep still held connection #oldID in TIME_WAIT.
func (t *Tracker) reuseFinding(oldID uint64, ep netip.AddrPort, c *Conn, seg *Segment) {
	side := Server
	if ep == c.Client() {
		side = Client
	}
	t.emit(c, Anomaly{Kind: PortReuse, Side: side, HasSide: true, Time: seg.Time,
		Detail: "new SYN on " + c.Client().String() + " → " + c.Server().String() + " while the " +
			side.String() + " still held the previous connection #" + strconv.FormatUint(oldID, 10) + " in TIME_WAIT (RFC 6191)",
		Fields: map[string]any{"previous_connection": oldID}})
}
