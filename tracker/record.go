package tracker

import (
	"cmp"
	"net/netip"
	"slices"
)

// Record is a connection as the report shows it: what is left of a
// connection once nothing more can change it but the end of a TIME_WAIT
// or a new connection taking over its 4-tuple. The store of ended
// connections keeps the oldest of them as Records (frozen) rather than
// whole (MaxFull): about a fifth of the memory, and nothing in it but its
// history and transitions for the collector to follow.
type Record struct {
	ID          uint64
	First, Last int64 // capture times of its first and last segment
	Key         FlowKey

	twSince      [2]int64 // by side: when it entered TIME_WAIT
	packets      [2]uint64
	bytes        [2]uint64
	missed       [2]uint64 // MissedBytes
	zeekBytes    [2]uint64 // originator's, responder's
	history      string
	connState    string
	trs          []trans
	found        [2]uint32
	states       [2]State
	Keepalives   uint32
	ZeroWindow   uint32 // ZeroWindowProbes
	NotCaptured  uint32
	BadChecksums uint32
	clientIsA    bool
	Midstream    bool
	Evicted      bool
	oneSided     bool
	seen         Side // with oneSided
	origIsClient bool
	embryonic    bool // a handshake a SYN flood's finding summarizes, if to a flooded target (floodsOwn)
	dropped      bool // left out of the report (finishFrozen)
	// followed: frozen from a table (parked), so the end of its TIME_WAIT
	// is followed (frozentw.go); one retired first is not (retire).
	followed bool
	// open is detectOpen's finding, made when it was frozen and emitted
	// at the end of input in the order judgeOpen would have (judgeOpens).
	open *Anomaly
	// late holds what is judged of the sides of a connection evicted open
	// in a state that time alone may still find stuck, to judge at the end
	// of input (evictedjudge.go).
	late *[2]lateSide
}

// Record returns what the report shows of c.
func (c *Conn) Record() Record {
	r := c.record(true)
	r.history = c.History()
	return r
}

// record returns what the report shows of c but its history, its
// transitions if trs.
func (c *Conn) record(trs bool) Record {
	r := Record{ID: c.ID, First: c.First, Last: c.Last, Key: c.Key, Keepalives: c.Keepalives,
		ZeroWindow: c.ZeroWindowProbes, NotCaptured: c.NotCaptured, BadChecksums: c.BadChecksums,
		clientIsA: c.clientIsA, Midstream: c.Midstream, Evicted: c.Evicted, found: c.found,
		connState: c.ConnState(), origIsClient: c.ZeekOrigIsClient()}
	r.zeekBytes[0], r.zeekBytes[1] = c.ZeekBytes()
	r.seen, r.oneSided = c.OneSided()
	for s := Client; s <= Server; s++ {
		h := &c.half[s]
		r.states[s], r.twSince[s] = h.state, h.twSince
		r.packets[s], r.bytes[s], r.missed[s] = h.packets, h.bytes, c.MissedBytes(s)
	}
	if !trs {
		return r
	}
	r.trs = make([]trans, c.nTrs)
	for i := range r.trs {
		r.trs[i] = *c.transAt(uint32(i))
	}
	return r
}

// Client returns the client's address and port.
func (r *Record) Client() netip.AddrPort { return r.Key.endpoint(r.clientIsA) }

// Server returns the server's address and port.
func (r *Record) Server() netip.AddrPort { return r.Key.endpoint(!r.clientIsA) }

// State returns a side's state.
func (r *Record) State(s Side) State { return r.states[s] }

// Packets returns the number of segments side s sent.
func (r *Record) Packets(s Side) uint64 { return r.packets[s] }

// Bytes returns the payload bytes side s sent, retransmissions included.
func (r *Record) Bytes(s Side) uint64 { return r.bytes[s] }

// MissedBytes returns how many bytes of side s's data the capture missed
// ([Conn.MissedBytes]).
func (r *Record) MissedBytes(s Side) uint64 { return r.missed[s] }

// OneSided reports whether the capture saw one direction only, and which
// ([Conn.OneSided]).
func (r *Record) OneSided() (seen Side, ok bool) { return r.seen, r.oneSided }

// History returns Zeek's history string of the connection.
func (r *Record) History() string { return r.history }

// ConnState returns Zeek's conn_state of the connection.
func (r *Record) ConnState() string { return r.connState }

// ZeekOrigIsClient reports whether Zeek's originator is the client.
func (r *Record) ZeekOrigIsClient() bool { return r.origIsClient }

// ZeekBytes returns Zeek's orig_bytes and resp_bytes.
func (r *Record) ZeekBytes() (orig, resp uint64) { return r.zeekBytes[0], r.zeekBytes[1] }

// CommunityID returns the connection's Community ID v1 flow hash (seed 0).
func (r *Record) CommunityID() string {
	return CommunityID(r.Key.A, r.Key.B, r.Key.APort, r.Key.BPort, 0)
}

// Kinds returns the kinds of anomaly found on the connection, in Kind order.
func (r *Record) Kinds() []Kind { return kindsOf(r.found) }

// Transitions returns the connection's state changes in time order
// ([Conn.Transitions]).
func (r *Record) Transitions() []Transition {
	out := make([]Transition, len(r.trs))
	for i := range r.trs {
		out[i] = r.trs[i].public()
	}
	slices.SortStableFunc(out, func(a, b Transition) int { return cmp.Compare(a.Time, b.Time) })
	return out
}

// Records returns every connection the report shows, whole or frozen, in
// order of first packet (then ID): those evicted before their handshake
// completed and those forgotten beyond MaxKept are left out, as by Conns.
// Call it after Finish.
func (t *Tracker) Records() []*Record {
	out := make([]*Record, 0, t.frozenLen()+len(t.conns))
	for r := range t.frozenRecords() {
		if !r.dropped {
			out = append(out, r)
		}
	}
	for _, c := range t.Conns() {
		r := c.Record()
		out = append(out, &r)
	}
	slices.SortFunc(out, func(a, b *Record) int { // IDs are unique: no ties
		return cmp.Or(cmp.Compare(a.First, b.First), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// FrozenStates calls f with the states of each frozen connection the
// report shows (those Conns does not return).
func (t *Tracker) FrozenStates(f func(client, server State)) {
	for r := range t.frozenRecords() {
		if !r.dropped {
			f(r.states[Client], r.states[Server])
		}
	}
}

// Release frees, once the report has taken its Records (after Finish and
// Records), what only following more segments needs: the flow table, the
// compact records, the timers, the lone segments and the connections kept
// whole (their Records are copies). The Records, the findings and the
// counts stay; nothing but reading them may follow.
func (t *Tracker) Release() {
	t.table, t.twRecs = newFlowTable(), newTWTable([2]uint64{})
	t.conns, t.holes = nil, 0
	t.timeWaits, t.closed, t.handshakes, t.embryos, t.lru = timerQueue{}, timerQueue{}, timerQueue{}, timerQueue{}, timerQueue{}
	t.ended, t.endedOther = fifo[*Conn]{}, fifo[*Conn]{}
	t.frozenTWs, t.lostTWs, t.forgottenEnds = nil, nil, nil
	t.lone = loneTable{max: t.lone.max, stats: t.lone.stats}
	t.pendingSyn = nil
	t.spares = spareConns{}
}
