package tracker

import "fmt"

// detectOpen judges a connection's opening once its fate is known (at the
// end of input, or in live mode once the handshake timeout has passed).
// These findings are held back for targets under a SYN flood, which get one
// finding of their own instead of one per spoofed source.
//
//   - syn_timeout: the client sent its SYN, retransmitted it, and the server
//     never answered (RFC 793 p. 54; Linux retries tcp_syn_retries times).
//   - connection_refused: the SYN was answered by an RST (RFC 793 p. 36).
//   - half_open, "handshake never completed": the server retransmitted its
//     SYN-ACK and is still in SYN_RCVD: the client's ACK never arrived.
func detectOpen(c *Conn, now int64, out []Anomaly) []Anomaly {
	cl, sv := &c.half[Client], &c.half[Server]
	synAck := synAckTime(c)
	switch {
	case c.refusedAt != 0 && c.refusedBy != 0:
		out = append(out, Anomaly{Kind: ConnectionRefused, Side: Server, HasSide: true, Time: c.refusedAt,
			Detail: fmt.Sprintf("%s could not connect to %s: its SYN was answered by ICMP %s", endpoint(c, Client), c.Server(), c.refusedBy),
			Fields: map[string]any{"seconds_to_icmp": seconds(c.refusedAt - c.First), "icmp": c.refusedBy.String()}})
	case c.refusedAt != 0:
		a := Anomaly{Kind: ConnectionRefused, Side: Server, HasSide: true, Time: c.refusedAt,
			Detail: fmt.Sprintf("%s refused the connection: SYN answered by RST", endpoint(c, Server)),
			Fields: map[string]any{"seconds_to_rst": seconds(c.refusedAt - c.First)}}
		if c.refusals > 1 {
			a.Detail += fmt.Sprintf(", %d times (the same SYN sent again after each RST)", c.refusals)
			a.Fields["refusals"] = int(c.refusals)
		}
		out = append(out, a)
	case (cl.state == SynSent || cl.synAbandoned) && !sv.Sent() && cl.synRtx > 0 && cl.lastSent-c.First >= minRTO:
		out = append(out, Anomaly{Kind: SynTimeout, rule: ruleSynTimeout, Side: Server, HasSide: true, Time: c.First,
			Detail: fmt.Sprintf("%s sent its SYN %d times over %s and %s never answered",
				endpoint(c, Client), cl.synRtx+1, secs(cl.lastSent-c.First), endpoint(c, Server)),
			Fields: map[string]any{"syns": int(cl.synRtx) + 1, "seconds": seconds(cl.lastSent - c.First)}})
	case (sv.state == SynRcvd || sv.gaveUp && !sv.synAcked) && sv.synRtx > 0 && sv.lastSent-synAck >= minRTO:
		believes := "no ACK from the client arrived"
		if cl.state.Synchronized() {
			believes = "the client believes the connection open; its ACK never arrived"
		}
		out = append(out, Anomaly{Kind: HalfOpen, rule: ruleHandshake, Side: Server, HasSide: true, Time: synAck,
			Detail: fmt.Sprintf("handshake never completed: %s retransmitted its SYN-ACK %d times and %s; %s",
				endpoint(c, Server), sv.synRtx, map[bool]string{false: "is still in SYN_RCVD", true: "gave up"}[sv.gaveUp], believes),
			Fields: map[string]any{"reason": "handshake", "retransmits": int(sv.synRtx), "gave_up": sv.gaveUp,
				"client_established": cl.state.Synchronized()}})
	}
	return out
}

// synAckTime is when the server sent its SYN-ACK: the connection's first
// segment if the capture never saw it (its SYN-ACK inferred, its
// retransmissions seen).
func synAckTime(c *Conn) int64 {
	if t := c.half[Server].synTime; t != 0 {
		return t
	}
	return c.First
}

// floodsOwn reports whether a connection is a handshake a SYN flood's
// finding summarizes, when it is to a target found under one: its client
// sent a SYN (not only a segment dropped as Linux drops it, SYN with RST
// or FIN), and it never completed.
func (c *Conn) floodsOwn() bool { return c.embryonic() && c.half[Client].synSent }

// embryonic reports whether a connection never completed its handshake:
// the server's SYN(-ACK) was never acknowledged.
func (c *Conn) embryonic() bool {
	return !c.Midstream && !c.half[Server].synAcked
}
