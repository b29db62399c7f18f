package report

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Events writes the `--format ndjson` stream: one JSON object per line, each
// written with a single Write as soon as it happens, so that a reader at
// the other end of a pipe gets whole lines at once. Every object has an
// "event" member:
//
//	transition  a side's state changed: connection, client, server, time,
//	            packet (0 for a timer), side, from, to, why
//	anomaly     a finding, as in the report's "anomalies" list
//	end         a connection ended (neither side holds it beyond
//	            TIME_WAIT): its row as in the report's "connections";
//	            later evidence that reopens it gives a second end
//	stats       live mode, every --interval: packets so far, packets/s,
//	            kernel drops, connections followed and seen
//	report      the final report, as --format json prints it (Print)
//
// File mode and live mode both write through it. Events is not safe for
// concurrent use; the first write error stops it and is kept (Err).
type Events struct {
	w       io.Writer
	buf     bytes.Buffer
	line    []byte // an event appendTransitionEvent or appendEndEvent wrote
	enc     *json.Encoder
	verbose bool
	err     error
	tunnels func(uint32) (tracker.Tunnel, bool) // SetTunnels
}

// NewEvents returns an event writer on w. With verbose, "end" events carry
// the connection's transitions, as -v adds them to the report.
func NewEvents(w io.Writer, verbose bool) *Events {
	e := &Events{w: w, verbose: verbose}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}

// Err returns the first write error.
func (e *Events) Err() error { return e.err }

func (e *Events) write(v any) {
	if e.err != nil {
		return
	}
	e.buf.Reset()
	if e.err = e.enc.Encode(v); e.err != nil {
		return
	}
	_, e.err = e.w.Write(e.buf.Bytes())
}

// ConnTransition is a transition with the connection it belongs to: the
// ndjson "transition" event, and a line of the live view's recent
// transitions.
type ConnTransition struct {
	Time       Time           `json:"time"`
	Connection uint64         `json:"connection"`
	Client     netip.AddrPort `json:"client"`
	Server     netip.AddrPort `json:"server"`
	Packet     uint64         `json:"packet"` // 0 for a timer
	Side       tracker.Side   `json:"side"`
	From       tracker.State  `json:"from"`
	To         tracker.State  `json:"to"`
	Why        string         `json:"why"`
	Inferred   bool           `json:"inferred,omitempty"` // shown by what followed a segment the capture missed
}

// ConnTransitionOf converts a tracker transition of c into the model.
func ConnTransitionOf(c *tracker.Conn, tr tracker.Transition) ConnTransition {
	return connTransition(c.ID, c.Client(), c.Server(), tr)
}

// FrozenTransitionOf converts a tracker transition of a frozen connection,
// known by its Record, into the model.
func FrozenTransitionOf(r *tracker.Record, tr tracker.Transition) ConnTransition {
	return connTransition(r.ID, r.Client(), r.Server(), tr)
}

func connTransition(id uint64, client, server netip.AddrPort, tr tracker.Transition) ConnTransition {
	return ConnTransition{
		Time: Time(tr.Time), Connection: id, Client: client, Server: server,
		Packet: tr.Packet, Side: tr.Side, From: tr.From, To: tr.To, Why: tr.Why, Inferred: tr.Inferred,
	}
}

// Hook sets cfg's callbacks to write the events of a tracker made with it.
func (e *Events) Hook(cfg *tracker.Config) {
	cfg.OnTransition, cfg.OnFrozenTransition, cfg.OnAnomaly = e.Transition, e.FrozenTransition, e.Anomaly
}

// FrozenTransition writes the "transition" event of a frozen connection:
// a side's TIME_WAIT ending, which never ends the connection (it had
// ended). It has the signature of tracker.Config.OnFrozenTransition.
func (e *Events) FrozenTransition(r *tracker.Record, tr tracker.Transition) {
	e.writeTransition(FrozenTransitionOf(r, tr))
}

// Transition writes a "transition" event, then an "end" event if the
// transition ended the connection. It has the signature of
// tracker.Config.OnTransition.
func (e *Events) Transition(c *tracker.Conn, tr tracker.Transition) {
	e.writeTransition(ConnTransitionOf(c, tr))
	if Ends(c, tr) {
		rec := c.Record()
		e.writeEnd(Time(tr.Time), reportConnection(&rec, e.verbose, e.tunnels))
	}
}

