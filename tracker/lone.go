package tracker

import (
	"math/bits"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// A lone segment is not a connection. A segment for a 4-tuple the tracker
// does not follow, other than a SYN, is held in the lone table: a capped,
// pointer-free FIFO of segments with an open-addressing index. Nothing is
// claimed about its endpoints' states (a single ACK proves neither side
// ESTABLISHED, and a spoofed one proves nothing at all). It becomes a
// connection when the other side answers it with anything but an RST, or
// its sender continues consistently (sequence and acknowledgment numbers
// that do not go back, nor jump further than any window; a SYN-ACK sent
// again exactly does not continue it: a server in SYN_RCVD resends it to a
// silent peer, and backscatter is just that; at the end of input, unless
// backscatter was found, a SYN-ACK resent opens its connection, the server
// in SYN_RCVD, as when the capture lost the client's ACK). The connection
// is then opened with the held segments, in the order they came, exactly
// as it would have been opened at once, and the segment at hand applied to
// it. Of the
// segments that do not continue it, one a little behind (reordered) or the
// same SYN-ACK again is held beside the first, if there is room; any other
// replaces what is held; one not replayed is counted as a lone segment. A
// SYN from the other side is an answer too; a SYN from its sender opens a
// fresh connection. A lone segment answered by an RST shows there was no
// connection to follow (the receiver holds none); one never answered is
// counted. The flood detectors (lonefloods.go) judge both: when refused,
// once loneAnswer has passed since its 4-tuple's first segment came, or
// when the full table drops it, oldest first. A lone segment with
// impossible flags (no SYN, RST nor ACK: a scan) opens its connection when
// judged after loneAnswer or at the end of input, so that its invalid_flags
// finding is made, unless the table was full within loneAnswer (a flood
// pushes them through: counted, not listed).

// DefaultMaxLone is the default cap on 4-tuples whose lone segments are
// held at once: 65,536 entries of 144 bytes (loneEntry) and 8 bytes of
// index, about 10.0 MB.
const DefaultMaxLone = 1 << 16

// loneAnswer is how long a lone segment waits for an answer before the
// flood detectors count it: a live endpoint answers any segment within a
// round trip (at most one delayed-ACK timeout, 200 ms on Linux, later), and
// a connection seen one way continues within its retransmission timeout.
const loneAnswer = 3 * time.Second

// LoneStats counts lone segments: those never answered (nor continued) and
// their distinct 4-tuples, and those answered by an RST.
type LoneStats struct {
	Segments uint64 // lone segments never answered, or replaced on a 4-tuple that became a connection
	Tuples   uint64 // their 4-tuples
	Refused  uint64 // lone segments answered by an RST (the peer had no connection)
}

// Lone returns the lone-segment counts. Before Finish, segments still held
// are not counted yet.
func (t *Tracker) Lone() LoneStats { return t.lone.stats }

// loneEntry is a 4-tuple's held segments, 144 bytes with its hash, no
// pointers: the first held and, from the same sender and after it, a second
// one (a little behind it, reordered, or a SYN-ACK sent again: later*).
type loneEntry struct {
	seg   Segment
	since int64  // when the 4-tuple's first segment came: the entry's place in the ring
	hash  uint64 // 0: a hole (promoted or dropped)

	laterTime          int64
	laterPacket        uint64
	laterSeq, laterAck seqnum.Value
	laterPayload       uint32
	n                  uint32 // segments seen on the 4-tuple: those held and those that did not continue them
	laterFlags         Flags
	laterWindow        uint16
	laterWScale        int8
	laterChecksum      Checksum
	two                bool // a second segment is held
	known              bool // its 4-tuple's connection was evicted open (evictedjudge.go): its own segments, no flood's
}

// loneTable holds lone segments in order of arrival: ring[(head+i)%len]
// for i < count, the first judged of them judged. index maps a key's hash
// to its ring position + 1 (0: empty), linear probing at load ≤ 1/2.
type loneTable struct {
	ring                []loneEntry
	head, count, judged int
	live                int
	index               []uint32
	max                 int
	stats               LoneStats
	dropped             int64 // when the full table last dropped an entry to make room
}

// opensConn reports whether a segment for an unknown 4-tuple opens a
// connection at once: a SYN (the SYN-flood detector follows those), or a
// SYN with FIN or RST (invalid_flags, on the connection it opens).
func opensConn(seg *Segment) bool { return seg.Flags&(SYN|ACK) == SYN }

// loneInvalid reports whether a lone segment has impossible flags.
func loneInvalid(seg *Segment) bool { return seg.Flags&(SYN|RST|ACK) == 0 }

// loneFor handles a segment for a 4-tuple k the tracker does not follow.
// It returns the connection the segment belongs to (nil: a new one, for a
// SYN), or held set if the segment is held, dropped, or already applied to
// the connection its 4-tuple's held segments were promoted to.
func (t *Tracker) loneFor(k *FlowKey, hk uint64, seg *Segment, fromA, known bool) (_ *Conn, held bool) {
	lt := &t.lone
	h := hk | 1
	i, ok := lt.find(k, h)
	syn := opensConn(seg)
	if !ok {
		if !syn {
			lt.add(t, seg, h, known)
		}
		return nil, !syn
	}
	e := &lt.ring[i]
	if fa := e.seg.Src == k.A && e.seg.SrcPort == k.APort; fa != fromA {
		if seg.Flags&RST != 0 {
			// Refused: its receiver holds no connection. A flood at its
			// victim looks like this, every segment answered by an RST.
			if !lt.isJudged(i) && !e.known {
				t.floods.count(t, &e.seg, e.n)
			}
			lt.stats.Refused += uint64(e.n)
			lt.remove(i)
			return nil, true
		}
	} else if syn {
		lt.forget(i) // its sender opens a connection: what it sent before opened nothing
		return nil, false
	} else if !e.continuedBy(seg) {
		e.hold(seg)
		return nil, true
	}
	t.promote(i, seg)
	return nil, true
}

// promote opens the connection of the entry at ring position i with its
// held segments, in the order they came, then applies seg to it: exactly
// as if the first had opened it at once. A segment that was replaced, or
// found no room, is not part of it: it is counted as a lone segment.
func (t *Tracker) promote(i int, seg *Segment) {
	t.openHeld(i)
	t.observe(seg, FlowHash{})
}

// openHeld opens the connection of the entry at ring position i with its
// held segments, in the order they came.
func (t *Tracker) openHeld(i int) {
	lt := &t.lone
	e := &lt.ring[i]
	first, two := e.seg, e.two
	var second Segment
	if two {
		second = e.later()
	}
	if lost := e.n - e.kept(); lost > 0 {
		lt.stats.Segments += uint64(lost)
		lt.stats.Tuples++
	}
	lt.remove(i)
	t.openLone(&first)
	if two {
		t.observe(&second, FlowHash{})
	}
}

// resentSynAck reports whether the entry holds a SYN-ACK and the same
// SYN-ACK sent again: its sender is a server in SYN_RCVD retransmitting to
// a peer that did not answer, or whose answer the capture did not hold.
func (e *loneEntry) resentSynAck() bool {
	return e.two && e.seg.Flags&(SYN|ACK) == SYN|ACK && e.laterFlags == e.seg.Flags &&
		e.laterSeq == e.seg.Seq && e.laterAck == e.seg.Ack
}

// continuedBy reports whether seg, from the held segments' sender,
// continues them. A SYN-ACK sent again exactly does not: a server in
// SYN_RCVD resends it to a silent peer (to a spoofed one, under a SYN
// flood elsewhere), which proves nothing of the peer.
func (e *loneEntry) continuedBy(seg *Segment) bool {
	syn := seg.Flags&SYN != 0
	if syn && sameSegment(&e.seg, seg) {
		return false
	}
	if !e.two {
		return continues(&e.seg, seg)
	}
	second := e.later()
	if syn && sameSegment(&second, seg) {
		return false
	}
	return continues(&e.seg, seg) || continues(&second, seg)
}

// hold keeps seg, from the held segments' sender, which does not continue
// them. A segment a little behind the first (reordered on the way) or the
// same SYN-ACK again is kept beside it, if there is room (else only
// counted); any other replaces what is held, to be continued in turn.
func (e *loneEntry) hold(seg *Segment) {
	e.n++
	behind := continues(seg, &e.seg) && e.seg.Seq.Sub(seg.Seq) <= loneBehind
	switch {
	case !behind && !sameSegment(&e.seg, seg):
		e.seg, e.two = *seg, false
	case !e.two:
		e.two = true
		e.laterTime, e.laterPacket, e.laterSeq, e.laterAck = seg.Time, seg.Packet, seg.Seq, seg.Ack
		e.laterPayload, e.laterFlags, e.laterWindow = seg.Payload, seg.Flags, seg.Window
		e.laterWScale, e.laterChecksum = seg.WScale, seg.Checksum
	}
}

// later returns the second held segment (valid if two).
func (e *loneEntry) later() Segment {
	s := e.seg
	s.Time, s.Packet, s.Seq, s.Ack = e.laterTime, e.laterPacket, e.laterSeq, e.laterAck
	s.Payload, s.Flags, s.Window = e.laterPayload, e.laterFlags, e.laterWindow
	s.WScale, s.Checksum = e.laterWScale, e.laterChecksum
	s.HasTS, s.TSVal, s.TSEcr = false, 0, 0 // not kept: not the first one's
	return s
}

// kept is how many segments the entry holds.
func (e *loneEntry) kept() uint32 {
	if e.two {
		return 2
	}
	return 1
}

// sameSegment reports whether b repeats a exactly: the same flags,
// numbers and length.
func sameSegment(a, b *Segment) bool {
	return a.Flags == b.Flags && a.Seq == b.Seq && a.Ack == b.Ack && a.Payload == b.Payload
}

// continues reports whether b, from the same sender as a, continues it:
// sequence numbers that do not go back nor jump more than loneJump, and
// the same of acknowledgment numbers when both carry one.
func continues(a, b *Segment) bool {
	if d := b.Seq.Sub(a.Seq); d < 0 || d > loneJump {
		return false
	}
	if d := b.Ack.Sub(a.Ack); a.Flags&b.Flags&ACK != 0 && (d < 0 || d > loneJump) {
		return false
	}
	return a.Flags&RST == 0 && b.Flags&RST == 0
}

// loneBehind is the most a segment may be behind the one held first and
// be kept beside it, reordered on the way: 1 MiB, a window's worth.
const loneBehind = 1 << 20

// loneJump is the most sequence space two segments of one sender may be
// apart and be taken for one connection: 16 MiB, a window scaled far
// beyond the default (Linux's largest default receive buffer is 6 MiB). A
// spoofer's random numbers fall within it 1 time in 65,536 per 4-tuple it
// happens to hit twice.
const loneJump = 1 << 24

// openLone opens the connection whose first segment was held.
func (t *Tracker) openLone(first *Segment) *Conn {
	k, fromA := keyOf(first)
	c := t.newConn(k, first, fromA)
	t.update(c, first, c.sideOf(fromA))
	t.closeIfNothing(c)
	return c
}

// closeIfNothing: a first segment that opened nothing (a lone RST, a
// segment with impossible flags): the connection is over as soon as it
// began.
func (t *Tracker) closeIfNothing(c *Conn) {
	if c.nTrs == 0 && c.half[0].packets+c.half[1].packets == 1 && c.half[0].state == Closed && c.half[1].state == Closed {
		t.closed.push(timerOf(c, c.Last+t.twLen))
	}
}

// find returns the ring position of k's entry.
func (lt *loneTable) find(k *FlowKey, h uint64) (int, bool) {
	if lt.live == 0 {
		return 0, false
	}
	mask := uint64(len(lt.index) - 1)
	for j := h & mask; ; j = (j + 1) & mask {
		p := lt.index[j]
		if p == 0 {
			return 0, false
		}
		e := &lt.ring[p-1]
		if e.hash == h {
			if ek, _ := keyOf(&e.seg); ek.eq(k) {
				return int(p - 1), true
			}
		}
	}
}

// add holds seg, making room first: the table grows to its cap, then the
// oldest entry is dropped (and judged, if it was not yet).
func (lt *loneTable) add(t *Tracker, seg *Segment, h uint64, known bool) {
	if lt.count == len(lt.ring) {
		if len(lt.ring) < lt.max {
			lt.grow(min(lt.max, max(1024, 2*len(lt.ring))))
		} else {
			t.loneDropOldest()
		}
	}
	i := (lt.head + lt.count) % len(lt.ring)
	lt.count++
	lt.ring[i] = loneEntry{seg: *seg, since: seg.Time, hash: h, n: 1, known: known}
	lt.insert(i)
	lt.live++
}

// loneDropOldest drops the oldest entry, judging it first.
func (t *Tracker) loneDropOldest() {
	lt := &t.lone
	lt.dropped = t.now
	if lt.judged == 0 {
		t.loneJudge(lt.head, false)
		lt.judged++
	}
	if lt.ring[lt.head].hash != 0 {
		lt.forget(lt.head)
	}
	lt.head = (lt.head + 1) % len(lt.ring)
	lt.count--
	lt.judged--
}

// isJudged reports whether the entry at ring position i was judged.
func (lt *loneTable) isJudged(i int) bool {
	return (i-lt.head+len(lt.ring))%len(lt.ring) < lt.judged
}

// forget counts an entry that was never answered and removes it.
func (lt *loneTable) forget(i int) {
	lt.stats.Segments += uint64(lt.ring[i].n)
	lt.stats.Tuples++
	lt.remove(i)
}

// grow reallocates the ring with room for size entries, oldest first.
func (lt *loneTable) grow(size int) {
	ring := make([]loneEntry, size)
	for i := 0; i < lt.count; i++ {
		ring[i] = lt.ring[(lt.head+i)%len(lt.ring)]
	}
	lt.ring, lt.head = ring, 0
	// Probing masks with len(index)-1: its length is a power of two, at
	// least twice the ring's (load ≤ 1/2, whatever MaxLone is).
	lt.index = make([]uint32, 2<<bits.Len(uint(size-1)))
	for i := 0; i < lt.count; i++ {
		if ring[i].hash != 0 {
			lt.insert(i)
		}
	}
}

func (lt *loneTable) insert(i int) {
	mask := uint64(len(lt.index) - 1)
	j := lt.ring[i].hash & mask
	for lt.index[j] != 0 {
		j = (j + 1) & mask
	}
	lt.index[j] = uint32(i + 1)
}

// remove leaves a hole at ring position i and deletes it from the index,
// shifting later entries of its probe run back (no tombstones).
func (lt *loneTable) remove(i int) {
	mask := uint64(len(lt.index) - 1)
	j := lt.ring[i].hash & mask
	for lt.index[j] != uint32(i+1) {
		j = (j + 1) & mask
	}
	for k := (j + 1) & mask; lt.index[k] != 0; k = (k + 1) & mask {
		if fillsHole(j, k, lt.ring[lt.index[k]-1].hash&mask) {
			lt.index[j] = lt.index[k]
			j = k
		}
	}
	lt.index[j] = 0
	lt.ring[i].hash = 0
	lt.live--
}

// loneTimers judges the entries whose first segment came loneAnswer ago
// or more: by that time, not their latest segment's, which a 4-tuple's
// changing segments move on while the ring stays in order of first arrival
// (judging by it, one busy 4-tuple held up every entry behind it).
func (t *Tracker) loneTimers() {
	lt := &t.lone
	for lt.judged < lt.count {
		i := (lt.head + lt.judged) % len(lt.ring)
		if e := &lt.ring[i]; e.hash != 0 && e.since+int64(loneAnswer) > t.now {
			return
		}
		t.loneJudge(i, true)
		lt.judged++
	}
}

// loneJudge: the segment at ring position i was not answered in time (or
// is dropped, or the input ended). The flood detectors count it; one with
// impossible flags opens its connection, with open, unless the table was
// full within loneAnswer: a flood pushes them through, counted, not listed.
func (t *Tracker) loneJudge(i int, open bool) {
	lt := &t.lone
	e := &lt.ring[i]
	if e.hash == 0 {
		return
	}
	if !e.known {
		t.floods.count(t, &e.seg, e.n)
	}
	if open && loneInvalid(&e.seg) && e.n == 1 && (lt.dropped == 0 || t.now-lt.dropped > int64(loneAnswer)) {
		first := e.seg
		t.lone.remove(i)
		t.openLone(&first)
	}
}

// loneFinish judges every segment still held, and counts those never
// answered.
func (t *Tracker) loneFinish() {
	lt := &t.lone
	for ; lt.judged < lt.count; lt.judged++ {
		t.loneJudge((lt.head+lt.judged)%len(lt.ring), true)
	}
	// A server that resent its SYN-ACK was in SYN_RCVD: with no backscatter
	// found (a flood elsewhere spoofing this network), it is a connection
	// whose client's side the capture did not hold, as when only one
	// direction was captured.
	backscatter := t.kindCount[SynackBackscatter] > 0
	for i := 0; i < lt.count; i++ {
		j := (lt.head + i) % len(lt.ring)
		switch e := &lt.ring[j]; {
		case e.hash == 0:
		case !backscatter && e.resentSynAck():
			t.openHeld(j)
		default:
			lt.forget(j)
		}
	}
	lt.head, lt.count, lt.judged = 0, 0, 0
}
