package tracker

import (
	"time"
	"unsafe"
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
	// KeepFlood keeps the connections of a SYN flood (those whose
	// handshake never completed, to a target found under a flood) in the
	// report, with their states; by default the flood's finding summarizes
	// them and they are counted in Evictions.Flood only.
	KeepFlood bool
	// MaxFull caps the ended connections kept whole (default
	// DefaultMaxFull, freeze.go): beyond it the oldest are kept as their
	// Record, what the report shows, and Conns no longer returns them.
	// MaxKept still caps them all.
	MaxFull int
	// FrozenTransitions keeps a frozen connection's transitions in its
	// Record, for a report that lists them; without it Record.Transitions
	// of a frozen one is empty.
	FrozenTransitions bool
	// MaxLone caps the lone segments held at once, waiting for an answer
	// (default DefaultMaxLone, lone.go); beyond it the oldest are dropped
	// and counted as never answered.
	MaxLone int
	// OnTransition, if set, is called for every state change as it happens
	// (live streaming). It must not retain the *Conn beyond the call.
	OnTransition func(c *Conn, tr Transition)
	// OnFrozenTransition, if set, is called for every state change of a
	// connection that has no Conn any more, frozen (freeze.go) or
	// forgotten beyond MaxKept: a side's TIME_WAIT ending, as it happens.
	// A forgotten one's Record holds only its ID and endpoints. It must
	// not retain the *Record beyond the call.
	OnFrozenTransition func(r *Record, tr Transition)
	// OnForgotten, if set, is called for every state change of the
	// connections forgotten beyond MaxKept, which the report no longer
	// holds: for those each made before, when it is forgotten (a frozen
	// one's only with FrozenTransitions), then for each as it happens (a
	// TIME_WAIT ending, a FIN sent again), so that what counts connections
	// over time can count them too.
	OnForgotten func(tr Transition)
	// OnAnomaly, if set, is called for every finding as it is made.
	OnAnomaly func(a Anomaly)
}

// DefaultMSL is the default maximum segment lifetime.
const DefaultMSL = 30 * time.Second

// MaxMSL is the longest MSL: times plus 2×MSL stay far within an int64 of
// nanoseconds (New takes a longer one as it).
const MaxMSL = 24 * time.Hour

// DefaultMaxConns is the default cap on the flow table: about 150 MB of
// connection state at most (a connection with its timers and table slot
// takes about 1.5 KB).
const DefaultMaxConns = 100_000

// DefaultMaxKept is the default cap on ended connections kept for the
// report: about 60 MB of them frozen (freeze.go), with those kept whole.
const DefaultMaxKept = 200_000

