package tracker

import "github.com/tcpwatch/tcpwatch/tracker/seqnum"

// A handshake in progress that the full flow table evicts (evictEmbryo)
// is not known to have failed: on a busy server whose open connections
// outnumber --max-conns, most are evicted within their round trip, and
// their SYN-ACK and ACK then follow. Counted as unanswered SYNs, they made
// every busy service a SYN flood; dropped, their answers opened
// connections picked up mid-stream, and an RST that refused one refused
// nothing. So one evicted before its target is found under a flood waits
// here, whole, out of the table, until its handshake would time out in
// the table (Thresholds.HandshakeTimeout after its SYN): a segment of its
// 4-tuple by then brings it back into the table (evictedSYNFor), and is
// applied to it as if it had never left. Past that, its SYN counts as
// failed, as it would in the table, and it is kept for the report as an
// evicted open connection is, or dropped, the flood's own, if its target
// is found under a flood by then. Pushed out by maxHeldSYNs more before
// that, its SYN counts as failed and it is dropped, counted in Embryonic
// (or, at the end, in Flood if its target is found under a flood by
// then: settleForgottenFloods). At the end of input, its SYN counts as
// failed, and it is listed, as a handshake still in the table is. A real flood that
// overflows the table is still found, its SYNs counted when they time
// out, or maxHeldSYNs evictions later, whichever is sooner.

// evictedSYN is the SYN of an evicted handshake, waiting.
type evictedSYN struct {
	failedSYN
	seq uint64 // its number, to find whether it was answered since (waitingSYN)
}

// evictedSYNs holds them, oldest first, and by 4-tuple the number of the
// latest one still waiting.
type evictedSYNs struct {
	q       fifo[evictedSYN]
	waiting map[FlowKey]waitingSYN
	next    uint64
	dropped droppedSYNs
	own     []uint64 // the flood's own dropped as they were evicted, lossily (rememberOwn)
}

// waitingSYN is the latest evicted SYN of a 4-tuple still waiting: its
// connection, out of the table, and the flood target it counts for.
type waitingSYN struct {
	seq uint64
	c   *Conn
	ft  *floodTarget
}

const maxEvictedSYNs = 1 << 14

// maxHeldSYNs is how many evicted handshakes wait at most: maxEvictedSYNs
// (20 MB of connections), or four times the flow table if that is fewer,
// 4,096 at least, so that memory stays within what the caps allow. With
// 1,024 at --max-conns 2, a busy server's 3,000 handshakes in progress
// were dropped before their answers came, and made a SYN flood.
func (t *Tracker) maxHeldSYNs() int { return min(maxEvictedSYNs, max(4096, 4*t.maxConns)) }

// holdEvictedSYN holds c, a handshake in progress being evicted, out of
// the table.
func (t *Tracker) holdEvictedSYN(c *Conn) {
	w := &t.evictedSYNs
	if w.waiting == nil {
		w.waiting = make(map[FlowKey]waitingSYN)
	}
	ft := c.flood
	c.flood = nil
	ft.halfOpen--
	w.next++
	w.waiting[c.Key] = waitingSYN{seq: w.next, c: c, ft: ft}
	w.q.push(evictedSYN{failedSYN: failedSYN{key: c.Key, clientIsA: c.clientIsA, first: c.First, verdict: verdictOf(c, t.now)},
		seq: w.next})
	t.letGoPending(c)
	t.unlink(c)
	t.settleEvictedSYNs(false)
}

// evictedSYNFor brings back into the table the handshake of 4-tuple k
// evicted and waiting, if there is one, for a segment of k: it returns it,
// or nil.
func (t *Tracker) evictedSYNFor(k *FlowKey) *Conn {
	w := &t.evictedSYNs
	if len(w.waiting) == 0 {
		return nil
	}
	e, ok := w.waiting[*k]
	if !ok {
		return nil
	}
	delete(w.waiting, *k)
	c := e.c
	for t.table.len() >= t.maxConns && t.evictOne() {
	}
	t.table.put(c)
	c.inTable = true
	c.flood = e.ft
	e.ft.halfOpen++
	t.evicted.Embryonic--
	t.evicted.Readmitted++
	t.queueReadmitted(c)
	return c
}

