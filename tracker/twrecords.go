package tracker

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// A connection that ended — both sides CLOSED or in TIME_WAIT — can still
// see a retransmitted FIN or a new SYN on its 4-tuple until 2×MSL after
// its last segment. Like Linux's timewait socket (a small struct in place
// of the full socket), the flow table then keeps only a compact,
// pointer-free record of it (twRecord, 64 bytes), and its full
// record goes to the store of ended connections (MaxKept). A segment for
// it brings the full record back into the flow table while the store still
// holds it, so it is judged exactly as if it had never left; once the
// store has forgotten it, or frozen it (freeze.go), the compact record
// alone judges what arrives (judgeForgotten): a FIN sent again restarts the
// peer's TIME_WAIT and takes its sender back to CLOSING or LAST_ACK (it
// never received the ACK of it), until the peer's ACK of it; a SYN opens
// the next connection (port_reuse if a side was still in TIME_WAIT, and
// the frozen Record's side closed); anything else is absorbed.

// twRecord is what the table keeps of a connection that ended: 64 bytes.
type twRecord struct {
	key FlowKey
	nxt [2]seqnum.Value // by side: one past the last sequence number it sent (its FIN)
	// until: nothing more can arrive for it after this: 2×MSL after its
	// last segment, or after a TIME_WAIT began, whichever is later. A side
	// in TIME_WAIT is taken to hold it until then.
	until int64
	id    uint32 // the low 32 bits of the connection's ID (fullID)
	bits  uint32 // the full record's index in Tracker.conns << twFlags | the sides' states and flags below
}

// The low bits of bits hold each side's state, twSideBits of them by side
// (the client's lowest): CLOSED or TIME_WAIT, as the connection ended;
// CLOSING or LAST_ACK once it sent its FIN again, which proves that the
// ACK of it never reached it (finAgain), until that ACK comes again.
const (
	twSideBits = 2
	twSideMask = 1<<twSideBits - 1
)

// twSideStates are the states a side can have in a compact record, by
// their code in bits.
var twSideStates = [1 << twSideBits]State{Closed, TimeWait, Closing, LastAck}

const (
	twClientIsA = 1 << (2*twSideBits + iota) // endpoint A of key is the client
	twUsed                                   // the slot holds a record
	// twFrozen: the full record is frozen (freeze.go), the index is its
	// Record's sequence number among those answered (twFrozen) or not
	// (twFrozen<<1).
	twFrozen
	twFrozenOther
	twFlags = 2*twSideBits + 4
	// twIdxMask: the index has 24 bits, room for 16M connections kept
	// whole, or frozen Records of a rank, at once.
	twIdxMask = 1<<(32-twFlags) - 1
)

// A forgotten connection's compact record names no full record: its index
// is twCounted instead when its client is in the TIME_WAIT build-up count
// (timewait.go), which it leaves when that TIME_WAIT ends or the record
// goes (uncount). A mid-stream connection's never was.
const twCounted = 1 << twFlags

// forgotten marks a compact record as a forgotten connection's, its
// client counted or not.
func (r *twRecord) forgotten(counted bool) {
	r.bits &= (1<<twFlags - 1) &^ (twFrozen | twFrozenOther)
	if counted {
		r.bits |= twCounted
	}
}

func (r *twRecord) used() bool      { return r.bits&twUsed != 0 }
func (r *twRecord) idx() int        { return int(r.bits >> twFlags) }
func (r *twRecord) clientIsA() bool { return r.bits&twClientIsA != 0 }

// state returns side s's state as the record holds it.
func (r *twRecord) state(s Side) State {
	return twSideStates[r.bits>>(twSideBits*s)&twSideMask]
}

// setState sets side s's state: one of twSideStates, any other CLOSED.
func (r *twRecord) setState(s Side, st State) {
	code := uint32(0)
	for i, x := range twSideStates {
		if x == st {
			code = uint32(i)
		}
	}
	r.bits = r.bits&^(twSideMask<<(twSideBits*s)) | code<<(twSideBits*s)
}