// Evictions counts connections dropped from the flow table to respect
// MaxConns, and ended connections forgotten to respect MaxKept.
type Evictions struct {
	Embryonic   uint64 // handshake never completed: kept for the report as it was, as Established (keepEvictedEmbryo)
	Established uint64 // dropped from the table, their record kept as it was (not back since: evictedjudge.go)
	// TimeWait counts compact records of connections that ended dropped
	// from the full table of TIME_WAITs (MaxTimeWait), oldest first:
	// their record is kept, but what arrives for them after is not
	// recognized.
	TimeWait uint64
	// TimeWaitAhead counts TIME_WAITs of connections forgotten beyond
	// MaxKept without a compact record that were taken as ended (CLOSED)
	// ahead of their time, when the timers that end them filled their cap
	// (as many as the compact records, 1,048,576 at least): the one due first,
	// each time.
	TimeWaitAhead uint64
	// Readmitted counts connections evicted, open or in their handshake,
	// that a later segment of theirs brought back into the table while
	// they were still held whole (evictedsyn.go, evictedjudge.go): followed
	// on, they are counted in neither Embryonic nor Established.
	Readmitted uint64
	// TakenOver counts connections evicted open, and forgotten beyond
	// MaxKept or frozen to the end, that a connection picked up mid-stream
	// on their 4-tuple followed on (succession.go): counted once, as that
	// one, they left Forgotten (or the report's Records).
	TakenOver uint64
	// Flood counts connections whose handshake never completed, to a target
	// found under a SYN flood: the flood's finding summarizes them, and the
	// report leaves them out (Finish).
	Flood uint64
	// Forgotten counts connections that ended (closed on both sides), or
	// that were evicted from the flow table open (Established), dropped
	// from the report, oldest first, beyond MaxKept.
	Forgotten uint64
	// ForgottenUnanswered counts those of them that were not answered
	// both ways past a handshake (embryonic, one-sided): they are
	// forgotten before any that was (store.go).
	ForgottenUnanswered uint64
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
	twRecs   *twTable // compact records of connections that ended (twrecords.go)
	// maxTimeWait caps tw: ten times MaxConns, as a compact record is
	// about a tenth of a connection's.
	maxTimeWait  int
	maxLost      int                  // caps lostTWs (frozentw.go)
	lateSegments uint64               // segments for forgotten connections judged on their compact record
	forgotten    [2][numStates]uint64 // connections forgotten beyond maxKept, by side and state
	forgottenSvc forgottenServices    // the same, by service (forgottensvc.go)
	conns        []*Conn              // in order of first packet; nil where one was evicted
	holes        int                  // nil entries in conns
	scratch      Record               // scratchRecord's (frozentw.go)
	// forgottenEnds: TIME_WAITs of forgotten connections started over,
	// by compact record slot (frozentw.go).
	forgottenEnds map[uint32]forgottenEnd
	orphanTWs     map[orphanRef]orphanTW // forgotten TIME_WAITs whose compact record went before they ended (frozentw.go)

	// Timers in order of due time (times only move forward, and every
	// timer of a queue has the same length): TIME_WAIT expiries, closed
	// connections to drop from the table, and handshakes to give up on.
	// They name connections by index in conns and ID, so that an evicted
	// connection is not kept alive by its timers.
	timeWaits, closed, handshakes timerQueue
	// For eviction: connections whose handshake timed out without
	// completing, and every connection, oldest first. Entries of
	// connections gone from the table are dropped as they reach the front.
	embryos, lru timerQueue
	ended        fifo[*Conn] // connections closed on both sides and gone from the table, oldest first
	endedOther   fifo[*Conn] // the same, not answered both ways (store.go)
	maxKept      int
	maxFull      int
	// The oldest of them beyond maxFull, frozen (freeze.go), by rank, and
	// the sequence number of the next Record of each rank.
	frozen, frozenOther deque[Record]
	frozenSeq           [2]uint32
	frozenTWs           frozenTimers // their sides' TIME_WAIT expiries, and forgotten ones' (frozentw.go)
	lostTWs             lostTimers   // those of forgotten ones without a compact record (frozentw.go)
	histories           histories    // of frozen Records (freeze.go)
	spares              spareConns
	forgottenOpen       forgottenOpen // connections evicted open and forgotten, to be followed on (succession.go)
	late                evictedOpen   // connections evicted open, to bring back or judge again at the end (evictedjudge.go)
	lateScratch         Conn          // a frozen Record's sides judged then
	lateGone            lateTable     // forgotten ones still to be judged then (evictedjudge.go)
	recent              recentEvicted

	pendingSyn map[uint64]pendingSYN // a SYN with a new ISN seen on a live connection, by connection ID
	sums       checksums             // hosts that sent bad checksums (checksum.go)

	anomalies   []Anomaly
	latest      slotHeap // when anomalies is full: its connection findings, latest on top (anomalylist.go)
	lastSlot    int      // where emit listed its finding, -1: not listed
	free        []int    // slots of findings listed, then withdrawn (anomaly.go), not taken again yet
	kindCount   [numKinds]int
	alsoCount   [numKinds]int      // kinds in findings' Also
	listed      map[anomalyKey]int // where each connection finding listed is in anomalies
	refresh     bool               // during Finish: findings found again have their sentences brought up to date
	flood       *synFlood
	evictedSYNs evictedSYNs // of handshakes evicted, not known to have failed (evictedsyn.go)
	evicted     Evictions
	tw          twBuildup // TIME_WAITs per client host and service (timewait.go)

	lone   loneTable  // segments for 4-tuples not followed (lone.go)
	floods loneFloods // floods of them (lonefloods.go)
}

// MaxCap is the most MaxConns and MaxKept can be, and MaxConns and
// MaxFull together unless MaxFull is at most DefaultMaxFull (larger ones
// are taken as the most): a compact TIME_WAIT record names its full
// record by a 24-bit index (twrecords.go), and the table of full records
// holds those open and those kept whole, with as many holes again at most
// (store.go).
const MaxCap = 8_000_000

