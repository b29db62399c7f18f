package tracker

import (
	"strconv"
	"time"
)

// Config holds the tracker's parameters. The zero value is usable: every
// zero field takes its default.
type Config struct {
	// MSL is the maximum segment lifetime; TIME_WAIT lasts 2×MSL (default
	// 30 s, i.e. Linux's 60 s TIME_WAIT).
	MSL time.Duration
	// Thresholds for the anomaly detectors; zero fields take defaults.
	Thresholds Thresholds
	// MaxConns caps the flow table (default DefaultMaxConns). When it is
	// full, connections whose handshake never completed are evicted first,
	// oldest first, then the least recently active; evictions are counted.
	MaxConns int
	// MaxKept caps the connections kept for the report after they ended
	// (default DefaultMaxKept): beyond it the oldest ended ones are
	// forgotten, and only counted, so that a long live capture or a huge
	// file runs in bounded memory.
	MaxKept int
	// OnTransition, if set, is called for every state change as it happens
	// (live streaming). It must not retain the *Conn beyond the call.
	OnTransition func(c *Conn, tr Transition)
	// OnAnomaly, if set, is called for every finding as it is made.
	OnAnomaly func(a Anomaly)
}

// DefaultMSL is the default maximum segment lifetime.
const DefaultMSL = 30 * time.Second

// DefaultMaxConns is the default cap on the flow table: about 150 MB of
// connection state at most (a connection with its timers and table slot
// takes about 1.5 KB; the command sets its memory limit at 2 KB each).
const DefaultMaxConns = 100_000

// DefaultMaxKept is the default cap on ended connections kept for the
// report: about 220 MB.
const DefaultMaxKept = 200_000

// Evictions counts connections dropped from the flow table to respect
// MaxConns, and ended connections forgotten to respect MaxKept.
type Evictions struct {
	Embryonic   uint64 // handshake never completed: dropped from the report too
	Established uint64 // dropped from the table; their record is kept as it was
	// Flood counts connections whose handshake never completed, to a target
	// found under a SYN flood: the flood's finding summarizes them, and the
	// report leaves them out (Finish).
	Flood uint64
	// Forgotten counts ended connections (closed on both sides) dropped
	// from the report, oldest first, beyond MaxKept.
	Forgotten uint64
}

// Tracker follows every TCP connection of one capture. It is not safe for
// concurrent use. All time comes from the segments and from Advance; the
// tracker never reads the wall clock.
type Tracker struct {
	cfg      Config
	th       Thresholds
	maxConns int
	twLen    int64 // 2×MSL in ns
	now      int64
	nextID   uint64
	table    *flowTable
	conns    []*Conn // in order of first packet; nil where one was evicted
	holes    int     // nil entries in conns

	// Timers in order of due time (times only move forward, and every
	// timer of a queue has the same length): TIME_WAIT expiries, closed
	// connections to drop from the table, and handshakes to give up on.
	// They name connections by key and ID, so that an evicted connection
	// is not kept alive by its timers.
	timeWaits, closed, handshakes timerQueue
	// For eviction: connections whose handshake timed out without
	// completing, and every connection, oldest first. Entries of
	// connections gone from the table are dropped as they reach the front.
	embryos, lru timerQueue
	ended        fifo[*Conn] // connections closed on both sides and gone from the table, oldest first
	maxKept      int

	pendingSyn map[uint64]pendingSYN // a SYN with a new ISN seen on a live connection, by connection ID

	anomalies []Anomaly
	kindCount [numKinds]int
	refresh   map[anomalyKey]int // during Finish: where each connection finding is
	flood     *synFlood
	evicted   Evictions
}

type timer struct {
	key  FlowKey
	id   uint64
	due  int64
	side Side
}

// fifo is a queue in a ring buffer: pushing and popping allocate only when
// the queue outgrows its buffer.
type fifo[T any] struct {
	buf     []T
	head, n int
}

// timerQueue is a FIFO of timers.
type timerQueue = fifo[timer]

func (q *fifo[T]) len() int { return q.n }

func (q *fifo[T]) front() *T { return &q.buf[q.head] }