// queueReadmitted queues a connection brought back into the table for
// eviction again: in the LRU queue (its entry may have gone while it was
// out), and a handshake in progress by its handshake's age too.
func (t *Tracker) queueReadmitted(c *Conn) {
	t.pushEvictable(&t.lru, timerOf(c, c.Last))
	if !c.embryonic() {
		return
	}
	if due := c.First + int64(t.th.HandshakeTimeout); due > t.now {
		t.handshakes.push(timerOf(c, due))
	} else {
		t.pushEvictable(&t.embryos, timerOf(c, t.now))
	}
}

// settleEvictedSYNs counts as failed the evicted SYNs that waited their
// time or for which there is no room, or all of them (end of input).
func (t *Tracker) settleEvictedSYNs(all bool) {
	w := &t.evictedSYNs
	for w.q.len() > 0 {
		e := w.q.front()
		if !all && w.q.len() <= t.maxHeldSYNs() && t.now < e.first+int64(t.th.HandshakeTimeout) {
			return
		}
		if ws, ok := w.waiting[e.key]; ok && ws.seq == e.seq {
			delete(w.waiting, e.key)
			t.floodCount(ws.ft, e.failedSYN, e.first)
			switch {
			case all:
				t.evicted.Embryonic-- // listed, as one still in the table is at the end
			case !t.cfg.KeepFlood && t.flood.flooded(ws.c):
				ws.ft.noteSYNsAgain(ws.c)
				t.rememberOwn(ws.c, ws.ft)
				t.drop(ws.c) // the flood's own: its finding summarizes it
				t.floodsOwnLeftOut(true)
			case t.now < e.first+int64(t.th.HandshakeTimeout):
				// Pushed out in progress: its answer may still come, and
				// open a connection of its own (kept whole, 1.2 KB, each
				// of a flood's many would be); its SYN sent again is the
				// same handshake (droppedSYNs).
				t.dropWaiting(ws)
			default:
				t.keepEvictedEmbryo(ws.c)
			}
		}
		w.q.pop()
	}
}

// keepEvictedEmbryo keeps for the report a handshake evicted from the
// table (or waiting out of it, evictedsyn.go, until its time ran out), not
// the flood's own, as an open connection evicted is kept (retire): listed,
// judged at the end of input, and brought back into the table by a later
// segment of its 4-tuple while kept whole (readmit). A table large enough
// would have listed it: a SYN never answered is a syn_timeout, and its
// retransmissions, or a late answer, are its own, not a new connection's.
// It is not judged as it leaves: that would settle a side whose
// retransmission is overdue as having given up (as a live sweep does),
// and its late answer would then open a connection of its own; a table
// large enough reading a file settles nothing before the end. Frozen
// before the end, it is judged then (freeze).
func (t *Tracker) keepEvictedEmbryo(c *Conn) {
	c.Evicted = true
	t.floodFailed(c, c.First) // (counted already if it had timed out in the table)
	if c.inTable {
		t.letGoPending(c)
		t.unlink(c)
	}
	t.evictedLate(c)
	t.keep(c)
}

// floodsOwnLeftOut counts a handshake of a SYN flood's own left out of
// the report: in Flood, and no longer in Embryonic if it was evicted
// (keepEvictedEmbryo, or waiting).
func (t *Tracker) floodsOwnLeftOut(evicted bool) {
	t.evicted.Flood++
	if evicted {
		t.evicted.Embryonic--
	}
}

// judgeEvictedEmbryo judges c if it is a handshake kept whole since its
// eviction and not judged then (keepEvictedEmbryo), as it is frozen or
// forgotten: what it is then is what the report keeps of it.
func (t *Tracker) judgeEvictedEmbryo(c *Conn) {
	if c.Evicted && !c.inTable && c.embryonic() {
		t.check(c, t.now, evicting)
	}
}

