package tracker

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
	"github.com/tcpwatch/tcpwatch/tracker/zeek"
)

// Side names one endpoint of a connection.
type Side uint8

const (
	Client Side = iota // sent the first SYN (or, mid-stream, the higher/ephemeral port)
	Server
)

// String returns "client" or "server".
func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Peer returns the other side.
func (s Side) Peer() Side { return 1 - s }

// Half is what the observer knows about one endpoint of a connection: the
// facts established by the segments seen so far, and the RFC 793 state that
// follows from them. The facts are phrased from this endpoint's point of view
// ("its SYN was acknowledged", "it received the peer's FIN"); the state is
// derived from them by [Half.derive], never set directly, so that a later
// correction of one fact (an ACK that never arrived) yields the right state.
type Half struct {
	// Times, ns since the epoch (0: never).
	twSince     int64 // when it entered TIME_WAIT
	since       int64 // when it entered its current state
	synTime     int64 // when its SYN or SYN-ACK was sent
	rtt         int64 // round trip between the capture point and it, from the handshake; 0: unknown
	nxtTime     int64 // when a segment of its last moved nxt forward (0: an ACK of the peer's did)
	ackTime     int64 // when its acknowledgment number last moved forward
	lastData    int64 // its last segment with payload
	finTime     int64 // its first FIN
	finLast     int64 // its latest FIN transmission
	overAck     int64 // when it first acknowledged more than the peer was seen to send
	silentSince int64 // the first of its retransmissions since the peer last sent anything
	silentGap   int64 // the gap before the latest of them
	zeroSince   int64 // since when it advertises a zero window; 0: it does not
	lastRtx     int64 // its latest retransmission of a SYN-ACK or FIN
	rtxGap      int64 // the gap before it
	heldAck     int64 // a repeat of the lost ACK, not believed yet (see heal); 0: none
	heldAckPkt  uint64

	packets     uint64 // segments it sent
	missed      uint64 // bytes of its data the capture missed, in gaps its later segments jumped (see missedBytes)
	bytes       uint64 // payload bytes it sent (retransmissions included)
	retransmits uint32 // segments carrying only sequence space it had already sent
	// synTSVal is the TSval of its first SYN, 0 when it carried no
	// timestamps option (or none was seen).
	synTSVal uint32
	lastSent int64 // time of its last segment, 0 if none

	// Sequence space.
	isn     seqnum.Value    // its initial sequence number, valid with synSent
	finSeq  seqnum.Value    // sequence number its FIN occupies, valid with finSent
	finAck  seqnum.Value    // acknowledgment number its FIN carried
	synEnd  seqnum.Value    // one past its SYN and the data it carried (Fast Open), valid with synSent
	nxt     seqnum.Value    // one past the highest sequence number it sent (its snd.nxt), valid with nxtValid
	sent    seqnum.Value    // one past the highest sequence number of a segment it was seen to send, valid with sentValid
	ack     seqnum.Value    // highest acknowledgment number it sent (its rcv.nxt as last told), valid with ackValid
	lostAck seqnum.Value    // the acknowledgment proven lost (see lostAcks)
	gaps    holes           // the latest gaps in what it was seen to send
	jump    [2]seqnum.Value // the latest jump past the peer's window, not (yet) known as data missed, with jumped
	lastSig segSig          // its previous segment, to recognize capture duplicates

	synRtx    uint32 // retransmissions of its SYN or SYN-ACK
	finRtx    uint32 // retransmissions of its FIN
	silentRtx uint16 // retransmissions since the peer last sent anything (at most 65,535)
	window    uint16 // last advertised window, unscaled
	wscale    int8   // window scale from its SYN, -1 if none
	// lostAcks counts how often this endpoint retransmitted a SYN-ACK or FIN
	// that the peer had already acknowledged: proof that the acknowledgment
	// never arrived. After such a proof (blackHoleProofs) nothing carrying the same
	// acknowledgment (lostAck) is believed to arrive.
	lostAcks uint8
	// synAcksLost counts how often it sent its SYN again after a SYN-ACK
	// of the peer's had passed: proof that the SYN-ACKs do not reach it.
	// After blackHoleProofs of them a copy is not believed to arrive until
	// it acknowledges one.
	synAcksLost uint8

	state State // derived from the facts below by derive, and set only by Tracker.settle

	// Facts.
	synSent  bool // it sent a SYN or SYN-ACK (or, mid-stream, is assumed to have)
	peerSyn  bool // it received the peer's SYN (a SYN-ACK for an active opener)
	synAcked bool // the peer acknowledged its SYN (ACK ≥ ISN+1)
	finSent  bool // it sent a FIN
	finFirst bool // its FIN did not acknowledge a FIN of the peer: it closed first (or both crossed)
	finAcked bool // the peer acknowledged its FIN (ACK ≥ FIN+1)
	peerFin  bool // it received the peer's FIN
	reset    bool // it sent an RST, or received one it accepted
	// pawsDropped: in SYN_SENT, it dropped the peer's latest segment for
	// a TSecr older than its SYN (tsecrNotSent), so an RST at that
	// segment's ACK answers it (Linux's reset_and_undo) and ends nothing.
	pawsDropped bool
	gaveUp      bool // it stopped retransmitting its SYN-ACK or FIN at Linux's limit: the kernel dropped it
	// synAbandoned: in SYN_SENT, it did not send its SYN again when due
	// (synSilent): refused by an RST the capture missed, or it gave up.
	synAbandoned bool
	// midWrite: its last data segment had neither PSH nor FIN: Linux sets
	// PSH on the last segment of each write, so more of it was queued.
	midWrite bool
	// cutOff: it stopped in the middle of a write and never sent again
	// (midWriteSilent): an RST the capture missed ended the connection.
	cutOff bool
	// stateless: it answered the peer's SYN with a SYN-ACK it never sent
	// again, and the peer sent nothing more (synCookie): a SYN cookie, no
	// socket kept until the peer acknowledges it.
	stateless  bool
	reused     bool // a new connection took over the 4-tuple: whatever it held is gone
	twExpired  bool // its TIME_WAIT ran out (2×MSL)
	sentSynAck bool // it sent a SYN-ACK (so a second one is a retransmission)
	synSeen    bool // its SYN or SYN-ACK was seen (so wscale is known)
	rttByData  bool // rtt was measured on data and its ACK, not on the handshake
	// rttShake: rtt is at most a sample of the handshake's, which no
	// delayed ACK lengthens (SYN in, SYN-ACK out; SYN-ACK out, bare ACK
	// back), though later samples may have lowered it.
	rttShake bool
	isnKnown bool // isn is known: its SYN or SYN-ACK was seen, or acknowledged (not so mid-stream)
	// finInferred: its FIN was not captured but inferred from the peer's
	// acknowledgment (finNotCaptured); withdrawn if it turns out to be data.
	finInferred bool
	// synAckInferred: its SYN-ACK was inferred from the peer's ACK; the
	// first copy captured after it is that SYN-ACK, reordered.
	synAckInferred bool
	nxtValid       bool
	sentValid      bool
	ackValid       bool
	// otherISN: it sent a SYN-ACK with another ISN too, which the peer
	// may have taken: its sequence numbers are not known for certain.
	otherISN bool
	// jumped: its sequence numbers jumped past the window the peer
	// offered (jump): data missed once the peer acknowledges it.
	jumped bool
}

