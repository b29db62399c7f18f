package tracker

import (
	"net/netip"
	"time"
)

// floodKey is a SYN flood target: the server's address and port.
type floodKey struct {
	addr Addr
	port uint16
}

// floodKeyOf returns the target a connection with key k would be: its
// server's address and port.
func floodKeyOf(k *FlowKey, clientIsA bool) floodKey {
	if clientIsA {
		return floodKey{k.B, k.BPort}
	}
	return floodKey{k.A, k.APort}
}

// floodTarget aggregates, for one target, the SYNs that never completed the
// handshake (RFC 4987 describes the attack): per second of capture time,
// how many; the distinct sources of all of them (a HyperLogLog sketch, so
// a million spoofed sources cost 256 bytes); and how many handshakes were
// pending at once (from the SYN until completed, refused or failed, at
// most the handshake timeout). Its memory does not depend on the number of sources.
type floodTarget struct {
	key floodKey

	halfOpen, peakHalfOpen int // connections opened by a SYN, not yet completed or failed

	sec       int64 // current second (capture time / 1e9) and its count
	secFailed int

	failed      int   // SYNs that never completed the handshake
	firstFailed int64 // the first and the last of their SYNs (ns)
	lastFailed  int64
	floodStart  int64 // first second at or above FloodRate (ns), 0: none yet
	floodFailed int   // unanswered SYNs in flooding seconds
	peakRate    int
	sources     *hll
	evicted     int // of its half-open connections, evicted from the full table
	// droppedWaiting counts, of those, handshakes pushed out of the evicted ones
	// waiting before their time (settleEvictedSYNs): counted as Embryonic,
	// and as the flood's own at the end if the target is found under one.
	droppedWaiting uint64
	// synsAgain: a handshake evicted to it had sent its SYN again, or
	// one dropped waiting was sent again: its flood's own dropped are
	// remembered (rememberOwn).
	synsAgain bool
	anomaly   int // index+1 of its finding in Tracker.anomalies; 0: none

	forensics // what the server did with the SYNs (synflood_forensics.go)
}

// synFlood follows every target that receives SYNs. The number of targets
// is capped; SYNs to targets beyond the cap are counted, not followed.
type synFlood struct {
	th        *Thresholds
	targets   map[floodKey]*floodTarget
	order     []*floodTarget // in order of first SYN, for deterministic output
	untracked uint64
}

const maxFloodTargets = 16384

func newSynFlood(th *Thresholds) *synFlood {
	return &synFlood{th: th, targets: make(map[floodKey]*floodTarget)}
}

func (f *synFlood) target(c *Conn, create bool) *floodTarget {
	k := floodKeyOf(&c.Key, c.clientIsA)
	ft := f.targets[k]
	if ft == nil && create {
		if len(f.targets) >= maxFloodTargets {
			f.untracked++
			return nil
		}
		ft = &floodTarget{key: k}
		f.targets[k] = ft
		f.order = append(f.order, ft)
	}
	return ft
}

// opened: a connection was opened by a SYN.
func (f *synFlood) opened(c *Conn) {
	if ft := f.target(c, true); ft != nil {
		c.flood = ft
		ft.syns++
		ft.halfOpen++
		ft.peakHalfOpen = max(ft.peakHalfOpen, ft.halfOpen)
	}
}

// floodCompleted: the connection's handshake completed.
func (t *Tracker) floodCompleted(c *Conn) {
	if ft := c.flood; ft != nil {
		ft.halfOpen--
		c.flood = nil
		t.floodDone(ft, c)
	}
}

// floodRefused: the connection's SYN was answered by an RST. The server
// kept nothing and answered it: a refusal is no unanswered SYN, so a busy
// service that refuses many connections is no SYN flood (its refusals are
// connection_refused findings).
func (t *Tracker) floodRefused(c *Conn) {
	if ft := c.flood; ft != nil {
		ft.halfOpen--
		c.flood = nil
	}
}

// failed: the connection's SYN was never answered by a completed handshake
// (timed out, refused, reset or evicted); at is when that became known.
func (t *Tracker) floodFailed(c *Conn, at int64) {
	ft := c.flood
	if ft == nil {
		return
	}
	c.flood = nil
	ft.halfOpen--
	t.floodCount(ft, failedSYN{key: c.Key, clientIsA: c.clientIsA, first: c.First, verdict: verdictOf(c, t.now)}, at)
}

