package tracker

import "fmt"

// detectPath finds a path or a peer that stopped working:
//
//   - half_open, "retransmitting into silence": a side retransmitted
//     SilentRetransmits times, over at least minRTO, and the peer sent
//     nothing at all since the first of them: the peer is gone or the path
//     is black-holed (RFC 793 §3.4, half-open connections).
//   - zero_window: a side advertised a zero receive window for longer than
//     Stuck, stalling its peer (RFC 1122 §4.2.2.17). The stall ends when the
//     window opens, at an RST, or when the connection ended.
func detectPath(c *Conn, now int64, th *Thresholds, p pass, out []Anomaly) []Anomaly {
	for s := Client; s <= Server; s++ {
		h := &c.Half[s]
		if p.counts && p.wants(HalfOpen, s.Peer()) && int(h.silentRtx) >= th.SilentRetransmits &&
			h.LastSent-h.silentSince >= minRTO && now-h.LastSent >= p.grace(h.silentGap) && !h.reset {
			out = append(out, Anomaly{Kind: HalfOpen, rule: ruleSilence, Side: s.Peer(), HasSide: true, Time: h.silentSince,
				Detail: fmt.Sprintf("%s retransmitted %d times over %s with no answer: the %s is gone or the path is black-holed",
					endpoint(c, s), h.silentRtx, secs(h.LastSent-h.silentSince), s.Peer())})
		}
		if h.zeroSince != 0 && p.wants(ZeroWindow, s) {
			end := now
			switch {
			case h.zeroEnd != 0:
				end = h.zeroEnd
			case c.Ended():
				end = c.Last
			}
			if end-h.zeroSince > int64(th.Stuck) {
				out = append(out, Anomaly{Kind: ZeroWindow, rule: ruleZeroWindow, Side: s, HasSide: true, Time: h.zeroSince,
					Detail: fmt.Sprintf("%s advertised a zero window for %s, stalling the %s",
						endpoint(c, s), secs(end-h.zeroSince), s.Peer())})
			}
		}
	}
	return out
}
