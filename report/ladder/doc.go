// Package ladder draws one TCP connection as a ladder diagram: two
// timelines, client and server, every segment an arrow between them with
// its flags, relative sequence and acknowledgment numbers and payload
// length, each side's state beside its own line as it changes, and the
// findings where they fired.
//
// # Where the segments come from
//
// The tracker keeps only each connection's transitions, not its segments:
// keeping every segment of every connection would cost memory and time on
// the packet path for connections nobody draws. A ladder is made by reading
// the input a second time: a [Recorder] is given the connections to draw
// (from the first pass), is shown only their segments ([Recorder.Wants]),
// and feeds them to a tracker of its own, which says which segments were
// keepalives, zero-window probes, capture duplicates or retransmitted
// data; a segment that carries only sequence space its sender had sent
// before (a SYN or FIN sent again too) is marked as a retransmission.
// The states come from the first pass's transitions, so a ladder says
// exactly what the report says.
//
// # Inferred segments
//
// A transition the tracker inferred from a segment the capture missed (a
// FIN shown by the peer's acknowledgment, an ACK shown by silence) is drawn
// as a dashed arrow: its direction and flags follow from the states it
// moved (a side entering CLOSE_WAIT received its peer's FIN).
//
// # Drawings
//
// [Text] draws with Unicode box drawing or plain ASCII, fitted to a width;
// [SVG] draws an SVG document.
package ladder