// failedSYN is what the SYN-flood detector counts of a SYN that never
// completed the handshake.
type failedSYN struct {
	key       FlowKey
	clientIsA bool
	verdict   verdict
	first     int64 // when it came
}

// floodCount counts a failed SYN to ft, known to have failed at at.
func (t *Tracker) floodCount(ft *floodTarget, f failedSYN, at int64) {
	ft.failed++
	if ft.failed == 1 {
		ft.firstFailed = f.first
	}
	ft.firstFailed, ft.lastFailed = min(ft.firstFailed, f.first), max(ft.lastFailed, f.first)
	if ft.sources == nil {
		ft.sources = new(hll)
	}
	ft.sources.add(f.key, f.clientIsA)
	ft.classify(f.verdict)
	// Seconds are those of the first SYN. Failures become known roughly in
	// that order; one that comes late counts in the current second.
	if sec := at / int64(time.Second); sec > ft.sec {
		t.floodRoll(ft)
		ft.sec, ft.secFailed, ft.secFirst = sec, 0, at
	}
	ft.secFailed++
	ft.secFirst = min(ft.secFirst, at)
}

// floodRoll closes the target's current second.
func (t *Tracker) floodRoll(ft *floodTarget) {
	th := &t.th
	t.floodEdge(ft)
	if ft.secFailed >= th.FloodRate {
		if ft.floodStart == 0 {
			ft.floodStart = ft.sec * int64(time.Second)
			if ft.floodFirst == 0 {
				ft.floodFirst = ft.secFirst
			}
		}
		ft.lastFlood = ft.sec
		ft.floodFailed += ft.secFailed
		ft.peakRate = max(ft.peakRate, ft.secFailed)
		ft.legitDone += ft.doneIn(ft.sec, 0)
		if ft.anomaly == 0 && ft.floodFailed >= th.FloodSYNs && ft.sources.estimate() >= th.FloodSources {
			ft.anomaly = t.emitTarget(Anomaly{Kind: SynFlood, Target: ft.addrPort(), Time: ft.floodFirst, Detail: ft.detail(th), Fields: ft.fields()})
		}
	}
	t.floodRefresh(ft)
}

// floodRefresh brings the target's finding up to date: every unanswered
// SYN counts, also those after the last flooding second.
func (t *Tracker) floodRefresh(ft *floodTarget) {
	if ft.anomaly > 0 {
		a := &t.anomalies[ft.anomaly-1]
		a.Detail, a.Fields = ft.detail(&t.th), ft.fields()
	}
}

func (ft *floodTarget) addrPort() netip.AddrPort {
	return netip.AddrPortFrom(ft.key.addr.IP(), ft.key.port)
}

// flooded reports whether the connection's target was found under a SYN
// flood.
func (f *synFlood) flooded(c *Conn) bool {
	ft := f.target(c, false)
	return ft != nil && ft.anomaly != 0
}

// floodedKey is flooded for a target's key.
func (f *synFlood) floodedKey(k floodKey) bool {
	ft := f.targets[k]
	return ft != nil && ft.anomaly != 0
}

// finish closes every target's last second.
func (t *Tracker) floodFinish() {
	for _, ft := range t.flood.order {
		t.floodRoll(ft)
		ft.secFailed = 0
	}
}

// shedFlooded drops, when its handshake timed out, a connection that is
// nothing but one SYN to a target found under a SYN flood, never answered:
// the flood's finding summarizes it, and the report would leave it out at
// the end of input (Finish), so the table does not hold it until then — a
// flood of them would fill it. A client that is not spoofed has sent its
// SYN again by then (Linux after 1 s, then 3 s), and is kept. With
// KeepFlood every connection is kept.
func (t *Tracker) shedFlooded(c *Conn) bool {
	if t.cfg.KeepFlood || c.half[Client].packets != 1 || c.half[Server].packets != 0 || !t.flood.flooded(c) {
		return false
	}
	t.drop(c)
	t.evicted.Flood++
	return true
}
