// Package degrade scores tcpwatch on imperfect captures: degraded copies of
// the kernel-verified recordings in testdata/pcaps, scored against their
// unchanged .states files. A capture that misses packets does not change
// what the kernels held, so the kernel's states stay the right answer;
// only the evidence shrinks.
//
// # Degradations
//
// Each degradation is a pure function from a decoded packet list (as
// [Load] reads it with the capture package) to a new one; the input is
// never modified, and the random ones draw from a math/rand/v2 PCG
// generator seeded by the caller, so a seed always gives the same copy:
//
//   - [Loss]: each TCP packet dropped independently with a probability;
//   - [OneSide]: only the client's or only the server's packets kept, the
//     client being the endpoint the .states row names as client ([RolesOf]);
//   - [LateStart]: the first N packets of each connection dropped;
//   - [Swap]: adjacent pairs of TCP packets exchanged, timestamps kept in
//     order.
//
// Non-TCP packets are always kept: the command's clock moves with them.
// A [Plan] combines them; the degrade command (cmd/degrade) writes the
// degraded copy as a pcap file, so that it can be read with tcpwatch -v.
//
// # Scoring
//
// A tracker is run over the degraded packets the way tcpwatch -r runs it
// with default flags ([Run], [Tcpwatch]): the same configuration, every
// TCP segment observed in order, the time of every other packet passed to
// Advance, Finish at the end. Its connections are then matched with the
// kernel's rows ([Match]):
//
//   - a row and a connection match when they have the same two endpoints
//     (address and port), in either direction;
//   - when one 4-tuple carries several rows (port reuse), its rows take that
//     4-tuple's connections in order of first packet; connections beyond the
//     rows are not scored;
//   - a row that no connection matches (all its packets dropped, or never
//     recognised as a connection) is scored as if the tracker had said
//     CLOSED for both sides;
//   - each side is scored by address: the state the tracker gave the row's
//     client endpoint is compared with the kernel's client state, even when
//     the tracker took that endpoint for the server (wrong orientation);
//   - a side is right when the tracker's state equals the kernel's exactly.
//
// Scores count sides (two per row). The syn-flood recording is run but not
// scored: tcpwatch summarizes a flood's embryonic connections in its
// finding instead of listing them, and its thousand rows would outweigh
// every other recording.
//
// # Baseline
//
// [Baseline] is the comparison column: the textbook RFC 793 state machine
// driven by the flags alone, which shows how much of tcpwatch's score comes
// from reading sequence numbers and from what it infers of lost segments.
package degrade