// inTW reports whether side s is in TIME_WAIT: it was when the record was
// made, and its TIME_WAIT has not been seen to end since.
func (r *twRecord) inTW(s Side) bool { return r.state(s) == TimeWait }

// leaveTW closes side s if it is in TIME_WAIT.
func (r *twRecord) leaveTW(s Side) {
	if r.inTW(s) {
		r.setState(s, Closed)
	}
}

// leaveTWs closes both sides that are in TIME_WAIT.
func (r *twRecord) leaveTWs() {
	r.leaveTW(Client)
	r.leaveTW(Server)
}

// fullID returns the connection's ID: the latest ID issued with those low
// bits (fewer than 2³² connections begin while one waits out TIME_WAIT).
func (t *Tracker) fullID(r *twRecord) uint64 { return t.latestID(r.id) }

// latestID is the latest ID issued whose low 32 bits are id.
func (t *Tracker) latestID(id uint32) uint64 {
	return t.nextID - uint64(uint32(t.nextID)-id)
}

// twChunk is how many records a slab chunk holds: the slab grows a chunk
// at a time, without copying and without slack beyond one chunk.
const twChunk = 4096

// parkRef names a record in the order of expiry: its slot, its ID's low
// bits to recognize a slot reused since, and the low bits of its until
// when queued, to recognize a record queued again since (requeue), as a
// TIME_WAIT restarted by a FIN is.
type parkRef struct{ slot, id, until uint32 }

// refOf returns the park-order entry of the record in slot.
func refOf(slot uint32, r *twRecord) parkRef {
	return parkRef{slot: slot, id: r.id, until: uint32(r.until)}
}

// twTable holds the compact records in a slab addressed by index, found by
// an open-addressing index of slots: nothing in it holds a
// pointer, so the garbage collector never scans it. An index entry is
// slot+1 in its low slotBits bits (0: empty) and, in the bits above, as
// many bits of the record's hash as are left (a tag): a probe reads a
// record, a cache miss of its own, only when the tags match.
type twTable struct {
	chunks   [][]twRecord // twChunk records each
	used     uint32       // slots handed out so far
	free     []uint32
	index    []uint32
	slotBits uint // slot+1 < 1<<slotBits
	mask     uint64
	n        int
	seed     [2]uint64
	order    fifo[parkRef] // in the order parked (or requeued), for expiry and eviction
}

// rec returns the record in a slot.
func (t *twTable) rec(slot uint32) *twRecord { return &t.chunks[slot/twChunk][slot%twChunk] }

func newTWTable(seed [2]uint64) *twTable {
	t := &twTable{seed: seed, slotBits: 12}
	t.grow(64)
	return t
}

func (t *twTable) len() int { return t.n }

// hash is the flow table's hash with its seeds swapped: its low half
// places a key in the index, its high half tags the entry.
func (t *twTable) hash(k *FlowKey) uint64 { return hashKey(k, t.seed[1], t.seed[0]) }

// tagMask returns the bits of an index entry that hold the tag.
func (t *twTable) tagMask() uint32 { return ^uint32(0) << t.slotBits }

// entry returns the index entry of a slot whose record has hash h.
func (t *twTable) entry(h uint64, slot uint32) uint32 {
	return uint32(h>>32)&t.tagMask() | (slot + 1)
}

// slot returns the slot an index entry names.
func (t *twTable) slot(e uint32) uint32 { return e&^t.tagMask() - 1 }

// widenSlots gives the slot one more bit of each index entry, taken from
// the tag, when the slots handed out outgrow it.
func (t *twTable) widenSlots() {
	bit := uint32(1) << t.slotBits
	for i := range t.index {
		t.index[i] &^= bit
	}
	t.slotBits++
}

func (t *twTable) grow(size int) {
	old := t.index
	t.index = make([]uint32, size)
	t.mask = uint64(size - 1)
	for _, ref := range old {
		if ref != 0 {
			i := t.hash(&t.rec(t.slot(ref)).key) & t.mask
			for t.index[i] != 0 {
				i = (i + 1) & t.mask
			}
			t.index[i] = ref
		}
	}
}