func (e *Events) writeTransition(t ConnTransition) {
	if b, ok := appendTransitionEvent(e.line[:0], &t); ok {
		e.writeLine(b)
		return
	}
	e.write(struct {
		Event string `json:"event"`
		ConnTransition
	}{"transition", t})
}

func (e *Events) writeEnd(at Time, c Connection) {
	if b, ok := appendEndEvent(e.line[:0], at, &c); ok {
		e.writeLine(b)
		return
	}
	e.write(struct {
		Event      string     `json:"event"`
		Time       Time       `json:"time"`
		Connection Connection `json:"connection"`
	}{"end", at, c})
}

// writeLine writes an event appended to e.line.
func (e *Events) writeLine(b []byte) {
	e.line = b
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// appendTransitionEvent appends a "transition" event's line as
// encoding/json writes it, field by field (the most frequent event, and
// reflection was most of the stream's cost). It reports false, having
// appended nothing, for one with a string that needs escaping.
func appendTransitionEvent(b []byte, t *ConnTransition) ([]byte, bool) {
	if !plainText(t.Why) || !plain(t.Client.Addr().Zone()) || !plain(t.Server.Addr().Zone()) {
		return b, false
	}
	b = append(b, `{"event":"transition","time":"`...)
	b = appendTime(b, t.Time)
	b = strconv.AppendUint(append(b, `","connection":`...), t.Connection, 10)
	b = t.Client.AppendTo(append(b, `,"client":"`...))
	b = t.Server.AppendTo(append(b, `","server":"`...))
	b = strconv.AppendUint(append(b, `","packet":`...), t.Packet, 10)
	b = append(append(b, `,"side":"`...), t.Side.String()...)
	b = append(append(b, `","from":"`...), t.From.String()...)
	b = append(append(b, `","to":"`...), t.To.String()...)
	b = append(append(b, `","why":"`...), t.Why...)
	b = append(b, '"')
	if t.Inferred {
		b = append(b, `,"inferred":true`...)
	}
	return append(b, "}\n"...), true
}

// plainText reports whether encoding/json, not escaping HTML, writes s as
// it is: plain (connjson.go) but for valid UTF-8 beyond ASCII, other than
// the line and paragraph separators (U+2028, U+2029), which it escapes.
// The whys of transitions have ≥ and → in them.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(s) && !strings.ContainsRune(s, '\u2028') && !strings.ContainsRune(s, '\u2029')
}

// appendEndEvent appends an "end" event's line as encoding/json writes it,
// if appendConnection can write its connection.
func appendEndEvent(b []byte, at Time, c *Connection) ([]byte, bool) {
	if !plain(c.Client.Addr().Zone()) || !plain(c.Server.Addr().Zone()) {
		return b, false
	}
	start := len(b)
	b = append(b, `{"event":"end","time":"`...)
	b = appendTime(b, at)
	b, ok := appendConnection(append(b, `","connection":`...), c)
	if !ok {
		return b[:start], false
	}
	return append(b, "}\n"...), true
}

// Ends reports whether tr is the transition that ended c: neither side
// holds the connection beyond TIME_WAIT now, and one did before it.
func Ends(c *tracker.Conn, tr tracker.Transition) bool {
	if !c.Ended() {
		return false
	}
	return tr.From != tracker.Closed && tr.From != tracker.TimeWait
}

// Anomaly writes an "anomaly" event. It has the signature of
// tracker.Config.OnAnomaly.
func (e *Events) Anomaly(a tracker.Anomaly) { e.writeAnomaly(AnomalyOf(a)) }

func (e *Events) writeAnomaly(a Anomaly) {
	e.write(struct {
		Event string `json:"event"`
		Anomaly
	}{"anomaly", a})
}

// LiveStats is a live capture's progress, for the "stats" event and the
// live view.
type LiveStats struct {
	Time        Time    `json:"time"`
	Packets     uint64  `json:"packets"`     // read by tcpwatch
	TCPPackets  uint64  `json:"tcp_packets"` // of which TCP
	PacketsPerS float64 `json:"packets_per_second"`
	Dropped     Dropped `json:"dropped"`            // libpcap's counters
	Active      int     `json:"active_connections"` // in the flow table
	Connections int     `json:"connections"`        // seen so far
}

// Stats writes a "stats" event.
func (e *Events) Stats(s LiveStats) {
	e.write(struct {
		Event string `json:"event"`
		LiveStats
	}{"stats", s})
}
