package tracker

import (
	"cmp"
	"iter"
	"slices"
	"time"
	"unsafe"

	"github.com/tcpwatch/tcpwatch/tracker/zeek"
)

// Beyond MaxFull ended connections kept whole, the oldest is frozen: it has
// the last judgement a forgotten one has (forget), and what the report
// shows of it stays as a Record, about a fifth of a whole connection. Its
// compact record in the table of TIME_WAITs (twrecords.go) then judges what
// arrives for it, as for a forgotten connection, and points at the Record
// so that the end of a TIME_WAIT, or a new connection taking over the
// 4-tuple, still closes the side in the report.

// DefaultMaxFull is the default cap on ended connections kept whole: about
// 20 MB of them.
const DefaultMaxFull = 16_384

// A connection is frozen only once it has been quiet for freezeQuiet: a
// side whose last ACK was lost sends its FIN again one retransmission
// timeout after the first (Linux: 200 ms at least, srtt + 4·rttvar, so
// under 5 s unless the round trip is over a second), which takes it back
// out of CLOSED; a frozen connection shows that on its compact record
// (finAgain), but takes the peer's ACK of it as it comes, without the
// judgement of silence a whole one's held-back ACK gets (heal). Beyond
// freezeHard × MaxFull whole ones, memory comes first and the oldest is
// frozen however recent.
const (
	freezeQuiet = int64(5 * time.Second)
	freezeHard  = 4
)

// frozenLen returns the number of frozen records.
func (t *Tracker) frozenLen() int { return t.frozen.len() + t.frozenOther.len() }

// Frozen returns the number of connections the store keeps as their
// Record only (those left out of the report by a SYN flood included).
func (t *Tracker) Frozen() int { return t.frozenLen() }

// freezeOldest freezes the oldest ended connection kept whole, of the lower
// rank first (store.go); false if there is none.
func (t *Tracker) freezeOldest() bool {
	quiet := func(q *fifo[*Conn]) bool { return q.len() > 0 && t.now-(*q.front()).Last >= freezeQuiet }
	q, rank := &t.endedOther, frozenOtherRank
	switch {
	case quiet(q):
	case quiet(&t.ended):
		q, rank = &t.ended, frozenAnsweredRank
	case t.ended.len()+t.endedOther.len() <= freezeHard*t.maxFull:
		return false // none has been quiet long enough
	case q.len() == 0:
		q, rank = &t.ended, frozenAnsweredRank
	}
	if q.len() == 0 {
		return false
	}
	old := q.pop()
	old.inEnded = false
	if old.inTable && !old.parked || !t.stored(old) {
		return true // back in the flow table (stored again when it ends), or gone
	}
	t.freeze(old, rank)
	t.prefetchNextFrozen()
	return true
}

// prefetchNextFrozen asks for the connections freezeOldest takes next,
// long unread, so that they are at hand when it does (prefetch.go).
func (t *Tracker) prefetchNextFrozen() {
	for _, q := range []*fifo[*Conn]{&t.endedOther, &t.ended} {
		if q.len() > 0 {
			prefetch(unsafe.Pointer(*q.front()), connLines)
		}
	}
}

// stored reports whether c is still among the tracker's connections (not
// dropped, frozen or forgotten since).
func (t *Tracker) stored(c *Conn) bool {
	return int(c.idx) < len(t.conns) && t.conns[c.idx] == c
}

const (
	frozenAnsweredRank = 0
	frozenOtherRank    = 1
)

