// Package tracker follows TCP connections from their segments and infers
// each endpoint's RFC 793 state, as that endpoint's kernel would hold it
// after the segments seen so far, and finds the anomalies operators look
// for. It imports only the standard library: its whole input is
// [Segment], a small value decoded elsewhere.
//
// # The inference model
//
// A connection ([Conn]) is one lifetime of a 4-tuple with two halves
// ([Half]), client and server. Each half records facts established by the
// segments — it sent its SYN, it received the peer's SYN, its SYN was
// acknowledged (ACK = ISN+1), it sent a FIN at sequence number f, an ACK
// ≥ f+1 acknowledged it, it received the peer's FIN, it sent or accepted an
// RST — and its state is derived from those facts (derive), never set
// directly. One symmetric function (update) applies a segment to its sender
// and to its receiver, so every rule is written once for both directions.
//
// Segments seen are taken as delivered until later evidence says otherwise,
// and then the facts are corrected: a FIN or SYN-ACK retransmitted after its
// ACK was seen proves that ACK never arrived (after two such proofs, a bare
// repeat of the same ACK is not believed either); a SYN retransmitted after a
// SYN-ACK proves the SYN-ACK was lost; an ACK sent well over a round trip
// after the peer's FIN that does not cover it proves the FIN was lost. An RST
// moves a state only where Linux would accept it (RFC 5961). Keepalives,
// zero-window probes and capture duplicates never move a state.
//
// # Time
//
// All time comes from the segments and from [Tracker.Advance]: the capture's
// clock in file mode, a ticker in live mode. TIME_WAIT ends 2×MSL after it
// began; handshakes time out for the SYN-flood detector after
// [Thresholds.HandshakeTimeout]. The tracker never reads the wall clock, so
// the same segments always give the same result.
//
// # Anomalies
//
// Detectors are small pure functions over a connection's facts (detect_*.go)
// or, for SYN floods, over per-target aggregates (synflood.go,
// synflood_forensics.go), and for TIME_WAIT build-up over counts per client
// host and service (timewait.go); each cites the rule it implements and
// takes its thresholds from [Thresholds]. They return findings as data
// ([Anomaly]), one per root cause: a condition another one caused is named
// in its cause's finding ([Anomaly.Also]); nothing here prints.
//
// # Memory
//
// The flow table is capped ([Config.MaxConns]): when it is full, connections
// whose handshake never completed are evicted first, and counted. Ended
// connections kept for the report are capped too ([Config.MaxKept]). A SYN
// flood costs a fixed amount per target whatever the number of sources, and
// the TIME_WAIT counts a fixed amount per client host and service, for at
// most 16,384 pairs at once.
//
// # Limits
//
// There is no stream reassembly. A capture that misses packets (loss at the
// capture point, one direction of a SPAN port) can leave a side in an earlier
// state than the kernel's; a packet dropped after the capture point is seen
// only through the retransmissions that follow it. A side that never sent
// anything is CLOSED: a passive observer cannot tell a listening socket from
// a closed port until it answers.
package tracker