// New returns an empty tracker.
func New(cfg Config) *Tracker {
	if cfg.MSL <= 0 {
		cfg.MSL = DefaultMSL
	}
	cfg.MSL = min(cfg.MSL, MaxMSL)
	t := &Tracker{
		cfg:        cfg,
		th:         cfg.Thresholds,
		maxConns:   cfg.MaxConns,
		maxKept:    cfg.MaxKept,
		maxFull:    cfg.MaxFull,
		twLen:      int64(2 * cfg.MSL),
		table:      newFlowTable(),
		pendingSyn: make(map[uint64]pendingSYN),
		listed:     make(map[anomalyKey]int),
	}
	t.th.withDefaults()
	orDefault(&t.maxConns, DefaultMaxConns)
	orDefault(&t.maxKept, DefaultMaxKept)
	orDefault(&t.maxFull, DefaultMaxFull)
	t.maxConns, t.maxKept = min(t.maxConns, MaxCap), min(t.maxKept, MaxCap)
	t.maxFull = min(t.maxFull, max(MaxCap-t.maxConns, DefaultMaxFull))
	t.maxTimeWait = 10 * t.maxConns
	t.maxLost = max(t.maxTimeWait, minLostTimers) // (frozentw.go)
	t.twRecs = newTWTable(t.table.seed)
	t.flood = newSynFlood(&t.th)
	t.lone.max = cfg.MaxLone
	orDefault(&t.lone.max, DefaultMaxLone)
	return t
}

// Now returns the tracker's clock: the latest time it was given.
func (t *Tracker) Now() int64 { return t.now }

// Conns returns every connection kept whole, in order of first packet:
// every connection seen except those evicted before their handshake
// completed, those forgotten beyond MaxKept and those frozen beyond MaxFull
// (Records returns those too). The connections belong to the tracker, and
// are valid only until the next segment or clock step: the memory of one
// frozen or dropped since may be reused for a new connection.
func (t *Tracker) Conns() []*Conn {
	t.compact()
	return t.conns
}

// Evicted returns how many connections were evicted from the flow table.
func (t *Tracker) Evicted() Evictions { return t.evicted }

// Active returns the number of connections in the flow table, those that
// ended and are kept as compact records (Parked) included.
func (t *Tracker) Active() int { return t.table.len() + t.twRecs.len() }

// Open returns the number of connections in the flow table: those not
// ended (a connection ended waits out TIME_WAIT in the table of compact
// records, which Parked counts).
func (t *Tracker) Open() int { return t.table.len() }

// Parked returns the number of connections that ended and are followed by
// their compact record only (twrecords.go), waiting out TIME_WAIT.
func (t *Tracker) Parked() int { return t.twRecs.len() }

// Advance moves the clock forward to now (a packet that is not TCP, or a
// ticker in live mode) and runs the timers that are due. The clock never
// moves backwards.
func (t *Tracker) Advance(now int64) {
	t.spares.release() // (freeze.go) before anything can take one
	if now <= t.now {
		return
	}
	t.now = now
	t.runTimers()
	if t.evictedSYNs.q.len() > 0 {
		t.settleEvictedSYNs(false) // (evictedsyn.go)
	}
	t.loneTimers()
}

// Sweep runs every connection's time-based detectors against the clock,
// and judges the openings whose handshake timed out; live mode calls it
// periodically so that findings fire while the wire is quiet. File mode
// needs only Finish.
func (t *Tracker) Sweep() {
	for i, c := range t.conns {
		if i+sweepAhead < len(t.conns) {
			if next := t.conns[i+sweepAhead]; next != nil {
				prefetch(unsafe.Pointer(next), connLines) // (prefetch.go)
			}
		}
		if c == nil || !c.inTable {
			continue
		}
		t.check(c, t.now, t.sweepPass(c))
		if !c.openJudged && c.flood == nil && t.now-c.First > int64(t.th.HandshakeTimeout) {
			t.judgeOpen(c)
		}
	}
}

// sweepAhead is how many connections ahead of the one it checks Sweep
// asks for.
const sweepAhead = 4

