// Package zeek reproduces the two columns of Zeek's conn.log that summarize
// a TCP connection, history and conn_state, so that tcpwatch's output lines
// up with Zeek's. [Summary] follows one connection; its input is [Segment],
// the few fields of a TCP segment that Zeek's analysis looks at. The package
// imports only the standard library and tracker/seqnum: the tracker feeds it,
// never the other way round.
//
// # Sources
//
// It follows Zeek's own code rather than the RFCs, quirks included; each rule
// names the Zeek function it mirrors:
//
//   - src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: Process,
//     init_endpoint, get_relative_seq, update_history, update_window,
//     init_peer, update_ack_seq, update_last_seq, UpdateStateMachine and the
//     Update*State functions;
//   - src/analyzer/protocol/tcp/TCP_Endpoint.cc and Session.h: CheckHistory,
//     ScaledHistoryEntry, Size, NoDataAcked;
//   - src/analyzer/protocol/tcp/TCP_Reassembler.cc (DataSent, AckReceived,
//     Undelivered, Gap) and src/Reassem.cc (TrimToSeq) for content gaps;
//   - src/Conn.cc FlipRoles, IPBasedAnalyzer::NewConn and
//     TCPAnalyzer::WantConnection for the '^' role flips;
//   - scripts/base/protocols/conn/main.zeek, function conn_state.
//
// # Sequence numbers
//
// Wire sequence and acknowledgment numbers are [seqnum.Value]s and segment
// lengths [seqnum.Size]s, compared in serial arithmetic. Zeek also numbers
// each side's stream relative to its start in 64 bits, counting the times the
// 32-bit numbers passed 2^32 (seq_wraps, ack_wraps); those relative numbers
// are relSeq here, and where Zeek compares raw 32-bit values to count a wrap,
// passesZero names the comparison.
//
// # Orientation
//
// Zeek's originator is not always tcpwatch's client; see [Summary].
package zeek
