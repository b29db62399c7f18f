package tracker

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// forensics is what a SYN flood did to its target, from the server's own
// answers (RFC 4987 §3 describes the defences):
//
//   - A request socket in SYN_RCVD (the SYN backlog) retransmits its SYN-ACK
//     on Linux's backoff (1 s, 2 s, 4 s ...) until it is acknowledged or
//     dropped.
//   - A SYN cookie (tcp_syncookies=1, the queue full) is a stateless
//     answer: one SYN-ACK, never retransmitted, and no socket.
//   - A SYN dropped (the queue full, no cookies) gets no answer at all.
//
// Legitimate clients show themselves by completing the handshake, or by
// trying again (a retransmitted SYN, an ACK): a spoofed source sends one
// SYN and never answers. Every field is a plain count (the completed
// handshakes per second of their SYN, for the last few seconds), so that
// the statistics of two trackers for the same target add up.
type forensics struct {
	syns       int   // connections opened by a SYN to the target
	secFirst   int64 // the earliest failed SYN of the current second
	floodFirst int64 // the first failed SYN of the first second at the flood rate: the finding's time

	stateful  int // answered by a SYN-ACK sent again: a request in SYN_RCVD
	stateless int // answered by one SYN-ACK, not sent again when due: a SYN cookie
	dropped   int // never answered
	undecided int // answered too close to the end of input to tell

	heldAtEnd int // server sockets still in SYN_RCVD at the end of input

	legitDone   int // handshakes completed during the flood (its seconds at the flood rate, and floodEdge's)
	legitFailed int // failed SYNs whose client tried again or answered: not spoofed

	done [doneRing]secCount // completed handshakes by tenth of a second of their SYN, recent seconds only

	// The last second closed with failures, and the last at the flood
	// rate (floodEdge).
	prevSec, prevFirst, lastFlood int64
	prevFailed                    int
}

// doneRing is how many recent seconds of completed handshakes are kept:
// more than the handshake timeout (3 s) plus one, after which every failure
// of a second is known and the second is closed.
const doneRing = 8

type secCount struct {
	sec int64
	n   [10]uint16 // by tenth of the second
}

// classify counts what the server did with a SYN that never completed the
// handshake (verdictOf).
func (f *forensics) classify(v verdict) {
	switch v &^ vLegit {
	case vDropped:
		f.dropped++
	case vStateful:
		f.stateful++
	case vStateless:
		f.stateless++
	default:
		f.undecided++
	}
	if v&vLegit != 0 {
		f.legitFailed++
	}
}

// verdict is what the server did with a SYN that never completed the
// handshake, and whether its client tried again or answered (vLegit).
type verdict uint8

const (
	vUndecided verdict = iota
	vDropped
	vStateful
	vStateless
	vLegit verdict = 8
)

// verdictOf judges c's SYN at now.
func verdictOf(c *Conn, now int64) verdict {
	sv, cl := &c.half[Server], &c.half[Client]
	v := vUndecided
	switch {
	case !sv.sentSynAck:
		v = vDropped
	case sv.synRtx > 0:
		v = vStateful
	case sv.stateless || now-sv.synTime > cookieDue:
		v = vStateless
	}
	if cl.synRtx > 0 || cl.ackValid || cl.reset {
		v |= vLegit
	}
	return v
}

// doneIn returns the handshakes completed whose SYN came in second sec, at
// or after from (to the tenth of a second; 0: the whole second).
func (f *forensics) doneIn(sec, from int64) int {
	d := &f.done[sec%doneRing]
	if d.sec != sec {
		return 0
	}
	n := 0
	for i, v := range d.n {
		if from == 0 || sec*int64(time.Second)+int64(i+1)*tenth > from {
			n += int(v)
		}
	}
	return n
}

const tenth = int64(100 * time.Millisecond)

// floodEdge: a second at half the flood rate or more next to one at the
// flood rate is part of the flood, cut by the clock's second: the flood
// began with the first failed SYN of the second before its first at the
// flood rate, and the legitimate clients of both edge seconds count. It
// runs as each second with failures is closed.
func (t *Tracker) floodEdge(ft *floodTarget) {
	half := max(t.th.FloodRate/2, 1)
	flooding := ft.secFailed >= t.th.FloodRate
	switch {
	case flooding && ft.floodStart == 0 && ft.prevSec == ft.sec-1 && ft.prevFailed >= half:
		ft.floodFirst = ft.prevFirst
		ft.legitDone += ft.doneIn(ft.prevSec, ft.prevFirst)
	case !flooding && ft.floodStart != 0 && ft.lastFlood == ft.sec-1 && ft.secFailed >= half:
		ft.legitDone += ft.doneIn(ft.sec, 0) // its last second
	}
	if ft.secFailed > 0 {
		ft.prevSec, ft.prevFirst, ft.prevFailed = ft.sec, ft.secFirst, ft.secFailed
	}
}