// Finish runs every timer and detector due at the current clock: call it
// once at the end of input, before reading the results.
func (t *Tracker) Finish() {
	t.loneFinish()
	t.compact()
	t.refresh = true
	defer func() { t.refresh = false }()
	for _, c := range t.conns {
		t.expire(c)
		if c.inTable {
			t.check(c, t.now, final)
			t.expire(c) // a TIME_WAIT the check inferred may be over already
		}
	}
	t.rejudgeEvicted() // (evictedjudge.go)
	for t.handshakes.len() > 0 {
		if c := t.timerConn(t.handshakes.pop()); c != nil && c.flood != nil {
			t.floodFailed(c, c.First)
		}
	}
	t.settleEvictedSYNs(true)
	t.floodFinish()
	t.settleForgottenFloods() // (forgottensvc.go)
	t.loneFloodsFinish()
	t.settleForgotten()
	t.finishFrozen()
	for _, c := range t.conns {
		if c != nil && c.floodsOwn() && t.flood.flooded(c) {
			t.flood.target(c, false).held(c)
			if !t.cfg.KeepFlood {
				t.drop(c)
				t.floodsOwnLeftOut(c.Evicted)
			}
		}
	}
	t.judgeOpens() // freeze.go
	for _, ft := range t.flood.order {
		t.floodRefresh(ft)
	}
	t.twRefresh()
	t.compact()
}

// Observe feeds one TCP segment to the tracker.
func (t *Tracker) Observe(seg *Segment) { t.ObserveHashed(seg, FlowHash{}) }

// observe applies a segment, its time and checksum taken into account: to
// its connection, to the lone table, or to a new connection.
func (t *Tracker) observe(seg *Segment, h FlowHash) {
	k, fromA := keyOf(seg)
	hk := t.table.hashOf(&k, h)
	c := t.table.getHashed(&k, hk)
	if c == nil && t.twRecs.len() > 0 {
		var done bool
		if c, done = t.unpark(&k, seg, fromA); done {
			return
		}
	}
	takesOver := false // a connection evicted open had k (evictedjudge.go)
	if c == nil {
		if c = t.evictedSYNFor(&k); c == nil { // an evicted handshake waiting (evictedsyn.go)
			c, takesOver = t.readmit(&k) // (evictedjudge.go)
		}
	}
	if c == nil {
		var held bool
		known := takesOver || t.recent.has(hk) // a segment of a connection evicted open (evictedjudge.go)
		if known && t.forgottenOpen.m.len() > 0 && t.forgottenSegment(&k, seg, fromA) {
			// A segment of a connection forgotten, which ends it
			// (succession.go): what is held of its 4-tuple was its own
			// too, not lone.
			if i, ok := t.lone.find(&k, hk|1); ok {
				t.lone.remove(i)
			}
			return
		}
		if len(t.evictedSYNs.dropped.m) > 0 && t.resumeDropped(&k, seg, fromA) { // (evictedsyn.go)
			return
		}
		if c, held = t.loneFor(&k, hk, seg, fromA, known); held {
			return // a lone segment is not a connection (lone.go)
		}
	}
	if c != nil {
		t.expire(c)
		if c.watched() {
			t.check(c, seg.Time, beforeSegment(c))
		}
		var held bool
		if c, held = t.connFor(c, seg, fromA); held {
			return
		}
	} else {
		c = t.newConn(k, seg, fromA)
	}
	t.update(c, seg, c.sideOf(fromA))
	if c.lruGone {
		t.requeue(c) // (conns.go)
	}
	t.closeIfNothing(c)
	t.parkIfEnded(c)
}

// check runs a connection's detectors for one pass.
func (t *Tracker) check(c *Conn, now int64, p pass) {
	if p.counts {
		t.judgeSilence(c, now, !p.live)
	}
	var buf [4]Anomaly
	out := detectClose(c, now, &t.th, p, buf[:0])
	out = detectPath(c, now, &t.th, p, out)
	out = detectSeq(c, p, out)
	for _, a := range out {
		t.emit(c, a)
	}
}