// State returns the endpoint's RFC 793 state, derived from its facts.
func (h *Half) State() State { return h.state }

// Sent reports whether this endpoint sent any segment.
func (h *Half) Sent() bool { return h.packets > 0 }

// Packets returns the number of segments it sent.
func (h *Half) Packets() uint64 { return h.packets }

// Bytes returns the payload bytes it sent, retransmissions included.
func (h *Half) Bytes() uint64 { return h.bytes }

// Retransmits returns the number of its segments that carried only
// sequence space it had already sent.
func (h *Half) Retransmits() uint64 { return uint64(h.retransmits) }

// LastSent returns the time of its last segment, 0 if none.
func (h *Half) LastSent() int64 { return h.lastSent }

// Transition is one change of one side's state, with the evidence for it.
type Transition struct {
	Time   int64  // ns since the epoch
	Packet uint64 // packet that caused it; 0 for a timer (TIME_WAIT expiry)
	Side   Side
	From   State
	To     State
	Why    string
	// Inferred: the evidence for it is a segment the capture missed,
	// shown by what followed (an acknowledgment, a sequence number, silence).
	Inferred bool
}

// Conn is one TCP connection: one lifetime of a 4-tuple, with two halves.
type Conn struct {
	ID          uint64
	First, Last int64 // capture times of its first and last segment
	refusedAt   int64 // when its SYN was first answered by RST (or an ICMP error: refusedBy), 0: never
	Key         FlowKey

	idx int32 // index in Tracker.conns
	// twSlot is the slot of its compact record while it is parked
	// (Tracker.parkedRec).
	twSlot uint32
	nTrs   uint32 // transitions recorded
	// Keepalives counts keepalive probes; ZeroWindowProbes counts probes
	// sent while the peer advertised a zero window. Both have the same shape
	// and never move a state.
	Keepalives       uint32
	ZeroWindowProbes uint32
	Duplicates       uint32 // segments the capture duplicated (ignored)
	// NotCaptured counts segments the capture missed that the evidence
	// shows were sent: FINs and SYN-ACKs shown by acknowledgments and
	// sequence numbers, ACKs shown by silence, gaps in the data.
	NotCaptured   uint32
	Invalid       uint32 // segments with impossible flag combinations (ignored)
	BadRST        uint32 // RSTs outside the receiver's window (ignored)
	ChallengedRST uint32 // RSTs in the window but not at its edge: a challenge ACK (RFC 5961)
	BadSeq        uint32 // SYNs or SYN-ACKs whose numbers contradict the connection
	BadChecksums  uint32 // segments with a wrong checksum, which the receiver dropped (ignored)

	found      [2]uint32 // kinds of anomaly found, as bits 1<<Kind, by side at fault
	clientIsA  bool
	Midstream  bool      // first seen without its opening SYN: the roles are inferred
	openJudged bool      // detectOpen has run
	inTable    bool      // followed: in the flow table, or parked in the compact one; not retired
	parked     bool      // ended, and only its compact record is in the table of TIME_WAITs (twrecords.go)
	lruGone    bool      // its LRU entry was let go while its handshake waited (idlest): it is queued again once past it
	inEnded    bool      // in the store of ended connections (Tracker.ended)
	Evicted    bool      // dropped from the flow table to stay under MaxConns
	refusals   uint16    // RSTs that refused its SYN: more than one when the same connect() was tried again after each (refusedAt is the first)
	refusedBy  ICMPError // the ICMP error that refused it, 0: an RST (or none)

	flood *floodTarget // while its handshake is pending: the SYN flood target it counts for

	// The connection's transitions, oldest first: the first few inline,
	// so that most connections need no allocation for them.
	trs    [4]trans
	trMore *transBlock

	half [2]Half // indexed by Side

	zeek zeek.Summary
}