// floodDone counts a completed handshake in the second of its SYN. A slot
// about to be reused whose second is still the target's current one is
// closed first: by now every failure of that second is known.
func (t *Tracker) floodDone(ft *floodTarget, c *Conn) {
	sec := c.First / int64(time.Second)
	slot := &ft.done[sec%doneRing]
	if slot.sec != sec {
		if slot.sec == ft.sec && slot.n != [10]uint16{} {
			t.floodRoll(ft)
			ft.sec, ft.secFailed = ft.sec+1, 0
		}
		*slot = secCount{sec: sec}
	}
	if i := c.First % int64(time.Second) / tenth; slot.n[i] < math.MaxUint16 {
		slot.n[i]++
	}
}

// held counts, at the end of input, a summarized connection of the
// target whose server is still in SYN_RCVD.
func (ft *floodTarget) held(c *Conn) {
	if c.half[Server].state == SynRcvd {
		ft.heldAtEnd++
	}
}

// span is the time from the first unanswered SYN to the last.
func (ft *floodTarget) span() int64 { return ft.lastFailed - ft.firstFailed }

// rate is the mean rate of unanswered SYNs from the first to the last, per
// second, to one decimal (over at least a millisecond).
func (ft *floodTarget) rate() float64 {
	return float64(ft.failed) / time.Duration(max(ft.span(), int64(time.Millisecond))).Seconds() // (sentences round it: groupedTenths)
}

// sourcesSeen is the sketch's estimate of distinct sources, never more
// than the SYNs they sent.
func (ft *floodTarget) sourcesSeen() int { return min(ft.sources.estimate(), ft.failed) }

// detail is the finding's sentence. Its handshakes pending at once are
// the tracker's (each for the handshake timeout th gives it at most), not
// the server's backlog: a server in SYN_RCVD holds a request for as long
// as it retransmits its SYN-ACK, so more may be held at the end.
func (ft *floodTarget) detail(th *Thresholds) string {
	g := Grouped[int]
	half := fmt.Sprintf("%s handshakes pending at once, each for at most the %s handshake timeout", g(ft.peakHalfOpen), secs(int64(th.HandshakeTimeout)))
	if ft.evicted > 0 {
		half = fmt.Sprintf("at least %s: the flow table was full and %s were evicted", half, g(ft.evicted))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s received %s SYNs that never completed the handshake from about %s sources over %s (%s/s; %s in its busiest second; %s); ",
		ft.addrPort(), g(ft.failed), g(ft.sourcesSeen()), secs(ft.span()), groupedTenths(ft.rate()), g(ft.peakRate), half)
	fmt.Fprintf(&b, "the server kept %s in SYN_RCVD (SYN-ACK retransmitted: its SYN backlog), answered %s with SYN cookies (one SYN-ACK each, never retransmitted) and left %s unanswered (dropped)",
		g(ft.stateful), g(ft.stateless), g(ft.dropped))
	if ft.undecided > 0 {
		fmt.Fprintf(&b, "; %s were answered too close to the end of the capture to tell", g(ft.undecided))
	}
	fmt.Fprintf(&b, "; the server still held %s in SYN_RCVD at the end; %s legitimate clients completed the handshake during the flood, %s failed",
		g(ft.heldAtEnd), g(ft.legitDone), g(ft.legitFailed))
	return b.String()
}

// fields are the finding's figures (Anomaly.Fields): unanswered SYNs, their
// mean rate over the flooding seconds and the peak second's, sources (an
// estimate), the most handshakes pending at once, the flood's length; what the
// server did with the unanswered SYNs; legitimate clients' fate.
func (ft *floodTarget) fields() map[string]any {
	return map[string]any{
		"syns":             ft.failed,
		"all_syns":         ft.syns,
		"sources":          ft.sourcesSeen(),
		"seconds":          seconds(ft.span()),
		"rate":             ft.rate(),
		"peak_rate":        ft.peakRate,
		"half_open_peak":   ft.peakHalfOpen,
		"syn_rcvd":         ft.stateful,
		"syn_cookies":      ft.stateless,
		"dropped":          ft.dropped,
		"undetermined":     ft.undecided,
		"half_open_at_end": ft.heldAtEnd,
		"legit_completed":  ft.legitDone,
		"legit_failed":     ft.legitFailed,
		"evicted":          ft.evicted,
	}
}

// groupedTenths prints a non-negative rate to one decimal with thousands
// separators: 18252.7 is "18,252.7".
func groupedTenths(x float64) string {
	t := int64(math.Round(x * 10))
	return Grouped(t/10) + "." + strconv.FormatInt(t%10, 10)
}
