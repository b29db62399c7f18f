package tracker

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"time"
)

// Floods of lone segments: segments to 4-tuples the tracker does not
// follow that were never answered (lone.go), counted by what they carry.
// Each kind has one bounded-memory aggregate, whatever the number of
// sources and targets: per second of capture time, how many; the distinct
// sources (a 1,024-register HyperLogLog, 1 KB, about 3 % standard error);
// the most frequent destination address and address:port (Misra–Gries
// summaries of a few counters, exact for a single target); and the range of
// destination addresses. Counts add and both sketches merge (registers by
// their maximum, Misra–Gries summaries by Agarwal et al.'s rule), but the
// per-second rate must be taken on merged counts: a share of a flood can
// stay below LoneFloodRate in every second.
//
//   - ack_flood: bare ACKs (with or without data): RFC 4987's "ACK flood",
//     which costs a stateful firewall or a listener a lookup each.
//   - rst_flood: RSTs (RFC 5961 §3 describes blind reset attacks).
//   - fin_flood: FINs, FIN-ACKs and FIN scans.
//   - synack_backscatter: SYN-ACKs, and RST-ACKs with sequence number 0 (the
//     reset a closed port answers a SYN with, RFC 793 p. 65), for SYNs the
//     capture never saw: someone spoofs this network's addresses in a SYN
//     flood elsewhere, and its victims answer here. The victim is the
//     source, the spoofed addresses the destinations: one victim answering
//     many of them is the usual case, so it counts distinct destinations
//     too (a second HyperLogLog), and many sources or many destinations
//     make the flood.

// loneClass is which flood a lone segment counts for.
type loneClass uint8

const (
	lfACK loneClass = iota
	lfRST
	lfFIN
	lfBackscatter
	numLoneClasses
	lfNone = numLoneClasses
)

var loneClassKinds = [numLoneClasses]Kind{AckFlood, RstFlood, FinFlood, SynackBackscatter}

// classOf returns the flood a lone segment counts for, lfNone if none (a
// segment with no flags).
func classOf(seg *Segment) loneClass {
	f := seg.Flags
	switch {
	case f&(SYN|ACK) == SYN|ACK, f&(RST|ACK) == RST|ACK && seg.Seq == 0:
		return lfBackscatter
	case f&RST != 0:
		return lfRST
	case f&FIN != 0:
		return lfFIN
	case f&ACK != 0:
		return lfACK
	}
	return lfNone
}

// loneFloods holds one aggregate per class, and the backscatter's
// distinct destinations.
type loneFloods struct {
	f         [numLoneClasses]loneFlood
	backDests hll1k
}

// destinations is the estimate of class c's distinct destinations, 0 but
// for the backscatter.
func (fs *loneFloods) destinations(c loneClass) int {
	if c != lfBackscatter {
		return 0
	}
	return fs.backDests.estimate()
}

// loneFlood aggregates the lone segments of one class.
type loneFlood struct {
	segments uint64 // all judged
	sec      int64  // current second (capture time / 1e9)
	secN     int    // its segments
	secFirst int64  // its first and latest segment's time
	secLast  int64

	floodFirst, floodLast int64  // first and last segment of the seconds at or above LoneFloodRate
	floodN                uint64 // segments in those seconds
	peak                  int    // most in one second

	sources hll1k
	dst     heavy[Addr]
	dstPort heavy[floodKey]
	lo, hi  Addr // destination range
	anomaly int  // index+1 of its finding; -1: made, not kept
}

// count counts n lone segments like seg, judged unanswered.
func (fs *loneFloods) count(t *Tracker, seg *Segment, n uint32) {
	c := classOf(seg)
	if c == lfNone {
		return
	}
	f := &fs.f[c]
	if sec := seg.Time / int64(time.Second); sec > f.sec || f.segments == 0 {
		t.loneRoll(c)
		f.sec, f.secN, f.secFirst = sec, 0, seg.Time
	}
	// A segment judged late (unanswered, 3 s after it came) counts in the
	// current second; the span runs from the earliest to the latest.
	f.secN += int(n)
	f.secFirst, f.secLast = min(f.secFirst, seg.Time), max(f.secLast, seg.Time)
	if f.segments == 0 || seg.Dst.less(f.lo) {
		f.lo = seg.Dst
	}
	if f.segments == 0 || f.hi.less(seg.Dst) {
		f.hi = seg.Dst
	}
	f.segments += uint64(n)
	f.sources.add(seg.Src)
	if c == lfBackscatter {
		fs.backDests.add(seg.Dst)
	}
	f.dst.add(seg.Dst, n)
	f.dstPort.add(floodKey{seg.Dst, seg.DstPort}, n)
}