// find returns the position in index of k's record, and whether it is
// there, and k's hash.
func (t *twTable) find(k *FlowKey) (uint64, bool, uint64) {
	h := t.hash(k)
	tag, m := uint32(h>>32), t.tagMask()
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		ref := t.index[i]
		if ref == 0 {
			return i, false, h
		}
		if (ref^tag)&m == 0 && t.rec(t.slot(ref)).key.eq(k) {
			return i, true, h
		}
	}
}

// slotOf returns k's record and its slot; a nil record if there is none.
// The pointer is valid until the next put.
func (t *twTable) slotOf(k *FlowKey) (uint32, *twRecord) {
	if t.n == 0 {
		return 0, nil
	}
	i, ok, _ := t.find(k)
	if !ok {
		return 0, nil
	}
	slot := t.slot(t.index[i])
	return slot, t.rec(slot)
}

// get returns k's record, or nil. The pointer is valid until the next put.
func (t *twTable) get(k *FlowKey) *twRecord {
	_, r := t.slotOf(k)
	return r
}

// put adds a record, and returns its slot; its key must not be in the
// table.
func (t *twTable) put(r twRecord) uint32 {
	if 2*(t.n+1) > len(t.index) {
		t.grow(2 * len(t.index))
	}
	var slot uint32
	if n := len(t.free); n > 0 {
		slot, t.free = t.free[n-1], t.free[:n-1]
	} else {
		if t.used%twChunk == 0 {
			t.chunks = append(t.chunks, make([]twRecord, twChunk))
		}
		slot = t.used
		t.used++
		if t.slotBits < 32 && t.used >= 1<<t.slotBits {
			t.widenSlots()
		}
	}
	i, _, h := t.find(&r.key)
	*t.rec(slot) = r
	t.index[i] = t.entry(h, slot)
	t.n++
	t.order.push(refOf(slot, t.rec(slot)))
	return slot
}

// requeue moves k's record to the end of the park order, after its until
// moved later: the entry it had goes stale (oldest drops it), so that a
// TIME_WAIT restarted by a FIN does not hold back the expiry of the
// records parked after it. An order mostly of stale entries (FINs sent
// again and again) is rebuilt with the live ones: amortized, O(1) per
// entry, and the order stays within twice the records.
func (t *twTable) requeue(k *FlowKey) {
	i, ok, _ := t.find(k)
	if !ok {
		return
	}
	slot := t.slot(t.index[i])
	t.order.push(refOf(slot, t.rec(slot)))
	if t.order.len() <= 2*t.n+1024 {
		return
	}
	for n := t.order.len(); n > 0; n-- {
		if ref := t.order.pop(); t.live(ref) {
			t.order.push(ref)
		}
	}
}

// live reports whether a park-order entry still names its record.
func (t *twTable) live(ref parkRef) bool {
	r := t.rec(ref.slot)
	return r.used() && r.id == ref.id && uint32(r.until) == ref.until
}

// del removes k's record, shifting later entries of its probe run back.
func (t *twTable) del(k *FlowKey) {
	i, ok, _ := t.find(k)
	if !ok {
		return
	}
	slot := t.slot(t.index[i])
	*t.rec(slot) = twRecord{}
	t.free = append(t.free, slot)
	for j := (i + 1) & t.mask; t.index[j] != 0; j = (j + 1) & t.mask {
		if fillsHole(i, j, t.hash(&t.rec(t.slot(t.index[j])).key)&t.mask) {
			t.index[i] = t.index[j]
			i = j
		}
	}
	t.index[i] = 0
	t.n--
}

// oldest returns the record parked (or requeued) first that is still in
// the table, dropping stale entries of the park order, or nil.
func (t *twTable) oldest() *twRecord {
	for t.order.len() > 0 {
		if ref := t.order.front(); t.live(*ref) {
			return t.rec(ref.slot)
		}
		t.order.pop()
	}
	return nil
}