// A handshake pushed out of those waiting before its time is dropped, its
// SYN counted as failed; the SYN sent again (Linux: 1 s, 3 s, 7 s… later)
// would open a connection of its own, counted as failed again, and a
// flood whose sources send theirs again counted 48,440 handshakes of
// 30,000, and made real clients' silent server a flood of its own. So the
// dropped ones are remembered, the last maxDroppedSYNs, by 4-tuple: a SYN
// of one with the same ISN opens the connection that goes on with it
// (takeOverDropped), with its first SYN's time and count, counted once.

// droppedSYN is what a handshake dropped waiting leaves: its client's
// SYN, and its server's SYN-ACK if one was seen (synAck.sent > 0), to open
// its connection again from them when a later segment shows it went on
// (resumeDropped).
type droppedSYN struct {
	isn       seqnum.Value
	first     int64
	packet    uint64 // of its first SYN
	syns      uint32 // SYNs it had sent
	seq       uint64 // to tell this from a later one of the 4-tuple (order)
	ft        *floodTarget
	window    uint16 // advertised in its SYN
	wscale    int8
	clientIsA bool
	replayed  bool // its SYN is being applied again (resumeDropped), not sent again
	synAck    droppedSynAck
}

// droppedSynAck is the server's SYN-ACK of a handshake dropped waiting.
type droppedSynAck struct {
	isn    seqnum.Value
	time   int64
	packet uint64
	sent   uint32 // SYN-ACKs it had sent; 0: none seen
	window uint16
	wscale int8
}

type droppedSYNs struct {
	m     map[FlowKey]droppedSYN
	order fifo[droppedKey]
	next  uint64
}

type droppedKey struct {
	key FlowKey
	seq uint64
}

// maxDroppedSYNs bounds the handshakes dropped waiting that are
// remembered: about 13 MB (200 bytes each, with their places in the map
// and the order).
const maxDroppedSYNs = 1 << 16

// dropWaiting drops the waiting handshake ws, pushed out before its time,
// and remembers it.
func (t *Tracker) dropWaiting(ws waitingSYN) {
	c := ws.c
	t.drop(c)
	ws.ft.droppedWaiting++
	d := &t.evictedSYNs.dropped
	if d.m == nil {
		d.m = make(map[FlowKey]droppedSYN)
	}
	if d.order.len() >= maxDroppedSYNs {
		old := d.order.pop()
		if e, ok := d.m[old.key]; ok && e.seq == old.seq {
			delete(d.m, old.key)
		}
	}
	d.next++
	h := &c.half[Client]
	var packet uint64
	if c.nTrs > 0 {
		packet = c.transAt(0).packet
	}
	d.m[c.Key] = droppedSYN{isn: h.isn, first: c.First, packet: packet, syns: h.synRtx + 1, seq: d.next, ft: ws.ft,
		window: h.window, wscale: h.wscale, clientIsA: c.clientIsA, synAck: synAckOf(c)}
	d.order.push(droppedKey{c.Key, d.next})
}

// synAckOf returns what c, a handshake in progress, holds of its server's
// SYN-ACK: nothing (sent 0) if none was seen.
func synAckOf(c *Conn) droppedSynAck {
	h := &c.half[Server]
	if !h.sentSynAck || !h.isnKnown {
		return droppedSynAck{}
	}
	a := droppedSynAck{isn: h.isn, time: h.synTime, sent: h.synRtx + 1, window: h.window, wscale: h.wscale}
	for i := range c.nTrs {
		if tr := c.transAt(i); tr.side == Server && tr.from == Closed {
			a.time, a.packet = tr.time, tr.packet
			break
		}
	}
	return a
}

