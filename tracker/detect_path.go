package tracker

import "fmt"

// detectPath finds a path or a peer that stopped working:
//
//   - half_open, "retransmitting into silence": a side retransmitted
//     SilentRetransmits times, over at least minRTO, and the peer sent
//     nothing at all since the first of them: the peer is gone or the path
//     is black-holed (RFC 793 §3.4, half-open connections). A peer the
//     capture never saw at all (one direction captured) proves nothing.
//   - zero_window: a side advertised a zero receive window for longer than
//     Stuck, stalling its peer (RFC 1122 §4.2.2.17). The stall ends when the
//     window opens, at an RST, or when the connection ended.
func detectPath(c *Conn, now int64, th *Thresholds, p pass, out []Anomaly) []Anomaly {
	for s := Client; s <= Server; s++ {
		h := &c.half[s]
		if p.wants(HalfOpen, s.Peer()) && intoSilence(c, s, th, p, now) && !finIntoSilence(c, s, th, p, now) {
			out = append(out, Anomaly{Kind: HalfOpen, rule: ruleSilence, Side: s.Peer(), HasSide: true, Time: h.silentSince,
				Detail: fmt.Sprintf("%s retransmitted %d times over %s with no answer: the %s is gone or the path is black-holed",
					endpoint(c, s), h.silentRtx, secs(h.lastSent-h.silentSince), s.Peer()),
				Fields: map[string]any{"reason": "silence", "retransmits": int(h.silentRtx), "seconds": seconds(h.lastSent - h.silentSince)}})
		}
		if h.zeroSince != 0 && p.wants(ZeroWindow, s) {
			end := now
			if c.Ended() {
				end = c.Last
			}
			if end-h.zeroSince > int64(th.Stuck) {
				out = append(out, zeroWindowFinding(c, s, h.zeroSince, end))
			}
		}
	}
	return out
}

// intoSilence reports whether side s retransmitted SilentRetransmits
// times, over minRTO at least, and not one segment came back since the
// first: half_open's silence.
func intoSilence(c *Conn, s Side, th *Thresholds, p pass, now int64) bool {
	h := &c.half[s]
	return p.counts && int(h.silentRtx) >= th.SilentRetransmits && c.half[s.Peer()].Sent() &&
		h.lastSent-h.silentSince >= minRTO && now-h.lastSent >= p.grace(h.silentGap) && !h.reset && !h.reused
}

// zeroWindowFinding is the zero_window finding for a zero window that side
// s advertised from one time to another.
func zeroWindowFinding(c *Conn, s Side, from, to int64) Anomaly {
	return Anomaly{Kind: ZeroWindow, rule: ruleZeroWindow, Side: s, HasSide: true, Time: from,
		Detail: fmt.Sprintf("%s advertised a zero window for %s, stalling the %s",
			endpoint(c, s), secs(to-from), s.Peer()),
		Fields: map[string]any{"seconds": seconds(to - from)}}
}

// windowOpened brings the zero_window finding of side s, made while its
// window was still closed (by a sweep, or as it passed Stuck), up to date
// when the window opens at to: it lasted from from until then. Only the
// end of input brings findings up to date otherwise, and by then this
// side has no zero window left to judge.
func (t *Tracker) windowOpened(c *Conn, s Side, from, to int64) {
	old := t.listedFinding(c.ID, ZeroWindow, s, ruleZeroWindow)
	if old == nil || old.Time != from {
		return // not listed (beyond MaxAnomalies), or of an earlier zero window
	}
	a := zeroWindowFinding(c, s, from, to)
	old.Detail, old.Fields = a.Detail, a.Fields
}