// parkedRec returns the compact record of a parked connection, found by
// the slot it was parked in; nil if that slot no longer holds it.
func (t *Tracker) parkedRec(c *Conn) *twRecord {
	if !c.parked || c.twSlot >= t.twRecs.used {
		return nil
	}
	if r := t.twRecs.rec(c.twSlot); r.used() && r.id == uint32(c.ID) && r.key.eq(&c.Key) {
		return r
	}
	return nil
}

// recConn returns the full record of a compact one, nil if the store
// forgot it.
func (t *Tracker) recConn(r *twRecord) *Conn {
	if r.bits&(twFrozen|twFrozenOther) != 0 {
		return nil
	}
	if i := r.idx(); i < len(t.conns) {
		if c := t.conns[i]; c != nil && uint32(c.ID) == r.id {
			return c
		}
	}
	return nil
}

// park moves a connection that ended from the flow table to the compact
// table, and its full record to the store.
func (t *Tracker) park(c *Conn) {
	t.table.del(&c.Key)
	for t.twRecs.len() >= t.maxTimeWait && t.evictParked() {
	}
	r := twRecord{key: c.Key, id: uint32(c.ID), until: c.Last + t.twLen, bits: uint32(c.idx)<<twFlags | twUsed}
	if c.clientIsA {
		r.bits |= twClientIsA
	}
	for s := Client; s <= Server; s++ {
		h := &c.half[s]
		r.nxt[s] = h.nxt
		if h.state == TimeWait {
			r.setState(s, TimeWait)
			r.until = max(r.until, h.twSince+t.twLen)
		}
	}
	c.twSlot = t.twRecs.put(r)
	c.parked = true
	t.keep(c) // store.go
}

// parkIfEnded parks a connection of the flow table that has ended.
func (t *Tracker) parkIfEnded(c *Conn) {
	if c.inTable && !c.parked && c.Ended() {
		t.park(c)
	}
}

// unpark finds the connection of a segment whose 4-tuple is not in the flow
// table: a parked one is brought back into it and returned. With done
// set the segment was judged on a compact record whose full record the
// store forgot (judgeForgotten). Neither: a new connection.
func (t *Tracker) unpark(k *FlowKey, seg *Segment, fromA bool) (c *Conn, done bool) {
	slot, r := t.twRecs.slotOf(k)
	if r == nil {
		return nil, false
	}
	if c = t.recConn(r); c == nil {
		return nil, t.judgeForgotten(r, slot, seg, fromA)
	}
	t.twRecs.del(k)
	c.parked = false
	for t.table.len() >= t.maxConns && t.evictOne() {
	}
	t.table.put(c)
	// Its eviction entries may have gone while it was parked.
	t.pushEvictable(&t.lru, timerOf(c, c.Last))
	if c.embryonic() { // (a refused connect, its SYN sent again)
		if t.now-c.First >= int64(t.th.HandshakeTimeout) {
			t.pushEvictable(&t.embryos, timerOf(c, t.now))
		} else {
			t.handshakes.push(timerOf(c, t.now+int64(t.th.HandshakeTimeout)))
		}
	}
	return c, false
}