// loneRoll closes class c's current second: a flooding second counts, and
// the finding is made once the flood is large enough, its sentence kept up
// to date after.
func (t *Tracker) loneRoll(c loneClass) {
	f, th := &t.floods.f[c], &t.th
	if f.secN >= th.LoneFloodRate {
		if f.floodN == 0 {
			f.floodFirst = f.secFirst
		}
		f.floodLast = f.secLast
		f.floodN += uint64(f.secN)
		f.peak = max(f.peak, f.secN)
		if f.anomaly == 0 && f.floodN >= uint64(th.LoneFloodSegments) &&
			max(f.sources.estimate(), t.floods.destinations(c)) >= th.LoneFloodSources {
			f.anomaly = t.emitTarget(f.finding(c, t.floods.destinations(c)))
		}
	}
	f.secN = 0
	if f.anomaly > 0 {
		a := &t.anomalies[f.anomaly-1]
		b := f.finding(c, t.floods.destinations(c))
		a.Detail, a.Fields, a.Target = b.Detail, b.Fields, b.Target
	}
}

// loneFloodsFinish closes every class's last second.
func (t *Tracker) loneFloodsFinish() {
	for c := range numLoneClasses {
		if t.floods.f[c].segments > 0 {
			t.loneRoll(c)
		}
	}
}

// target names where the flood went: one address:port, one address (any
// port: the finding's target has port 0), or the smallest prefix holding
// every destination (the target is its first address, port 0).
func (f *loneFlood) target() (name string, ap netip.AddrPort) {
	if k, n := f.dstPort.top(); 2*n >= f.segments {
		ap = netip.AddrPortFrom(k.addr.IP(), k.port)
		return ap.String(), ap
	}
	if a, n := f.dst.top(); 2*n >= f.segments {
		return a.IP().String() + " (many ports)", netip.AddrPortFrom(a.IP(), 0)
	}
	p := rangeOf(f.lo, f.hi)
	return p.String(), netip.AddrPortFrom(p.Addr(), 0)
}

// rangeOf returns the smallest prefix that holds both addresses.
func rangeOf(lo, hi Addr) netip.Prefix {
	n := bits.LeadingZeros64(lo.hi ^ hi.hi)
	if n == 64 {
		n += bits.LeadingZeros64(lo.lo ^ hi.lo)
	}
	p, _ := lo.IP().Prefix(n)
	if lo.Is4() {
		p, _ = lo.IP().Prefix(max(0, n-96))
	}
	return p
}

var loneNoun = [numLoneClasses]string{"ACKs", "RSTs", "FINs", "answers"}

var loneWhat = [numLoneClasses]string{"bare ACKs for connections it never had", "RSTs for connections it never had",
	"FINs for connections it never had", "SYN-ACKs or RSTs answering SYNs the capture never saw"}

// finding is class c's finding; dests, the backscatter's distinct
// destinations, is in its sentence and fields.
func (f *loneFlood) finding(c loneClass, dests int) Anomaly {
	name, ap := f.target()
	dur := f.floodLast - f.floodFirst
	rate := float64(f.floodN)
	if dur > 0 {
		rate = float64(f.floodN) / time.Duration(dur).Seconds()
	}
	src := min(f.sources.estimate(), int(min(f.segments, math.MaxInt32))) // (an estimate, never more than the segments)
	to := ""
	if c == lfBackscatter {
		to = fmt.Sprintf(" to about %s destinations", Grouped(dests))
		if dests == 1 {
			to = " to 1 destination"
		}
	}
	over := fmt.Sprintf(" over %s", secs(dur))
	if f.floodN < f.segments { // (the rest came in seconds below the flood rate)
		over = fmt.Sprintf("; %s of the %s in %s of flooding", Grouped(f.floodN), loneNoun[c], secs(dur))
	}
	detail := fmt.Sprintf("%s received %s %s, from about %s sources%s%s (%s/s, peak %s/s)",
		name, Grouped(f.segments), loneWhat[c], Grouped(src), to, over, Grouped(int64(math.RoundToEven(rate))), Grouped(f.peak))
	fields := map[string]any{"target": name, "segments": f.segments, "sources": src,
		"rate": rate, "peak_rate": f.peak, "seconds": time.Duration(dur).Seconds()}
	if c == lfBackscatter {
		detail += ": a SYN flood elsewhere spoofs its addresses"
		fields["destinations"] = dests
	}
	return Anomaly{Kind: loneClassKinds[c], Target: ap, Time: f.floodFirst, Detail: detail, Fields: fields}
}

// heavy is a Misra–Gries summary with heavyK counters: every value more
// frequent than 1/(heavyK+1) of the total is among them, its count at most
// total/(heavyK+1) short (exact when there are at most heavyK values).
type heavy[T comparable] struct {
	v [heavyK]T
	n [heavyK]uint64
}

const heavyK = 8

func (h *heavy[T]) add(v T, n uint32) {
	free := -1
	for i := range h.v {
		if h.n[i] > 0 && h.v[i] == v {
			h.n[i] += uint64(n)
			return
		}
		if h.n[i] == 0 && free < 0 {
			free = i
		}
	}
	if free >= 0 {
		h.v[free], h.n[free] = v, uint64(n)
		return
	}
	for i := range h.n {
		h.n[i] -= min(h.n[i], uint64(n))
	}
}

// top returns the value with the largest count.
func (h *heavy[T]) top() (T, uint64) {
	best := 0
	for i := range h.n {
		if h.n[i] > h.n[best] {
			best = i
		}
	}
	return h.v[best], h.n[best]
}