// freeze replaces an ended connection by its Record.
func (t *Tracker) freeze(c *Conn, rank int) {
	if c.parked {
		t.check(c, t.now, final)
	}
	t.judgeEvictedEmbryo(c)
	t.letGoPending(c)
	r := c.record(t.cfg.FrozenTransitions)
	r.history = t.histories.intern(&c.zeek)
	r.embryonic = c.floodsOwn()
	if !c.openJudged {
		var buf [1]Anomaly
		if as := detectOpen(c, t.now, buf[:0]); len(as) > 0 {
			a := as[0]
			r.open = &a
		}
	}
	q := t.frozenQueue(rank)
	seq := t.frozenSeq[rank]
	t.frozenSeq[rank]++
	r.followed = c.inTable  // a retired one's expiry is not followed (retire)
	r.late = t.lateSides(c) // (evictedjudge.go)
	if rec, ok := forgottenOpenOf(c, rank == frozenOtherRank); ok && !c.inTable {
		rec.rank, rec.seq = uint8(rank), seq
		t.noteNotWhole(&c.Key, rec) // (succession.go)
	}
	q.push(r)
	if r.followed && t.cfg.OnFrozenTransition != nil {
		t.pushFrozenTW(&r, rank, seq) // frozentw.go: to tell its end when it happens
	}
	if tw := t.parkedRec(c); tw != nil {
		tw.bits = tw.bits&(1<<twFlags-1) | twFrozen<<rank | (seq&twIdxMask)<<twFlags
		for s := Client; s <= Server; s++ {
			if r.states[s] != TimeWait {
				tw.leaveTW(s) // (its TIME_WAIT ran out while it was whole)
			}
		}
	}
	t.conns[c.idx] = nil
	t.holes++
	t.spares.give(c)
}

// frozenRecords yields every frozen Record, of the lower rank first,
// oldest first.
func (t *Tracker) frozenRecords() iter.Seq[*Record] {
	return func(yield func(*Record) bool) {
		for _, q := range []*deque[Record]{&t.frozenOther, &t.frozen} {
			for i := range q.len() {
				if !yield(q.at(i)) {
					return
				}
			}
		}
	}
}

func (t *Tracker) frozenQueue(rank int) *deque[Record] {
	if rank == frozenOtherRank {
		return &t.frozenOther
	}
	return &t.frozen
}

// frozenOf returns the Record a compact record points at, nil if it points
// at none or the Record was forgotten since.
func (t *Tracker) frozenOf(tw *twRecord) *Record {
	if tw.bits&(twFrozen|twFrozenOther) == 0 {
		return nil
	}
	return t.frozenAt(frozenRank(tw), uint32(tw.idx()), tw.id)
}

// frozenRank returns the rank of the Record a compact record points at.
func frozenRank(tw *twRecord) int {
	if tw.bits&twFrozenOther != 0 {
		return frozenOtherRank
	}
	return frozenAnsweredRank
}

// frozenAt returns the Record of rank rank numbered seq (masked by
// twIdxMask) if its ID is id; nil if it was forgotten since.
func (t *Tracker) frozenAt(rank int, seq, id uint32) *Record {
	q := t.frozenQueue(rank)
	first := (t.frozenSeq[rank] - uint32(q.len())) & twIdxMask
	pos := (seq - first) & twIdxMask
	if int(pos) >= q.len() {
		return nil
	}
	if r := q.at(int(pos)); uint32(r.ID) == id {
		return r
	}
	return nil
}

// forgetOldest forgets the oldest connection of the store, frozen or whole,
// of the lower rank first; false if there is none.
func (t *Tracker) forgetOldest() bool {
	switch {
	case t.frozenOther.len() > 0:
		t.forgetFrozen(&t.frozenOther, true)
	case t.endedOther.len() > 0:
		t.forgetWhole(&t.endedOther, true)
	case t.frozen.len() > 0:
		t.forgetFrozen(&t.frozen, false)
	case t.ended.len() > 0:
		t.forgetWhole(&t.ended, false)
	default:
		return false
	}
	return true
}

// forgetWhole forgets the oldest connection kept whole of one rank.
func (t *Tracker) forgetWhole(q *fifo[*Conn], other bool) {
	old := q.pop()
	old.inEnded = false
	if old.inTable && !old.parked {
		return // back in the flow table: stored again when it ends
	}
	if t.stored(old) {
		t.forget(old, other)
	}
}