// judgeForgotten judges a segment for a connection that ended and that the
// store forgot, or froze, on its compact record alone: a side's FIN sent
// again (finAgain), and the peer's ACK of it that follows (finAckedAgain),
// as a whole connection's rules do (rules.go); a SYN, or a SYN-ACK of a
// handshake whose SYN the capture missed (as connFor judges one on a whole
// connection that ended), drops the record and opens the next connection.
// Anything else is absorbed. It reports true: the segment is dealt with.
func (t *Tracker) judgeForgotten(r *twRecord, slot uint32, seg *Segment, fromA bool) bool {
	s := Server
	if fromA == r.clientIsA() {
		s = Client
	}
	if fr := t.frozenOf(r); fr != nil {
		t.frozenUpToDate(fr, r) // as expire does a whole one's before its segment
	}
	if seg.Flags&(SYN|RST) != SYN {
		if seg.Time < r.until && !r.inTW(Client) && !r.inTW(Server) {
			// As a whole one parked again after its segment: nothing more
			// can arrive 2×MSL after its last segment. (A side in TIME_WAIT
			// holds the record until its TIME_WAIT ends, the time its
			// end is told at if the record goes first: evictParked.)
			t.keepParked(r, seg.Time+t.twLen)
		}
		if seg.Flags&FIN != 0 && seg.Time < r.until && seg.End() == r.nxt[s] {
			t.finAgain(r, slot, seg, s)
		}
		if seg.Flags&(ACK|RST) == ACK && seg.Time < r.until {
			t.finAckedAgain(r, slot, seg, s.Peer())
		}
		t.lateSegments++
		return true
	}
	old, oldID := *r, t.fullID(r)
	t.forgottenClosed(r, seg.Time, seg.Packet, cReused)
	for side := Client; side <= Server; side++ {
		if st := r.state(side); st == Closing || st == LastAck {
			t.parkedStep(r, slot, side, Closed, seg, cReused) // (as supersede closes a whole one's)
		}
	}
	t.twRecs.del(&r.key)
	n := t.newConn(old.key, seg, fromA)
	for side := Client; side <= Server; side++ {
		if old.inTW(side) && old.until > seg.Time {
			ep := old.key.endpoint((side == Client) == old.clientIsA())
			t.reuseFinding(oldID, ep, n, seg)
			break
		}
	}
	t.update(n, seg, n.sideOf(fromA))
	return true
}

// keepParked keeps the compact record r until at least until.
func (t *Tracker) keepParked(r *twRecord, until int64) {
	if until > r.until {
		r.until = until
		t.twRecs.requeue(&r.key)
	}
}

// finAgain judges side s's FIN sent again, the FIN the peer had
// acknowledged (one past it is the end of what s sent, nxt). The peer's
// ACK was lost: a peer in TIME_WAIT starts it over (RFC 793 p. 73), and it
// expires after the records parked since. And s, which retransmits its
// FIN, never received that ACK (RFC 793: a FIN is retransmitted until
// acknowledged): its FIN is unacknowledged again, as for a whole
// connection (rules.go, onFIN: ackNeverArrived). A side in TIME_WAIT, whose
// FIN came first, is back in CLOSING; one CLOSED, whose FIN answered the
// peer's and was acknowledged (LAST_ACK to CLOSED), is back in LAST_ACK,
// whether the peer's TIME_WAIT still runs or not. (One whose own TIME_WAIT
// ran out is taken as the latter: its socket is gone, and a live stack
// does not send its FIN again then.) A side already back in CLOSING or
// LAST_ACK stays there.
func (t *Tracker) finAgain(r *twRecord, slot uint32, seg *Segment, s Side) {
	peerTW := r.inTW(s.Peer())
	if peerTW {
		if until := seg.Time + t.twLen; until > r.until {
			r.until = until
			t.twRecs.requeue(&r.key)
		}
		// As for a whole one (rules.go): it ends 2×MSL after this FIN. The
		// side's timer, due earlier, finds it later (frozentw.go).
		if fr := t.frozenOf(r); fr != nil && fr.states[s.Peer()] == TimeWait {
			fr.twSince[s.Peer()] = seg.Time
		} else if fr == nil {
			t.forgottenEndsAt(slot, r, s.Peer(), seg.Time+t.twLen)
		}
	}
	switch st := r.state(s); {
	case st == TimeWait:
		t.parkedStep(r, slot, s, Closing, seg, cFinAckLost)
	case st == Closed:
		t.parkedStep(r, slot, s, LastAck, seg, cFinAckLost)
	}
}

// finAckedAgain judges an ACK to side s, which sent its FIN again
// (finAgain): one that covers that FIN is the peer's answer to it, and
// takes s on as the ACK a whole connection held back until s stopped
// sending its FIN does (heal: cAckHealed), to TIME_WAIT from CLOSING (it
// starts then) or to CLOSED from LAST_ACK.
func (t *Tracker) finAckedAgain(r *twRecord, slot uint32, seg *Segment, s Side) {
	to := TimeWait
	switch r.state(s) {
	case Closing:
	case LastAck:
		to = Closed
	default:
		return
	}
	if covers(seg.Ack, r.nxt[s]-1) { // ACK ≥ FIN+1
		t.parkedStep(r, slot, s, to, seg, cAckHealed)
	}
}

