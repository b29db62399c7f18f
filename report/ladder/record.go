package ladder

import (
	"cmp"
	"math"
	"slices"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// Recorder collects the segments of the connections to draw during a
// second reading of the input. It is not safe for concurrent use.
type Recorder struct {
	want  map[tracker.FlowKey][]*drawn // the connections to draw, by 4-tuple
	order []*drawn
	tr    *tracker.Tracker // a tracker of its own, fed only their segments
	fresh map[tracker.FlowKey][]*freshConn
	known map[*tracker.Conn]bool // the tracker's connections in fresh
}

// drawn is one connection to draw, as the first pass saw it.
type drawn struct {
	c    *tracker.Record
	segs []recorded
}

type recorded struct {
	seg  tracker.Segment
	mark Mark
}

// freshConn is a connection of the recorder's tracker, with its counters
// as they were after its previous segment.
type freshConn struct {
	c    *tracker.Conn
	last counters
}

type counters struct {
	packets, dup, ka, zwp, invalid uint64
	rtx                            [2]uint64
}

func countersOf(c *tracker.Conn) counters {
	cl, sv := c.Half(tracker.Client), c.Half(tracker.Server)
	return counters{packets: cl.Packets() + sv.Packets(), dup: uint64(c.Duplicates), ka: uint64(c.Keepalives),
		zwp: uint64(c.ZeroWindowProbes), invalid: uint64(c.Invalid), rtx: [2]uint64{cl.Retransmits(), sv.Retransmits()}}
}

// NewRecorder returns a recorder for the given connections of the first
// pass (its Records after its Finish, whole or frozen with their
// transitions), which are drawn in that order. cfg is the first pass's
// tracker configuration; its hooks are not used.
func NewRecorder(cfg tracker.Config, conns []*tracker.Record) *Recorder {
	cfg.OnTransition, cfg.OnFrozenTransition, cfg.OnAnomaly, cfg.OnForgotten = nil, nil, nil, nil
	// Its own tracker keeps every connection whole: the marks are read from
	// them (index), and a frozen one's Conn would be reused for another.
	cfg.MaxFull, cfg.MaxKept = math.MaxInt, math.MaxInt
	r := &Recorder{want: make(map[tracker.FlowKey][]*drawn, len(conns)), tr: tracker.New(cfg),
		fresh: make(map[tracker.FlowKey][]*freshConn), known: make(map[*tracker.Conn]bool)}
	for _, c := range conns {
		d := &drawn{c: c}
		r.want[c.Key] = append(r.want[c.Key], d)
		r.order = append(r.order, d)
	}
	return r
}

// Len returns the number of connections to draw.
func (r *Recorder) Len() int { return len(r.order) }

// Wants reports whether seg belongs to a connection to draw: the same
// 4-tuple, within the connection's first and last segment.
func (r *Recorder) Wants(seg *tracker.Segment) bool { return r.owner(tracker.KeyOf(seg), seg) != nil }

// owner returns the connection to draw that seg, of flow key k, belongs to.
func (r *Recorder) owner(k tracker.FlowKey, seg *tracker.Segment) *drawn {
	ds := r.want[k]
	for i := len(ds) - 1; i >= 0; i-- {
		if c := ds[i].c; c.First <= seg.Time && seg.Time <= c.Last {
			return ds[i]
		}
	}
	return nil
}

// Observe records a segment that Wants accepted (others are ignored).
func (r *Recorder) Observe(seg *tracker.Segment) {
	k := tracker.KeyOf(seg)
	d := r.owner(k, seg)
	if d == nil {
		return
	}
	r.tr.Observe(seg)
	r.index()
	mark := NoMark
	for _, f := range r.fresh[k] {
		now := countersOf(f.c)
		if now == f.last {
			continue
		}
		mark = markOf(f.last, now)
		f.last = now
		break
	}
	d.segs = append(d.segs, recorded{seg: *seg, mark: mark})
}

// index adds the recorder's tracker's new connections to fresh. New
// connections are added at the end of Conns, so only the unknown ones at
// its end are looked at.
func (r *Recorder) index() {
	cs := r.tr.Conns()
	for i := len(cs) - 1; i >= 0 && !r.known[cs[i]]; i-- {
		c := cs[i]
		r.known[c] = true
		r.fresh[c.Key] = append(r.fresh[c.Key], &freshConn{c: c})
	}
}

// markOf says what the counters that moved at a segment make of it.
func markOf(was, now counters) Mark {
	switch {
	case now.dup > was.dup:
		return Duplicate
	case now.ka > was.ka:
		return Keepalive
	case now.zwp > was.zwp:
		return WindowProbe
	case now.rtx != was.rtx:
		return Retransmission
	}
	return NoMark
}

// Ladders draws every connection, in the order given to NewRecorder, with
// the first pass's findings (tracker.Anomalies) where they fired.
func (r *Recorder) Ladders(findings []tracker.Anomaly) []*Ladder {
	byConn := make(map[uint64][]tracker.Anomaly)
	for _, a := range findings {
		if a.Conn != 0 {
			byConn[a.Conn] = append(byConn[a.Conn], a)
		}
	}
	out := make([]*Ladder, 0, len(r.order))
	for _, d := range r.order {
		out = append(out, build(d, byConn[d.c.ID]))
	}
	return out
}

// step is a step being built, with the transitions it made.
type step struct {
	Step
	trs   []tracker.Transition
	class int // among steps at the same time: inferred, then captured, then timers
}

// build makes one connection's ladder from its segments and the first
// pass's transitions and findings.
func build(d *drawn, findings []tracker.Anomaly) *Ladder {
	c := d.c
	l := &Ladder{ID: c.ID, Client: c.Client(), Server: c.Server()}
	steps := segmentSteps(d)
	byPacket := make(map[uint64]*step, len(steps))
	for _, s := range steps {
		byPacket[s.Packet] = s
	}
	var others []*step
	for _, tr := range c.Transitions() {
		if s := byPacket[tr.Packet]; s != nil && !tr.Inferred && tr.Packet > 0 {
			s.trs = append(s.trs, tr)
			continue
		}
		others = addChange(others, tr)
	}
	steps = merge(steps, others)
	var st [2]tracker.State
	for _, s := range steps {
		for _, tr := range s.trs {
			st[tr.Side] = tr.To
			s.Changed[tr.Side] = true
			if s.Why[tr.Side] != "" {
				s.Why[tr.Side] += "; "
			}
			s.Why[tr.Side] += tr.Why
		}
		s.State = st
		l.Steps = append(l.Steps, s.Step)
	}
	placeFindings(l, findings)
	if len(l.Steps) > 0 {
		l.Start = l.Steps[0].Time
	}
	return l
}

// merge puts the steps no captured segment made among the captured ones,
// which stay in capture order (a capture's clock can step back). At the
// same time an inferred step goes first, unless it moves a side from a
// state only the captured step takes it to (an ACK inferred at the end of
// input for a FIN captured at that very time).
func merge(segs, others []*step) []*step {
	before := func(a, b *step) int { return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.class, b.class)) }
	slices.SortStableFunc(others, before)
	out := make([]*step, 0, len(segs)+len(others))
	var st [2]tracker.State
	for len(segs) > 0 || len(others) > 0 {
		var next *step
		switch {
		case len(others) == 0:
			next, segs = segs[0], segs[1:]
		case len(segs) == 0, before(others[0], segs[0]) < 0 &&
			(others[0].Time != segs[0].Time || follows(others[0], st) || !follows(segs[0], st)):
			next, others = others[0], others[1:]
		default:
			next, segs = segs[0], segs[1:]
		}
		for _, tr := range next.trs {
			st[tr.Side] = tr.To
		}
		out = append(out, next)
	}
	return out
}