// forgetFrozen forgets the oldest frozen Record of one rank, counting it in
// the state each side had; its compact record, if it still has one, then
// judges what arrives as for any forgotten connection.
func (t *Tracker) forgetFrozen(q *deque[Record], other bool) {
	r := q.front()
	if !r.dropped {
		if r.open != nil {
			t.emitFrozenOpen(r) // as forget judges the opening of a whole one
		}
		if r.late != nil {
			t.lateGone.put(forgottenLateOf(r))
		}
		slot, tw := t.twRecs.slotOf(&r.Key)
		if tw != nil && t.frozenOf(tw) != r {
			tw = nil
		}
		if t.cfg.OnForgotten != nil {
			for i := range r.trs {
				t.cfg.OnForgotten(r.trs[i].public())
			}
		}
		t.countForgotten(&r.Key, r.clientIsA, r.states, r.found, forgetting{own: r.embryonic, evicted: r.Evicted, other: other}) // (forgottensvc.go)
		for s := Client; s <= Server; s++ {
			if st := r.states[s]; tw != nil && st != TimeWait {
				tw.setState(s, st) // (CLOSED, or CLOSING or LAST_ACK after its FIN again)
			}
		}
		due := [2]int64{r.twSince[Client] + t.twLen, r.twSince[Server] + t.twLen}
		// Its client's TIME_WAIT stays counted until it ends (retire left
		// it already, and a step back to CLOSING did).
		counted := !r.Midstream && r.followed && r.states[Client] == TimeWait
		if tw != nil {
			t.pushForgottenTW(slot, tw, r.states, due, counted) // frozentw.go
		} else {
			t.pushLostTW(&r.Key, uint32(r.ID), r.clientIsA, r.states, due, counted) // (no compact record: dropped, or retired first)
		}
		t.evicted.Forgotten++
		if rec, ok := forgottenOpenOfRecord(r, other); ok {
			t.noteNotWhole(&r.Key, rec) // (succession.go)
		}
	}
	q.pop()
}

// closeFrozen closes the sides of a frozen Record still in TIME_WAIT: all
// of them (a new connection took over the 4-tuple), or those whose
// TIME_WAIT ran out by now (why cExpired), as expire and supersede do for a
// whole connection.
func (t *Tracker) closeFrozen(r *Record, at int64, pkt uint64, why cause) {
	for s := Client; s <= Server; s++ {
		if r.states[s] != TimeWait {
			continue
		}
		when := at
		if why == cExpired {
			if t.now-r.twSince[s] < t.twLen {
				continue
			}
			when = r.twSince[s] + t.twLen
		}
		r.states[s] = Closed
		tr := trans{time: when, packet: pkt, why: why, side: s, from: TimeWait, to: Closed}
		if s == Client && !r.Midstream && r.followed {
			t.twLeaveKey(twKeyFor(&r.Key, r.clientIsA)) // (retire left it)
		}
		if t.cfg.FrozenTransitions {
			r.trs = append(r.trs, tr)
		}
		if t.cfg.OnFrozenTransition != nil {
			t.cfg.OnFrozenTransition(r, tr.public())
		}
	}
}

// finishFrozen ends, at the end of input, the TIME_WAITs of frozen Records
// that ran out by then, and drops those the report leaves out: a handshake
// never completed to a target found under a SYN flood (as Finish does for
// whole connections).
func (t *Tracker) finishFrozen() {
	for r := range t.frozenRecords() {
		t.closeFrozen(r, 0, 0, cExpired)
		if r.embryonic && !t.cfg.KeepFlood && t.flood.floodedKey(r.floodKey()) {
			r.dropped = true
			t.floodsOwnLeftOut(r.Evicted)
		} else if !r.dropped && t.takenOverFrozen(r) { // (succession.go)
			r.dropped = true
			t.evicted.TakenOver++
		}
	}
}

// floodKey names the SYN-flood target a Record's server would be.
func (r *Record) floodKey() floodKey { return floodKeyOf(&r.Key, r.clientIsA) }

// judgeOpens runs judgeOpen, at the end of input, on every connection kept
// whole, and emits the frozen ones' findings of detectOpen, all in order of
// ID: the order judgeOpen would have run in had none been frozen.
func (t *Tracker) judgeOpens() {
	var pend []*Record
	for r := range t.frozenRecords() {
		if r.open != nil && !r.dropped {
			pend = append(pend, r)
		}
	}
	slices.SortFunc(pend, func(a, b *Record) int { return cmp.Compare(a.ID, b.ID) })
	for _, c := range t.conns {
		if c == nil {
			continue // dropped under a SYN flood
		}
		for len(pend) > 0 && pend[0].ID < c.ID {
			t.emitFrozenOpen(pend[0])
			pend = pend[1:]
		}
		if c.openJudged && c.inTable && !c.parked {
			t.rejudgeOpen(c) // judged live, and still open: its figures brought up to date
		} else {
			t.judgeOpen(c)
		}
	}
	for _, r := range pend {
		t.emitFrozenOpen(r)
	}
}