// parkedStep moves side s of a connection judged on its compact record r,
// in slot, to state to, on segment seg for the reason why: in its frozen
// Record, or in the counts of those forgotten; and tells it, as settle
// does for a whole one. A TIME_WAIT it enters lasts 2×MSL from seg.
func (t *Tracker) parkedStep(r *twRecord, slot uint32, s Side, to State, seg *Segment, why cause) {
	from, at := r.state(s), seg.Time
	r.setState(s, to)
	if to != Closed {
		t.keepParked(r, at+t.twLen) // (one back in CLOSING or LAST_ACK waits for an ACK)
	}
	tr := trans{time: at, packet: seg.Packet, why: why, side: s, from: from, to: to}
	if fr := t.frozenOf(r); fr != nil {
		fr.states[s] = to
		if to == TimeWait {
			fr.twSince[s] = at // (its timer, set when it was last in TIME_WAIT, finds it: frozentw.go)
		}
		if s == Client && !fr.Midstream && fr.followed && (to == TimeWait) != (from == TimeWait) {
			t.twCountKey(twKeyFor(&fr.Key, fr.clientIsA), at, to == TimeWait) // (timewait.go)
		}
		if t.cfg.FrozenTransitions {
			fr.trs = append(fr.trs, tr)
		}
		if t.cfg.OnFrozenTransition != nil {
			t.cfg.OnFrozenTransition(fr, tr.public())
		}
		return
	}
	t.forgottenStep(&r.key, r.clientIsA(), s, from, to) // (forgottensvc.go)
	// (The build-up count keeps a forgotten client that steps back to
	// CLOSING and on to TIME_WAIT, as its compact record says (twCounted):
	// its timer leaves it when that ends.)
	if to == TimeWait {
		t.forgottenEndsAt(slot, r, s, at+t.twLen) // (its timer, set when it was last in TIME_WAIT, finds it)
	}
	t.tellForgotten(t.latestID(r.id), &r.key, r.clientIsA(), tr)
}

// frozenUpToDate closes the sides of a frozen Record whose TIME_WAIT ran
// out by now, and tells its compact record r so, as expireFrozen does when
// its timers are on.
func (t *Tracker) frozenUpToDate(fr *Record, r *twRecord) {
	t.closeFrozen(fr, 0, 0, cExpired)
	for s := Client; s <= Server; s++ {
		if fr.states[s] != TimeWait {
			r.leaveTW(s)
		}
	}
}

// forgottenClosed counts the sides of a forgotten connection that were in
// TIME_WAIT as CLOSED: its TIME_WAIT ran out (why cExpired), or a new
// connection took over the 4-tuple (at, pkt). A frozen one's Record has
// them closed (closeFrozen).
func (t *Tracker) forgottenClosed(r *twRecord, at int64, pkt uint64, why cause) {
	if fr := t.frozenOf(r); fr != nil {
		t.closeFrozen(fr, at, pkt, why)
		r.leaveTWs()
		return
	}
	t.forgetEnds(r)
	for s := Client; s <= Server; s++ {
		if r.inTW(s) {
			when := at
			if why == cExpired {
				when = r.until
			}
			t.forgottenLeftTW(r.id, &r.key, r.clientIsA(), s, when, pkt, why) // frozentw.go
		}
	}
	r.leaveTWs()
	t.uncount(r)
}

// settleForgotten counts, at the end of input, the TIME_WAITs of forgotten
// connections that have run out by then as CLOSED.
func (t *Tracker) settleForgotten() {
	for i := uint32(0); i < t.twRecs.used; i++ {
		if r := t.twRecs.rec(i); r.used() && r.until <= t.now && t.recConn(r) == nil {
			t.forgottenClosed(r, 0, 0, cExpired)
		}
	}
}