func (q *fifo[T]) push(t T) {
	if q.n == len(q.buf) {
		buf := make([]T, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			buf[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
}

// pop removes the first element.
func (q *fifo[T]) pop() T {
	t := q.buf[q.head]
	var zero T
	q.buf[q.head] = zero
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return t
}

// conn returns the timer's connection if it is still in the table.
func (t *Tracker) timerConn(tm timer) *Conn {
	if c := t.table.get(&tm.key); c != nil && c.ID == tm.id {
		return c
	}
	return nil
}

// New returns an empty tracker.
func New(cfg Config) *Tracker {
	if cfg.MSL <= 0 {
		cfg.MSL = DefaultMSL
	}
	t := &Tracker{
		cfg:        cfg,
		th:         cfg.Thresholds,
		maxConns:   cfg.MaxConns,
		twLen:      int64(2 * cfg.MSL),
		table:      newFlowTable(),
		pendingSyn: make(map[uint64]pendingSYN),
	}
	t.th.withDefaults()
	if t.maxConns <= 0 {
		t.maxConns = DefaultMaxConns
	}
	t.maxKept = cfg.MaxKept
	if t.maxKept <= 0 {
		t.maxKept = DefaultMaxKept
	}
	t.flood = newSynFlood(&t.th)
	return t
}

// Now returns the tracker's clock: the latest time it was given.
func (t *Tracker) Now() int64 { return t.now }

// Conns returns every connection seen, in order of first packet, except
// those evicted before their handshake completed. The connections belong to
// the tracker.
func (t *Tracker) Conns() []*Conn {
	t.compact()
	return t.conns
}

// Evicted returns how many connections were evicted from the flow table.
func (t *Tracker) Evicted() Evictions { return t.evicted }

// Active returns the number of connections in the flow table.
func (t *Tracker) Active() int { return t.table.len() }

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

// Sweep runs every connection's time-based detectors against the clock,
// and judges the openings whose handshake timed out; live mode calls it
// periodically so that findings fire while the wire is quiet. File mode
// needs only Finish.
func (t *Tracker) Sweep() {
	for _, c := range t.conns {
		if c == nil || !c.inTable {
			continue
		}
		t.check(c, t.now, t.sweepPass(c))
		if !c.openJudged && c.flood == nil && t.now-c.First > int64(t.th.HandshakeTimeout) {
			t.judgeOpen(c)
		}
	}
}

// Finish runs every timer and detector due at the current clock: call it
// once at the end of input, before reading the results.
func (t *Tracker) Finish() {
	t.compact()
	for _, c := range t.conns {
		t.expire(c)
	}
	t.startRefresh()
	defer func() { t.refresh = nil }()
	for _, c := range t.conns {
		if c.inTable {
			t.check(c, t.now, final)
		}
	}
	for t.handshakes.len() > 0 {
		if c := t.timerConn(t.handshakes.pop()); c != nil && c.flood != nil {
			t.floodFailed(c, c.First)
		}
	}
	t.floodFinish()
	for _, c := range t.conns {
		if c.embryonic() && t.flood.flooded(c) {
			t.drop(c)
			t.evicted.Flood++
			continue
		}
		t.judgeOpen(c)
	}
	t.compact()
}

// Observe feeds one TCP segment to the tracker.
func (t *Tracker) Observe(seg *Segment) {
	t.Advance(seg.Time)
	k, fromA := keyOf(seg)
	c := t.table.get(&k)
	var old *Conn
	var oldTW [2]bool
	if c != nil {
		t.expire(c)
		if c.watched() {
			t.check(c, seg.Time, beforeSegment(c))
		}
		if p, ok := t.answersPendingSyn(c, seg); ok {
			// A SYN-ACK to the SYN with a new ISN: the old connection is
			// gone (a live one answers a SYN with a challenge ACK, RFC 5961
			// §4). The SYN opened a new one.
			c = t.openFromPending(c, p, seg)
		} else if p, ok := t.pendingFor(c, seg); ok && c.Ended() && seg.Seq == p.first.Seq &&
			seg.Src == p.first.Src && seg.SrcPort == p.first.SrcPort {
			// The old connection ended (the new socket's RST answered the
			// challenge ACK) and the new SYN is retransmitted: the
			// connection began with its first transmission.
			delete(t.pendingSyn, c.ID)
			c = t.openFromPending(c, p, seg)
		} else if t.startsNew(c, seg, fromA) {
			old, oldTW = c, timeWaitSides(c)
			t.supersede(c, seg)
			c = nil
		}
	}
	if c == nil {
		c = t.newConn(k, seg, fromA)
		if old != nil {
			t.portReuse(old, oldTW, c, seg)
		}
	}
	t.update(c, seg, c.sideOf(fromA))
	if c.nTrs == 0 && c.Half[0].Packets+c.Half[1].Packets == 1 && c.Half[0].State == Closed && c.Half[1].State == Closed {
		// A first segment that opened nothing (a lone RST, a segment with
		// impossible flags): the connection is over as soon as it began.
		t.closed.push(timer{key: c.Key, id: c.ID, due: c.Last + t.twLen})
	}
}

// check runs a connection's detectors for one pass.
func (t *Tracker) check(c *Conn, now int64, p pass) {
	if p.counts {
		t.heal(c, now)
	}
	var buf [4]Anomaly
	out := detectClose(c, now, &t.th, p, buf[:0])
	out = detectPath(c, now, &t.th, p, out)
	out = detectSeq(c, p, out)
	for _, a := range out {
		t.emit(c, a)
	}
}

// Passes: before a segment is applied (what time alone decides), from the
// live sweep, and final (end of input or eviction: every detector, and the
// sentences of findings made earlier brought up to date).
func beforeSegment(c *Conn) pass { return pass{skip: c.found} }

func (t *Tracker) sweepPass(c *Conn) pass {
	return pass{counts: true, live: true, skip: c.found}
}

var final = pass{counts: true}

// judgeOpen runs detectOpen once per connection, unless its target is
// under a SYN flood (the flood is the finding).
func (t *Tracker) judgeOpen(c *Conn) {
	if c.openJudged {
		return
	}
	c.openJudged = true
	if t.flood.flooded(c) {
		return
	}
	var buf [1]Anomaly
	for _, a := range detectOpen(c, t.now, buf[:0]) {
		t.emit(c, a)
	}
}

// watched reports whether a connection is in a condition that a
// time-based detector follows; it is cheap enough for every packet.
func (c *Conn) watched() bool {
	for s := range c.Half {
		h := &c.Half[s]
		switch h.State {
		case CloseWait, FinWait2, FinWait1, Closing, LastAck:
			return true
		}
		if h.zeroSince != 0 || h.silentRtx != 0 {
			return true
		}
	}
	return false
}

// startsNew reports whether a segment on a known 4-tuple opens a new
// connection: a SYN after the previous connection ended (TIME_WAIT at most,
// RFC 793 p. 72 and RFC 6191), or a SYN with a new ISN from a client whose
// earlier attempt was never answered.
func (t *Tracker) startsNew(c *Conn, seg *Segment, fromA bool) bool {
	if seg.Flags&(SYN|ACK|RST) != SYN {
		return false
	}
	s := c.sideOf(fromA)
	h, p := &c.Half[s], &c.Half[s.Peer()]
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
	return h.State == SynSent && !p.Sent() && seg.Seq != h.isn
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

// unpend counts held-aside SYNs that opened nothing as segments of the
// connection they were seen on.
func (t *Tracker) unpend(c *Conn, p pendingSYN) {
	h := &c.Half[c.sideOf(p.first.Src == c.Key.A && p.first.SrcPort == c.Key.APort)]
	h.Packets += uint64(p.n)
	h.Bytes += uint64(p.n) * uint64(p.first.Payload)
	h.Retransmits += uint64(p.n - 1)
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
		if c.Half[s].State != Closed {
			c.Half[s].reset = true
			t.transition(c, s, seg.Time, seg.Packet, Closed, cReused)
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
	return [2]bool{c.Half[Client].State == TimeWait, c.Half[Server].State == TimeWait}
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
	side := Server
	if ep == c.Client() {
		side = Client
	}
	t.emit(c, Anomaly{Kind: PortReuse, Side: side, HasSide: true, Time: seg.Time,
		Detail: "new SYN on " + c.Client().String() + " → " + c.Server().String() + " while the " +
			side.String() + " still held the previous connection #" + strconv.FormatUint(old.ID, 10) + " in TIME_WAIT (RFC 6191)"})
}

// newConn starts a connection at its first segment and decides the roles:
// the sender of a SYN is the client, the sender of a SYN-ACK the server;
// otherwise the well-known or lower port is the server's (mid-stream).
func (t *Tracker) newConn(k FlowKey, seg *Segment, fromA bool) *Conn {
	for t.table.len() >= t.maxConns && t.evictOne() {
	}
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
	c.idx = int32(len(t.conns))
	t.conns = append(t.conns, c)
	t.table.put(c)
	c.inTable = true
	tm := timer{key: k, id: c.ID, due: seg.Time + int64(t.th.HandshakeTimeout)}
	if !c.Midstream {
		t.handshakes.push(tm)
	}
	t.pushEvictable(&t.lru, tm)
	return c
}

// evictOne drops one connection from the table: the oldest whose handshake
// never completed, else the least recently active of the oldest few. It
// reports false if the table is empty.
func (t *Tracker) evictOne() bool {
	for _, q := range []*timerQueue{&t.embryos, &t.handshakes} {
		for q.len() > 0 {
			c := t.timerConn(q.pop())
			if c == nil || !c.embryonic() {
				continue
			}
			if c.flood != nil {
				c.flood.evicted++
				t.floodFailed(c, c.First)
			}
			t.drop(c)
			t.evicted.Embryonic++
			return true
		}
	}
	var victim *Conn
	for tries := 0; t.lru.len() > 0 && tries < 8; {
		tm := t.lru.pop()
		c := t.timerConn(tm)
		if c == nil {
			continue
		}
		tries++
		if victim == nil || c.Last < victim.Last {
			if victim != nil {
				t.lru.push(timer{key: victim.Key, id: victim.ID})
			}
			victim = c
		} else {
			t.lru.push(tm)
		}
	}
	if victim == nil {
		return false
	}
	victim.Evicted = true
	t.evicted.Established++
	t.retire(victim)
	return true
}

// drop removes a connection from the table and from the report.
func (t *Tracker) drop(c *Conn) {
	if p, ok := t.pendingSyn[c.ID]; ok {
		t.unpend(c, p)
		delete(t.pendingSyn, c.ID)
	}
	if c.inTable {
		t.table.del(&c.Key)
		c.inTable = false
	}
	if t.conns[c.idx] == c {
		t.conns[c.idx] = nil
		t.holes++
	}
}

// retire removes a connection that ended (or was evicted) from the table;
// its record stays in the report, among the MaxKept most recent ones.
func (t *Tracker) retire(c *Conn) {
	t.check(c, t.now, final) // its last chance: nothing more will be seen of it
	if p, ok := t.pendingSyn[c.ID]; ok {
		t.unpend(c, p)
		delete(t.pendingSyn, c.ID)
	}
	t.table.del(&c.Key)
	c.inTable = false
	t.ended.push(c)
	for t.ended.len() > t.maxKept {
		old := t.ended.pop()
		if t.conns[old.idx] == old {
			t.conns[old.idx] = nil
			t.holes++
			t.evicted.Forgotten++
		}
	}
	if t.holes > len(t.conns)/2 && t.holes > 1024 {
		t.compact()
	}
}

// compact removes evicted connections' holes from conns.
func (t *Tracker) compact() {
	if t.holes == 0 {
		return
	}
	n := 0
	for _, c := range t.conns {
		if c != nil {
			c.idx = int32(n)
			t.conns[n] = c
			n++
		}
	}
	clear(t.conns[n:])
	t.conns = t.conns[:n]
	t.holes = 0
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

// runTimers fires the timers that are due: TIME_WAIT expiries; handshakes
// not completed in time (an unanswered SYN, for the SYN flood detector);
// and the removal from the table of connections closed on both sides for
// 2×MSL, for which nothing more can arrive (they stay in Conns).
func (t *Tracker) runTimers() {
	for t.timeWaits.len() > 0 && t.timeWaits.front().due <= t.now {
		if c := t.timerConn(t.timeWaits.pop()); c != nil {
			t.expire(c) // stale entries (TIME_WAIT restarted or left) do nothing
		}
	}
	for t.handshakes.len() > 0 && t.handshakes.front().due <= t.now {
		tm := t.handshakes.pop()
		c := t.timerConn(tm)
		if c == nil || !c.embryonic() {
			continue
		}
		if c.flood != nil {
			t.floodFailed(c, c.First)
		}
		t.pushEvictable(&t.embryos, tm)
	}
	for t.closed.len() > 0 && t.closed.front().due <= t.now {
		c := t.timerConn(t.closed.pop())
		if c == nil || c.Half[0].State != Closed || c.Half[1].State != Closed {
			continue
		}
		if c.Last+t.twLen > t.now {
			t.closed.push(timer{key: c.Key, id: c.ID, due: c.Last + t.twLen}) // traffic came after it closed
			continue
		}
		t.judgeOpen(c)
		t.retire(c)
	}
}

// pushEvictable adds a connection to an eviction queue. A queue whose
// entries are mostly of connections gone from the table is rebuilt with the
// live ones: amortized, a few table lookups per connection, and the queue
// stays within twice the table's size.
func (t *Tracker) pushEvictable(q *timerQueue, tm timer) {
	q.push(tm)
	if q.len() <= 2*t.table.len()+1024 {
		return
	}
	for n := q.len(); n > 0; n-- {
		if tm := q.pop(); t.timerConn(tm) != nil {
			q.push(tm)
		}
	}
}