// judgeSilence applies what time and the end of input prove about each
// side (heal, endFIN), and records the transitions.
func (t *Tracker) judgeSilence(c *Conn, now int64, final bool) {
	for s := Client; s <= Server; s++ {
		if why, at, pkt := c.half[s].heal(&c.half[s.Peer()], now, final); why != 0 {
			t.settle(c, s, at, pkt, why)
		}
	}
	for s := Client; s <= Server; s++ {
		if hc, pc, at := midWriteSilent(&c.half[s], &c.half[s.Peer()], now); hc != 0 {
			t.settle(c, s, at, 0, hc)
			t.settle(c, s.Peer(), at, 0, pc)
		}
		if why, at := dataAbandoned(&c.half[s], &c.half[s.Peer()], now); why != 0 {
			t.settle(c, s, at, 0, why)
		}
	}
	if !final {
		return
	}
	for s := Client; s <= Server; s++ {
		if hc, pc, at := endFIN(&c.half[s], &c.half[s.Peer()]); hc != 0 {
			t.settle(c, s, at, 0, hc)
			t.settle(c, s.Peer(), at, 0, pc)
		}
		if hc, pc, at := finAgainAtEnd(&c.half[s], &c.half[s.Peer()], now); hc != 0 {
			t.settle(c, s.Peer(), at, 0, pc)
			t.settle(c, s, at, 0, hc)
		}
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

// evicting is the pass of a connection evicted open: every detector, as a
// sweep runs them (the wire may still answer, and the input goes on: no
// inference that only its end allows), since nothing more of it may be
// seen (evictedjudge.go judges it again at the end).
var evicting = pass{counts: true, live: true}

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

// rejudgeOpen runs detectOpen again at the end of input on a connection
// judged before it (live, once its handshake timed out) and still open:
// the findings it made then have their sentences and figures brought up
// to date (emit), as for one judged only at the end.
func (t *Tracker) rejudgeOpen(c *Conn) {
	if t.flood.flooded(c) {
		return
	}
	var buf [1]Anomaly
	for _, a := range detectOpen(c, t.now, buf[:0]) {
		if c.hasFinding(a.Kind, a.Side) {
			t.emit(c, a)
		}
	}
}

// watched reports whether a connection is in a condition that a
// time-based detector follows; it is cheap enough for every packet.
func (c *Conn) watched() bool {
	for s := range c.half {
		h := &c.half[s]
		switch h.state {
		case CloseWait, FinWait2, FinWait1, Closing, LastAck:
			return true
		}
		if h.zeroSince != 0 || h.silentRtx != 0 {
			return true
		}
	}
	return false
}

// ObserveICMP applies an ICMP or ICMPv6 error that quoted seg, a segment
// as its sender sent it (seg.ICMP says which error; seg.Time and
// seg.Packet are the ICMP packet's). Linux ends a socket in SYN_SENT, and
// drops a request in SYN_RCVD, when such an error quotes its SYN (SYN-ACK)
// at its ISN (tcp_v4_err, tcp_v6_err; a request only for the errors
// dropsRequest names, tcp_req_err): a connect() refused by
// ICMP port unreachable (a firewall's REJECT, by default), or failed for a
// host unreachable. An established connection takes it as a soft error and
// goes on; so does the tracker. An error about no connection followed is
// only the time it came.
func (t *Tracker) ObserveICMP(seg *Segment) {
	t.Advance(seg.Time)
	if seg.ICMP == 0 {
		return
	}
	k, fromA := keyOf(seg)
	c := t.table.get(&k)
	if c == nil {
		return
	}
	s := c.sideOf(fromA)
	h := &c.half[s]
	switch {
	case h.state == SynSent && h.isnKnown && seg.Seq == h.isn:
		if c.refusedAt == 0 && s == Client {
			c.refusedAt, c.refusedBy = seg.Time, seg.ICMP
		}
	case h.state == SynRcvd && h.sentSynAck && seg.Seq == h.isn && dropsRequest(seg.ICMP):
	default:
		return
	}
	h.reset = true
	c.Last = max(c.Last, seg.Time)
	t.settle(c, s, seg.Time, seg.Packet, cICMPAbort)
	t.parkIfEnded(c)
}

// dropsRequest reports whether Linux drops a request in SYN_RCVD on an
// ICMP error quoting its SYN-ACK (tcp_v4_err's abort for tcp_req_err):
// network or host unreachable (ICMPHostUnreachable, which holds the other
// destination-unreachable codes too), time exceeded, parameter problem;
// not port unreachable nor administratively prohibited.
func dropsRequest(e ICMPError) bool {
	return e == ICMPHostUnreachable || e == ICMPTimeExceeded || e == ICMPParameterProblem
}