// follows reports whether every transition of s leaves the state its side
// is in, st.
func follows(s *step, st [2]tracker.State) bool {
	for _, tr := range s.trs {
		if tr.From != st[tr.Side] {
			return false
		}
	}
	return true
}

// segmentSteps turns the recorded segments into steps, their numbers
// relative to each side's first sequence number.
func segmentSteps(d *drawn) []*step {
	client := d.c.Client()
	var base [2]uint32
	var known [2]bool
	var top [2]seqnum.Value // one past the highest sequence number each side sent
	var sent [2]bool
	steps := make([]*step, 0, len(d.segs))
	for _, r := range d.segs {
		seg := &r.seg
		from := tracker.Server
		if seg.SrcAddrPort() == client {
			from = tracker.Client
		}
		to := from.Peer()
		if !known[from] {
			base[from], known[from] = uint32(seg.Seq), true
		}
		mark := r.mark
		if mark == NoMark && sent[from] && seg.Len() > 0 && !top[from].LessThan(seg.End()) {
			mark = Retransmission // only sequence space it had sent before (a FIN or SYN again too)
		}
		if !sent[from] || top[from].LessThan(seg.End()) {
			top[from], sent[from] = seg.End(), true
		}
		s := &step{class: 1, Step: Step{Kind: Segment, Time: seg.Time, Packet: seg.Packet, From: from, Flags: seg.Flags,
			Seq: uint32(seg.Seq) - base[from], Len: seg.Payload, Mark: mark}}
		if seg.Flags&tracker.ACK != 0 {
			if !known[to] {
				base[to], known[to] = uint32(seg.Ack)-1, true
			}
			s.HasAck, s.Ack = true, uint32(seg.Ack)-base[to]
		}
		steps = append(steps, s)
	}
	return steps
}