// ForgottenStates returns, by side and state, how many connections were
// forgotten beyond MaxKept in that state: the state each side had, a
// TIME_WAIT that ran out since (or was taken over) counted as CLOSED.
func (t *Tracker) ForgottenStates() [2][numStates]uint64 { return t.forgotten }

// evictParked drops the compact record parked first; false if there is none.
func (t *Tracker) evictParked() bool {
	r := t.twRecs.oldest()
	if r == nil {
		return false
	}
	t.evicted.TimeWait++
	if c := t.recConn(r); c != nil {
		t.judgeOpen(c)
		t.retire(c)
		return true
	}
	if fr := t.frozenOf(r); fr != nil && fr.followed {
		// As retire does a whole one: its expiry will not be followed.
		if fr.states[Client] == TimeWait && !fr.Midstream {
			t.twLeaveKey(twKeyFor(&fr.Key, fr.clientIsA))
		}
		fr.followed = false
	} else if fr == nil { // forgotten: its timers lose the record; they end what it holds (orphanTWs)
		t.uncount(r) // as retire does a whole one: its expiry will not be followed
		t.orphan(r)
	}
	t.twRecs.del(&r.key)
	return true
}

// expireParked drops the compact records of forgotten connections for which
// nothing more can arrive, oldest first; a record whose full record is
// still stored leaves with it (retire).
func (t *Tracker) expireParked() {
	for {
		r := t.twRecs.oldest()
		if r == nil || r.until > t.now || t.recConn(r) != nil {
			return
		}
		t.forgottenClosed(r, 0, 0, cExpired)
		t.twRecs.del(&r.key)
	}
}

// unlink removes a connection from whichever table follows it.
func (t *Tracker) unlink(c *Conn) {
	if c.parked {
		t.twRecs.del(&c.Key)
		c.parked = false
	} else {
		t.table.del(&c.Key)
	}
	c.inTable = false
}

// forget drops an ended connection from the report, counting it in the
// state each side had (other: of the lowest rank, never answered). One
// still parked has its last judgement first, as retire gives it.
func (t *Tracker) forget(c *Conn, other bool) {
	if c.parked {
		t.judgeOpen(c)
		t.check(c, t.now, final)
	}
	// (Its opening is not judged: its target may be found under a SYN
	// flood after, and the finding be the flood's.)
	t.judgeEvictedEmbryo(c)
	t.letGoPending(c)
	if late := t.lateSides(c); late != nil {
		t.lateGone.put(forgottenLate{id: c.ID, first: c.First, last: c.Last, key: c.Key, found: c.found, clientIsA: c.clientIsA, late: *late})
	}
	r := t.parkedRec(c)
	states := [2]State{c.half[Client].state, c.half[Server].state}
	t.countForgotten(&c.Key, c.clientIsA, states, c.found, forgetting{own: c.floodsOwn(), evicted: c.Evicted, other: other}) // (forgottensvc.go)
	for s := Client; s <= Server; s++ {
		if r != nil && states[s] != TimeWait {
			r.leaveTW(s) // (its TIME_WAIT ran out while stored)
		}
	}
	if t.cfg.OnForgotten != nil {
		for i := range c.nTrs {
			t.cfg.OnForgotten(c.transAt(i).public())
		}
	}
	due := [2]int64{c.half[Client].twSince + t.twLen, c.half[Server].twSince + t.twLen}
	// Its client's TIME_WAIT stays counted until it ends (a retired one
	// left it already, one back in CLOSING left it then).
	counted := c.parked && !c.Midstream && states[Client] == TimeWait
	if r != nil {
		t.pushForgottenTW(c.twSlot, r, states, due, counted) // frozentw.go
	} else {
		t.pushLostTW(&c.Key, uint32(c.ID), c.clientIsA, states, due, counted)
	}
	t.conns[c.idx] = nil
	t.holes++
	t.evicted.Forgotten++
	if rec, ok := forgottenOpenOf(c, other); ok {
		rec.counted = true
		t.noteNotWhole(&c.Key, rec) // (succession.go)
	}
}