// emitFrozenOpen emits a frozen Record's finding of detectOpen unless its
// target is under a SYN flood (the flood is the finding), as judgeOpen does.
func (t *Tracker) emitFrozenOpen(r *Record) {
	a := *r.open
	r.open = nil
	if t.flood.floodedKey(r.floodKey()) || r.found[a.Side]&(1<<a.Kind) != 0 {
		return
	}
	r.found[a.Side] |= 1 << a.Kind
	a.Conn = r.ID
	if !a.Target.IsValid() {
		a.Target = r.Server()
	}
	t.emit(nil, a)
}

// histories interns the Zeek history strings of frozen Records: a few
// dozen strings ("ShADadFf", "S", "ShR") are most of them, so that a
// frozen connection does not cost an allocation for its own copy.
type histories struct {
	m   map[string]string
	buf []byte
}

// maxHistories caps the distinct histories interned; beyond it each
// Record has its own string.
const maxHistories = 4096

func (h *histories) intern(z *zeek.Summary) string {
	h.buf = z.AppendHistory(h.buf[:0])
	if s, ok := h.m[string(h.buf)]; ok {
		return s
	}
	s := string(h.buf)
	if h.m == nil {
		h.m = make(map[string]string)
	}
	if len(h.m) < maxHistories {
		h.m[s] = s
	}
	return s
}

// spareConns holds Conns frozen since, for new connections to reuse: at
// the scale where connections are frozen, one ends for each that begins,
// and reusing its memory spares the collector and the page faults a fresh
// 1.2 KB object costs. A frozen Conn is referred to by nothing once the
// call that froze it has returned: timers and compact records name
// connections by index and ID, and the ended queues let go of it before
// it is frozen. Within that call it may still be read (a connection
// frozen as a new one takes over its 4-tuple names it in port_reuse), so
// it is only held (give) until the next segment or clock step (release).
type spareConns struct {
	conns  []*Conn
	blocks []*transBlock // of their transitions past the inline ones
	held   []*Conn       // frozen during the current call, not yet spare
}

// maxSpares bounds the Conns held for reuse.
const maxSpares = 256

// give holds back a Conn frozen during the current call, to be reused
// once it returns (release).
func (p *spareConns) give(c *Conn) {
	if len(p.held) < maxSpares {
		p.held = append(p.held, c)
	}
}

// release makes the Conns held back spare: the call that froze them has
// returned, and nothing refers to them any more.
func (p *spareConns) release() {
	for i, c := range p.held {
		p.spare(c)
		p.held[i] = nil
	}
	p.held = p.held[:0]
}

// spare takes back a Conn nothing refers to any more.
func (p *spareConns) spare(c *Conn) {
	for b := c.trMore; b != nil && len(p.blocks) < maxSpares; {
		next := b.next
		b.next = nil
		p.blocks = append(p.blocks, b)
		b = next
	}
	c.trMore = nil
	if len(p.conns) < maxSpares {
		p.conns = append(p.conns, c)
	}
}

// block returns a block of transitions to overwrite: a spare one, or a
// new one. A nil p has none.
func (p *spareConns) block() *transBlock {
	if p == nil || len(p.blocks) == 0 {
		return new(transBlock)
	}
	n := len(p.blocks)
	b := p.blocks[n-1]
	p.blocks[n-1] = nil
	p.blocks = p.blocks[:n-1]
	return b
}

// take returns a Conn to overwrite whole: a spare one, or a new one.
func (p *spareConns) take() *Conn {
	n := len(p.conns)
	if n == 0 {
		return new(Conn)
	}
	c := p.conns[n-1]
	p.conns[n-1] = nil
	p.conns = p.conns[:n-1]
	return c
}