// takeOverDropped makes c, a connection its client's SYN just opened, the
// one a handshake dropped waiting goes on with, if its SYN is that one's
// sent again: it takes its first SYN's time and count, and that one's
// failure, counted already, is not counted again (c follows no flood
// target). It reports whether it did.
func (t *Tracker) takeOverDropped(c *Conn) bool {
	h := &c.half[Client]
	if h.packets != 1 || c.half[Server].packets != 0 {
		return false
	}
	if t.takeOverOwn(c) {
		return true
	}
	d := &t.evictedSYNs.dropped
	if len(d.m) == 0 {
		return false
	}
	e, ok := d.m[c.Key]
	if !ok || e.isn != h.isn {
		return false
	}
	delete(d.m, c.Key)
	syns := e.syns
	if e.replayed {
		syns-- // (c's SYN is its first, applied again)
	} else {
		e.ft.synsAgain = true
	}
	c.First = e.first
	h.packets += uint64(syns)
	h.synRtx += syns
	h.retransmits += syns
	e.ft.droppedWaiting--
	t.evicted.Embryonic--
	return true
}

// noteSYNsAgain notes whether c, a handshake to ft leaving the table,
// sent its SYN again (ft.synsAgain).
func (ft *floodTarget) noteSYNsAgain(c *Conn) {
	ft.synsAgain = ft.synsAgain || c.half[Client].synRtx > 0
}

// ownSlots is the size of the record of the flood's own dropped as they
// were evicted: 2 MB, in buckets of 8 (a cache line), 262,144 of them, the
// last 2.6 s of a flood of 100,000 SYNs a second.
const (
	ownSlots  = 1 << 18
	ownBucket = 8
)

// rememberOwn notes c, a handshake of the flood's own dropped as it is
// evicted (counted in Flood): its SYN sent again is the same handshake,
// its flood's own still, and the connection it opens is counted in its
// place (takeOverOwn). The record is a hash of the 4-tuple and ISN, in a
// bucket of a fixed table, where a full bucket gives a slot at random: a
// flood evicts too many to remember each, and one forgotten is only
// counted twice, as it was before. Only a target whose handshakes were
// seen sending their SYN again has them remembered (ft.synsAgain): a flood
// from spoofed sources sends none, and costs nothing here.
func (t *Tracker) rememberOwn(c *Conn, ft *floodTarget) {
	if ft == nil || !ft.synsAgain {
		return
	}
	e := &t.evictedSYNs
	if e.own == nil {
		e.own = make([]uint64, ownSlots)
	}
	h := t.ownHash(c)
	b := e.own[ownAt(h) : ownAt(h)+ownBucket]
	for i := range b {
		if b[i] == 0 {
			b[i] = h
			return
		}
	}
	b[h>>61] = h
}

// takeOverOwn makes c, a connection its client's single SYN just opened,
// the one a handshake of the flood's own dropped as it was evicted goes
// on with (rememberOwn): that one leaves Flood, and c follows no flood
// target, its SYN counted as failed already.
func (t *Tracker) takeOverOwn(c *Conn) bool {
	e := &t.evictedSYNs
	if e.own == nil {
		return false
	}
	h := t.ownHash(c)
	b := e.own[ownAt(h) : ownAt(h)+ownBucket]
	for i := range b {
		if b[i] == h {
			b[i] = 0
			t.evicted.Flood--
			return true
		}
	}
	return false
}

// ownAt is the first slot of the bucket of hash h.
func ownAt(h uint64) int { return int(h>>20) % (ownSlots / ownBucket) * ownBucket }

// ownHash hashes c's 4-tuple and its client's ISN, never to 0, with
// fixed seeds rather than the flow table's random ones: which handshake a
// full bucket forgets decides what is counted, and the same input must
// give the same report every time. (Colliding on purpose only makes a
// flood's own handshakes count twice, as they did before this record.)
func (t *Tracker) ownHash(c *Conn) uint64 {
	return mix(hashKey(&c.Key, 0x2545F4914F6CDD1D, 0x9FB21C651E98DF25)^uint64(c.half[Client].isn), 0x94D049BB133111EB) | 1
}