// addChange adds a transition that no captured segment made: an inferred
// segment (merged with one already added for the same segment) or a change
// with no arrow.
func addChange(steps []*step, tr tracker.Transition) []*step {
	if tr.Inferred {
		if flags, from, ok := inferredSegment(tr); ok {
			for _, s := range steps {
				if s.Kind == Inferred && s.Time == tr.Time && s.Packet == tr.Packet && s.Flags == flags && s.From == from {
					s.trs = append(s.trs, tr)
					return steps
				}
			}
			return append(steps, &step{class: 0, trs: []tracker.Transition{tr},
				Step: Step{Kind: Inferred, Time: tr.Time, Packet: tr.Packet, From: from, Flags: flags}})
		}
	}
	return append(steps, &step{class: 2, trs: []tracker.Transition{tr}, Step: Step{Kind: Timer, Time: tr.Time, Packet: tr.Packet}})
}

// inferredSegment is the segment an inferred transition shows the capture
// missed, from the states it moved: a side that leaves ESTABLISHED or
// CLOSE_WAIT for a closing state sent a FIN; one that enters CLOSE_WAIT
// received its peer's FIN; one that leaves FIN_WAIT_1 for FIN_WAIT_2 had
// its FIN acknowledged.
func inferredSegment(tr tracker.Transition) (tracker.Flags, tracker.Side, bool) {
	s, p := tr.Side, tr.Side.Peer()
	const ack, fin = tracker.ACK, tracker.FIN | tracker.ACK
	open := tr.From == tracker.Established || tr.From == tracker.SynRcvd || tr.From == tracker.CloseWait
	closing := tr.To >= tracker.FinWait1 && tr.To <= tracker.TimeWait && tr.To != tracker.CloseWait
	finWait := tr.From == tracker.FinWait1 || tr.From == tracker.FinWait2
	switch {
	case open && closing:
		return fin, s, true // sent its FIN
	case tr.To == tracker.CloseWait, finWait && (tr.To == tracker.Closing || tr.To == tracker.TimeWait):
		return fin, p, true // received the peer's FIN
	case tr.From == tracker.FinWait1 && tr.To == tracker.FinWait2, tr.From == tracker.Closing && tr.To == tracker.TimeWait,
		tr.From == tracker.LastAck && tr.To == tracker.Closed, tr.From == tracker.SynRcvd && tr.To == tracker.Established:
		return ack, p, true // its FIN or SYN-ACK was acknowledged
	case tr.From == tracker.SynSent && tr.To == tracker.Established:
		return tracker.SYN | ack, p, true
	case tr.From == tracker.Closed && tr.To == tracker.SynRcvd:
		return tracker.SYN | ack, s, true
	}
	return 0, 0, false
}

// placeFindings puts each finding at the step whose time is the latest at
// or before the time its condition began, the last such in capture order
// (the first step if none). The steps are in capture order, whose clock
// can step back, so their times are not searched as if sorted: a finding
// made at a segment lands on that segment's step.
func placeFindings(l *Ladder, findings []tracker.Anomaly) {
	if len(l.Steps) == 0 {
		return
	}
	for _, a := range findings {
		i := stepAt(l.Steps, a.Time)
		l.Steps[i].Findings = append(l.Steps[i].Findings, Finding{Kind: a.Kind, Severity: a.Kind.Severity(),
			Side: a.Side, HasSide: a.HasSide, Detail: a.Detail, Also: a.Also})
	}
}

// stepAt returns the index of the last step, in order, of the latest time
// at or before t; 0 if every step is later. On steps sorted by time it is
// the last step at or before t.
func stepAt(steps []Step, t int64) int {
	best := -1
	for i := range steps {
		if at := steps[i].Time; at <= t && (best < 0 || at >= steps[best].Time) {
			best = i
		}
	}
	return max(best, 0)
}
