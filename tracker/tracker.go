package tracker

import "time"

// Config holds the tracker's parameters. The zero value is usable: every
// zero field takes its default.
type Config struct {
	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2×MSL (default
	// 30 s, i.e. Linux's 60 s TIME_WAIT).
	MSL time.Duration
	// OnTransition, if set, is called for every state change as it happens
	// (live streaming). It must not retain the *Conn beyond the call.
	OnTransition func(c *Conn, tr Transition)
}

// DefaultMSL is the default maximum segment lifetime.
const DefaultMSL = 30 * time.Second

// Tracker follows every TCP connection of one capture. It is not safe for
// concurrent use. All time comes from the segments and from Advance; the
// tracker never reads the wall clock.
type Tracker struct {
	cfg    Config
	twLen  int64 // 2×MSL in ns
	now    int64
	nextID uint64
	table  *flowTable
	conns  []*Conn

	// Timers in order of due time (times only move forward, and every
	// timer of a queue has the same length): TIME_WAIT expiries, and
	// closed connections to drop from the table.
	timeWaits, closed timerQueue
}

type timer struct {
	c    *Conn
	side Side
	due  int64
}

// timerQueue is a FIFO of timers.
type timerQueue []timer

func (q *timerQueue) append(t timer) { *q = append(*q, t) }

// New returns an empty tracker.
func New(cfg Config) *Tracker {
	if cfg.MSL <= 0 {
		cfg.MSL = DefaultMSL
	}
	return &Tracker{
		cfg:   cfg,
		twLen: int64(2 * cfg.MSL),
		table: newFlowTable(),
	}
}

// Now returns the tracker's clock: the latest time it was given.
func (t *Tracker) Now() int64 { return t.now }

// Conns returns every connection seen, in order of first packet. The slice
// and the connections belong to the tracker.
func (t *Tracker) Conns() []*Conn { return t.conns }

// Advance moves the clock forward to now (a packet that is not TCP, or a
// ticker in live mode) and runs the timers that are due. The clock never
// moves backwards.
func (t *Tracker) Advance(now int64) {
	if now <= t.now {
		return
	}
	t.now = now
	t.runTimers()
}

// Finish runs every timer due at the current clock: call it at the end of
// input, before reading the results.
func (t *Tracker) Finish() {
	t.table.each(t.expire)
}

// Observe feeds one TCP segment to the tracker.
func (t *Tracker) Observe(seg *Segment) {
	t.Advance(seg.Time)
	k, fromA := keyOf(seg)
	c := t.table.get(&k)
	if c != nil {
		t.expire(c)
		if t.startsNew(c, seg, fromA) {
			t.supersede(c, seg)
			c = nil
		}
	}
	if c == nil {
		c = t.newConn(k, seg, fromA)
		t.table.put(c)
	}
	t.update(c, seg, c.sideOf(fromA))
}

// startsNew reports whether a segment on a known 4-tuple opens a new
// connection: a SYN after the previous connection ended (TIME_WAIT at most,
// RFC 793 p. 72 and RFC 6191), or a SYN with a new ISN from a client whose
// earlier attempt was never answered.
func (t *Tracker) startsNew(c *Conn, seg *Segment, fromA bool) bool {
	if seg.Flags&(SYN|ACK|RST) != SYN {
		return false
	}
	if c.Ended() {
		return true
	}
	s := c.sideOf(fromA)
	h, p := &c.Half[s], &c.Half[s.Peer()]
	return h.State == SynSent && !p.Sent() && seg.Seq != h.isn
}

// supersede closes what is left of a connection whose 4-tuple is reused.
func (t *Tracker) supersede(c *Conn, seg *Segment) {
	c.superseded = true
	for s := Client; s <= Server; s++ {
		if c.Half[s].State != Closed {
			c.Half[s].reset = true
			t.transition(c, s, seg.Time, seg.Packet, Closed, cReused)
		}
	}
	t.table.del(&c.Key)
}

// newConn starts a connection at its first segment and decides the roles:
// the sender of a SYN is the client, the sender of a SYN-ACK the server;
// otherwise the well-known or lower port is the server's (mid-stream).
func (t *Tracker) newConn(k FlowKey, seg *Segment, fromA bool) *Conn {
	t.nextID++
	c := &Conn{ID: t.nextID, Key: k, First: seg.Time, Last: seg.Time}
	c.Half[0].wscale, c.Half[1].wscale = -1, -1
	senderIsClient := true
	switch {
	case seg.Flags&(SYN|ACK) == SYN:
	case seg.Flags&(SYN|ACK) == SYN|ACK:
		senderIsClient = false
		c.Midstream = true
	default:
		c.Midstream = true
		senderIsClient = serverPort(seg.DstPort, seg.SrcPort)
	}
	c.clientIsA = fromA == senderIsClient
	if c.Midstream && seg.Flags&(SYN|RST|ACK) == ACK {
		// An ordinary segment of an established connection: both ends are
		// taken to be past their handshake.
		for s := Client; s <= Server; s++ {
			c.Half[s].synchronize()
			t.settle(c, s, seg.Time, seg.Packet, cMidstream)
		}
	}
	t.conns = append(t.conns, c)
	return c
}

// serverPort reports whether port a looks more like the server's than port
// b: a well-known port (below 1024) against one that is not, otherwise the
// lower port. Ties go to b.
func serverPort(a, b uint16) bool {
	if (a < 1024) != (b < 1024) {
		return a < 1024
	}
	return a < b
}

// expire runs a connection's timers up to the clock: TIME_WAIT ends 2×MSL
// after it began.
func (t *Tracker) expire(c *Conn) {
	for s := Client; s <= Server; s++ {
		h := &c.Half[s]
		if h.State == TimeWait && t.now-h.twSince >= t.twLen {
			h.twExpired = true
			t.transition(c, s, h.twSince+t.twLen, 0, h.derive(), cExpired)
		}
	}
}

// runTimers fires the timers that are due: TIME_WAIT expiries, and the
// removal from the table of connections closed on both sides for 2×MSL,
// for which nothing more can arrive (they stay in Conns).
func (t *Tracker) runTimers() {
	q := t.timeWaits
	for len(q) > 0 && q[0].due <= t.now {
		t.expire(q[0].c) // stale entries (TIME_WAIT restarted or left) do nothing
		q[0] = timer{}
		q = q[1:]
	}
	t.timeWaits = q
	q = t.closed
	for len(q) > 0 && q[0].due <= t.now {
		c := q[0].c
		q[0] = timer{}
		q = q[1:]
		if t.table.get(&c.Key) != c || c.Half[0].State != Closed || c.Half[1].State != Closed {
			continue
		}
		if c.Last+t.twLen > t.now {
			q = append(q, timer{c: c, due: c.Last + t.twLen}) // traffic came after it closed
			continue
		}
		t.table.del(&c.Key)
	}
	t.closed = q
}