// resumeDropped applies seg, for no connection followed, if it goes on
// with a handshake dropped waiting (droppedSYN.goesOnWith): its server's
// RST acknowledging the SYN, a later segment of its client (the ACK of
// the SYN-ACK), or, once a SYN-ACK was seen, one of its server past it. The
// handshake's connection is opened again from its SYN and SYN-ACK
// (takeOverDropped takes the SYNs sent over), and seg applied to it, as a
// table large enough would have had it: a connection_refused, or a
// connection opened and followed, not lone segments. It reports whether
// it did.
func (t *Tracker) resumeDropped(k *FlowKey, seg *Segment, fromA bool) bool {
	d := &t.evictedSYNs.dropped
	e, ok := d.m[*k]
	if !ok || !e.goesOnWith(seg, fromA) {
		return false
	}
	e.replayed = true
	d.m[*k] = e
	cli, srv := seg.Src, seg.Dst
	cliPort, srvPort := seg.SrcPort, seg.DstPort
	if fromA != e.clientIsA {
		cli, srv, cliPort, srvPort = srv, cli, srvPort, cliPort
	}
	syn := Segment{Time: e.first, Packet: e.packet, Src: cli, Dst: srv, SrcPort: cliPort, DstPort: srvPort,
		Seq: e.isn, Flags: SYN, Window: e.window, WScale: e.wscale, Checksum: ChecksumUnverified, Tunnel: seg.Tunnel}
	t.observe(&syn, FlowHash{})
	if cur, ok := d.m[*k]; ok && cur.seq == e.seq {
		delete(d.m, *k) // (not taken over: seg is not to come back here)
	}
	if a := &e.synAck; a.sent > 0 {
		synAck := Segment{Time: a.time, Packet: a.packet, Src: srv, Dst: cli, SrcPort: srvPort, DstPort: cliPort,
			Seq: a.isn, Ack: e.isn.Add(1), Flags: SYN | ACK, Window: a.window, WScale: a.wscale, Checksum: ChecksumUnverified, Tunnel: seg.Tunnel}
		t.observe(&synAck, FlowHash{})
		t.synAcksSentAgain(k, a.sent-1)
	}
	t.observe(seg, FlowHash{})
	return true
}

// synAcksSentAgain counts, on the connection of k just opened again
// (resumeDropped), the SYN-ACKs its server had sent after the first.
func (t *Tracker) synAcksSentAgain(k *FlowKey, n uint32) {
	if c := t.table.get(k); c != nil && n > 0 {
		h := &c.half[Server]
		h.packets += uint64(n)
		h.synRtx += n
		h.retransmits += n
	}
}

// resumeWindow is how far past its SYN (or SYN-ACK) a segment of a
// handshake dropped waiting may start, and acknowledge, to go on with it.
const resumeWindow = 1 << 20

// goesOnWith reports whether seg, from A (fromA) or B, goes on with the
// handshake dropped waiting e: the server's RST acknowledging e's SYN; or
// a segment with no SYN of the client, or once e holds the server's
// SYN-ACK of either side, starting where its sender's SYN left off or a
// little beyond, and acknowledging, if it does, where the peer's did.
func (e *droppedSYN) goesOnWith(seg *Segment, fromA bool) bool {
	fromClient := fromA == e.clientIsA
	if !fromClient && seg.Flags&RST != 0 {
		return seg.Flags&(SYN|ACK) == ACK && seg.Ack == e.isn.Add(1)
	}
	if seg.Flags&SYN != 0 {
		// A client's SYN sent again is takeOverDropped's. A SYN-ACK
		// that comes after is not taken for this handshake's: a SYN
		// flood's target sends its SYN-ACKs again to sources that never
		// answer, and those opened again would be left out of the
		// flood's (they follow no flood target), listed half-open.
		return false
	}
	own, peer, peerKnown := e.isn, e.synAck.isn, e.synAck.sent > 0
	if !fromClient {
		if !peerKnown {
			return false
		}
		own, peer = peer, own
	}
	if seqnum.Size(seg.Seq.Sub(own.Add(1))) >= resumeWindow {
		return false
	}
	return seg.Flags&ACK == 0 || !peerKnown || seqnum.Size(seg.Ack.Sub(peer.Add(1))) < resumeWindow
}
