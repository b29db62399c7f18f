package tracker

import (
	"fmt"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// detectSeq judges, once the evidence is in (end of input, eviction, the
// live sweep), acknowledgments of data never sent: a side acknowledged more
// of the peer's sequence space than the peer was ever seen to send, by
// more than the one byte a keepalive's acknowledgment may cover. Judged
// late, because a segment reordered before the capture point can arrive
// after its acknowledgment. Another reason is a capture that missed
// packets: when the peer sent nothing after the acknowledgment and what it
// covers fits in the window the acknowledging side offered, the peer's
// last segments were sent and missed (counted in missed_bytes). A peer
// still sending below the acknowledged point after it never sent that
// far (its sequence number, an RST's too, is its snd.nxt), and no peer
// sends past the window it was offered.
//
// The other bad_sequence cases (a SYN-ACK acknowledging the wrong ISN, an
// RST outside the window) are judged as they happen, in update.
func detectSeq(c *Conn, p pass, out []Anomaly) []Anomaly {
	if !p.counts {
		return out
	}
	for s := Client; s <= Server; s++ {
		h, peer := &c.half[s], &c.half[s.Peer()]
		if p.wants(BadSequence, s) && h.overAck != 0 && h.ackValid && peer.sentValid && peer.sent.Add(1).LessThan(h.ack) &&
			(peer.lastSent > h.overAck && peer.lastSig.seq.Add(1).LessThan(h.ack) || seqnum.Size(h.ack.Sub(peer.sent)) > h.recvWindow(peer)) {
			out = append(out, Anomaly{Kind: BadSequence, rule: ruleOverAck, Side: s, HasSide: true, Time: h.overAck,
				Detail: fmt.Sprintf("%s acknowledges %d bytes the %s never sent (or the capture missed them)",
					endpoint(c, s), h.ack.Sub(peer.sent), s.Peer()),
				Fields: map[string]any{"reason": "ack_of_unsent_data", "bytes": uint32(h.ack.Sub(peer.sent))}})
		}
	}
	return out
}