// Client returns the client's address and port.
func (c *Conn) Client() netip.AddrPort { return c.Key.endpoint(c.clientIsA) }

// Server returns the server's address and port.
func (c *Conn) Server() netip.AddrPort { return c.Key.endpoint(!c.clientIsA) }

// endpoint returns endpoint A of the key, or B.
func (k *FlowKey) endpoint(a bool) netip.AddrPort {
	if a {
		return k.AddrPortA()
	}
	return k.AddrPortB()
}

// State returns a side's current state.
func (c *Conn) State(s Side) State { return c.half[s].state }

// Half returns what is known of one side. It is read-only: its facts and
// counters change only as segments are applied.
func (c *Conn) Half(s Side) *Half { return &c.half[s] }

// Ended reports whether neither side holds the connection any more apart
// from TIME_WAIT, so that a new SYN on the 4-tuple starts a new connection.
func (c *Conn) Ended() bool {
	for i := range c.half {
		if st := c.half[i].state; st != Closed && st != TimeWait {
			return false
		}
	}
	return true
}

// sideOf maps a segment's direction to the side that sent it.
func (c *Conn) sideOf(fromA bool) Side { return sideOf(fromA, c.clientIsA) }

// sideOf returns the side that sent a segment from A (fromA), or from B,
// of a connection whose client is A or not (clientIsA).
func sideOf(fromA, clientIsA bool) Side {
	if fromA == clientIsA {
		return Client
	}
	return Server
}

// OneSided reports whether the capture saw only one direction of the
// connection, and which side sent what it saw: one side sent nothing,
// while the other sent at least two segments and acknowledged the silent
// side's SYN, so the silent side was alive.
func (c *Conn) OneSided() (seen Side, ok bool) {
	for s := Client; s <= Server; s++ {
		h, p := &c.half[s], &c.half[s.Peer()]
		if h.packets >= 2 && p.packets == 0 && p.isnKnown && h.ackValid && covers(h.ack, p.isn) {
			return s, true
		}
	}
	return 0, false
}

// MissedBytes returns how many bytes of side s's data the capture missed:
// gaps its later segments jumped, and data beyond the last it was seen to
// send that the peer acknowledged (Zeek's missed_bytes). A side never seen
// counts none: the connection is one-sided, not lossy.
func (c *Conn) MissedBytes(s Side) uint64 {
	h, p := &c.half[s], &c.half[s.Peer()]
	n := h.missed
	if h.sentValid && p.ackValid && h.sent.LessThan(p.ack) && seqnum.Size(p.ack.Sub(h.sent)) <= p.recvWindow(h) {
		// (Beyond the window the acknowledging side offered it is not
		// data sent and missed: that acknowledgment is bad_sequence.)
		tail := uint64(p.ack.Sub(h.sent))
		if h.finInferred && tail > 0 || tail == 1 && !h.isnKnown && h.lastSig.payload == 0 && h.lastSig.seq == h.sent {
			tail-- // its FIN, not data; or the answer to a keepalive (snd.una−1) first seen mid-stream
		}
		n += tail
	}
	return n
}

// CommunityID returns the connection's Community ID v1 flow hash (seed 0).
func (c *Conn) CommunityID() string {
	return CommunityID(c.Key.A, c.Key.B, c.Key.APort, c.Key.BPort, 0)
}

// trans is a transition as stored: 24 bytes, its sentence as a cause.
type trans struct {
	time     int64
	packet   uint64
	why      cause
	side     Side
	from, to State
}

// transBlock holds transitions past the inline ones, eight at a time: one
// allocation holds a whole close.
type transBlock struct {
	t    [8]trans
	next *transBlock
}

func (c *Conn) addTrans(t trans) { c.addTransFrom(t, nil) }

// addTransFrom is addTrans taking a block it needs from spares, if it has
// one.
func (c *Conn) addTransFrom(t trans, spares *spareConns) {
	i := c.nTrs
	c.nTrs++
	if i < uint32(len(c.trs)) {
		c.trs[i] = t
		return
	}
	i -= uint32(len(c.trs))
	b := &c.trMore
	for ; i >= uint32(len((*b).t)) && *b != nil; i -= uint32(len((*b).t)) {
		b = &(*b).next
	}
	if *b == nil {
		*b = spares.block()
	}
	(*b).t[i] = t
}

func (c *Conn) transAt(i uint32) *trans {
	if i < uint32(len(c.trs)) {
		return &c.trs[i]
	}
	i -= uint32(len(c.trs))
	b := c.trMore
	for ; i >= uint32(len(b.t)); i -= uint32(len(b.t)) {
		b = b.next
	}
	return &b.t[i]
}

func (t trans) public() Transition {
	return Transition{Time: t.time, Packet: t.packet, Side: t.side, From: t.from, To: t.to, Why: whyOf(t.why),
		Inferred: t.why&inferredCauses != 0}
}

// Transitions returns the connection's state changes in time order (those
// at the same time in the order they were made): a timer or an inference
// judged later can date a change before ones recorded earlier.
func (c *Conn) Transitions() []Transition {
	out := make([]Transition, c.nTrs)
	for i := range out {
		out[i] = c.transAt(uint32(i)).public()
	}
	slices.SortStableFunc(out, func(a, b Transition) int { return cmp.Compare(a.Time, b.Time) })
	return out
}

// LastTransition returns the most recent state change, if any.
func (c *Conn) LastTransition() (Transition, bool) {
	if c.nTrs == 0 {
		return Transition{}, false
	}
	return c.transAt(c.nTrs - 1).public(), true
}
