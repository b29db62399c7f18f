package report

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// SchemaVersion is the version of the JSON document (SPEC.md).
const SchemaVersion = 1

// Report is everything tcpwatch says about one capture. Its JSON encoding is
// the `--format json` document of SPEC.md; the table printer renders the
// same data. Every field is typed: states, kinds, severities, sides and
// addresses encode as text (MarshalText) and decode back (UnmarshalText),
// so that nothing parses a string the program printed.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Input         Input        `json:"input"`
	Connections   []Connection `json:"connections"`
	Anomalies     []Anomaly    `json:"anomalies"`
	Summary       Summary      `json:"summary"`

	source *connSource // a streamed report's connections, with Connections nil (stream.go)
	// forgotten counts, by service, the connections forgotten beyond
	// --keep, for the rollup (rollup.go).
	forgotten []*tracker.ForgottenService
}

// Input describes what was read.
type Input struct {
	Files      []string `json:"files"`
	Interface  string   `json:"interface"`
	Packets    uint64   `json:"packets"`
	TCPPackets uint64   `json:"tcp_packets"`
	// Skipped counts the packets not tracked, by reason. A reason with no
	// key was not counted; one with a 0 was counted and did not occur.
	Skipped     map[Skip]uint64 `json:"skipped"`
	FirstPacket Time            `json:"first_packet"`
	LastPacket  Time            `json:"last_packet"`
	// CaptureEnd is when capture stopped, when the input says so and it was
	// after the last packet (pcapng's isb_endtime): timers ran until then.
	CaptureEnd Time    `json:"capture_end,omitzero"`
	Dropped    Dropped `json:"dropped"`
	// Evicted counts connections dropped from the flow table to keep
	// memory bounded (--max-conns): they keep the record they had, but
	// handshakes pushed out while they waited for their answer
	// (tracker/evictedsyn.go).
	Evicted Evicted `json:"evicted"`
	// Error is the error that ended the input early, if any: everything
	// read before it is still analyzed.
	Error string `json:"error,omitempty"`
	// Interrupted says that a signal (SIGINT, SIGTERM) stopped the run
	// before the input ended: the report covers what was read until then.
	Interrupted bool `json:"interrupted,omitempty"`
	// CaptureLoss estimates what the capture missed, when it missed
	// anything.
	CaptureLoss *CaptureLoss `json:"capture_loss,omitempty"`
	// Warnings are sentences about the input that the reader should know
	// (files given out of time order), when there are any.
	Warnings []string `json:"warnings,omitempty"`
	// Lone counts lone segments, when there were any.
	Lone *Lone `json:"lone,omitempty"`
	// Decapsulation counts tunnel contexts and reassembled fragments, when
	// there were any.
	Decapsulation *Decapsulation `json:"decapsulation,omitempty"`
}

// CaptureLoss is what the capture evidently missed, over the connections
// listed: segments the evidence shows were sent but that were not captured,
// in connections seen both ways, and the connections seen one way only.
type CaptureLoss struct {
	NotCaptured uint64 `json:"segments_not_captured"`
	MissedBytes uint64 `json:"missed_bytes"`
	// Estimate is the share of those connections' segments not captured:
	// NotCaptured / (captured + NotCaptured).
	Estimate float64 `json:"estimate"`
	OneSided uint64  `json:"one_sided_connections"`
	// SplitByTunnel counts the pairs of them seen one way in one tunnel
	// context and the other way in another, with the same endpoints: one
	// connection whose tunnel's outer endpoints differ between the
	// directions (--merge-tunnels joins them).
	SplitByTunnel uint64 `json:"split_by_tunnel,omitempty"`
}

// Skip is a reason a packet was read but not tracked (Input.Skipped).
type Skip uint8

// The reasons, in the order the table printer lists them.
const (
	NotTCP    Skip = iota // neither TCP over IPv4 nor over IPv6
	Fragment              // an IP fragment (fragments are not reassembled)
	Truncated             // headers cut short by the snapshot length
	Malformed             // headers that contradict themselves
	Filtered              // rejected by the BPF filter
	numSkips
)

var skipNames = [numSkips]string{"not_tcp", "fragment", "truncated", "malformed", "filtered"}

// Skips lists every reason in the printer's order.
func Skips() []Skip {
	s := make([]Skip, numSkips)
	for i := range s {
		s[i] = Skip(i)
	}
	return s
}

// String returns the reason as the JSON document spells it ("not_tcp").
func (s Skip) String() string {
	if s < numSkips {
		return skipNames[s]
	}
	return fmt.Sprintf("Skip(%d)", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Skip) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Skip) UnmarshalText(b []byte) error {
	for i, n := range skipNames {
		if n == string(b) {
			*s = Skip(i)
			return nil
		}
	}
	return fmt.Errorf("parse skip reason %q: want not_tcp, fragment, truncated, malformed or filtered", b)
}

// Evicted counts connections evicted from the flow table.
type Evicted struct {
	Embryonic   uint64 `json:"embryonic"`
	Established uint64 `json:"established"`
	// SynFlood counts connections that never completed their handshake, to
	// a target found under a SYN flood, left out of the connections: the
	// syn_flood finding summarizes them.
	SynFlood uint64 `json:"syn_flood"`
	// Forgotten counts connections that ended (closed on both sides, or
	// TIME_WAIT) and were left out of the connections, oldest first, beyond
	// --keep; the summary still counts them, in the state each side had
	// (a TIME_WAIT that ran out since as CLOSED).
	Forgotten uint64 `json:"forgotten"`
	// ForgottenUnanswered counts those of Forgotten that were never
	// answered both ways past a handshake (embryonic, one-sided, spoofed):
	// they are forgotten before any connection that was.
	ForgottenUnanswered uint64 `json:"forgotten_unanswered"`
	// TimeWait counts connections that ended whose compact TIME_WAIT
	// record was dropped from its full table (ten times --max-conns):
	// listed as they were, but a segment for them after is a new flow.
	TimeWait uint64 `json:"time_wait,omitempty"`
	// TimeWaitAhead counts TIME_WAITs of connections forgotten without a
	// compact record that were taken as ended ahead of their time, once
	// the timers that end them filled their table (as large as the compact
	// records', 1,048,576 at least): the summary counts them CLOSED.
	TimeWaitAhead uint64 `json:"time_wait_ahead,omitempty"`
	// Readmitted counts connections evicted from the full flow table, open
	// or in their handshake, that a later segment of theirs brought back
	// while they were still held whole: followed on, and counted in
	// neither Embryonic nor Established.
	Readmitted uint64 `json:"readmitted,omitempty"`
	// TakenOver counts connections evicted from the full flow table open,
	// no longer kept whole (frozen or forgotten beyond --keep) when a later
	// segment of theirs came, that the connection that segment opened,
	// picked up mid-stream, followed on, taking over what they knew of
	// their sides: counted once, as that one, they left Forgotten and the
	// summary (or, frozen to the end, the report).
	TakenOver uint64 `json:"taken_over,omitempty"`
}

// Lone counts lone segments: segments for a 4-tuple that no connection
// followed, other than SYNs, that neither an answer nor a continuation
// made a connection. They are not connections and are not listed.
type Lone struct {
	Segments uint64 `json:"segments"` // never answered
	Tuples   uint64 `json:"tuples"`   // their distinct 4-tuples (as held at once)
	Refused  uint64 `json:"refused"`  // answered by an RST: the receiver had no connection
}

// Dropped counts packets the capture itself lost: libpcap's counts in live
// mode; in a file, what pcapng's interface statistics say (isb_ifdrop).
type Dropped struct {
	Kernel    uint64 `json:"kernel"`
	Interface uint64 `json:"interface"`
}

// Connection is one connection's row.
type Connection struct {
	ID           uint64         `json:"id"`
	Client       netip.AddrPort `json:"client"`
	Server       netip.AddrPort `json:"server"`
	ClientState  tracker.State  `json:"client_state"`
	ServerState  tracker.State  `json:"server_state"`
	FirstPacket  Time           `json:"first_packet"`
	LastPacket   Time           `json:"last_packet"`
	Midstream    bool           `json:"midstream"`
	Packets      PerSide        `json:"packets"`
	PayloadBytes PerSide        `json:"payload_bytes"`
	Keepalives   uint64         `json:"keepalives"`
	// ZeroWindowProbes counts probes sent while the peer advertised a zero
	// window, when there are any; like keepalives they never move a state.
	ZeroWindowProbes uint64         `json:"zero_window_probes,omitempty"`
	History          string         `json:"history"`
	ConnState        ConnState      `json:"conn_state"`
	CommunityID      string         `json:"community_id"`
	Transitions      *[]Transition  `json:"transitions,omitempty"` // with -v (present, maybe empty); absent otherwise
	Anomalies        []tracker.Kind `json:"anomalies"`
	// Capture says how much of the connection the capture saw: left out
	// when it saw both directions.
	Capture Capture `json:"capture,omitzero"`
	// Seen is the one side whose segments were captured, with Capture.
	Seen OptionalSide `json:"seen,omitzero"`
	// MissedBytes counts each side's data the capture missed (gaps and
	// acknowledged data never seen), when there is any.
	MissedBytes *PerSide `json:"missed_bytes,omitempty"`
	// NotCaptured counts segments the capture missed that the evidence
	// shows were sent (FINs, SYN-ACKs, ACKs, data), when there are any.
	NotCaptured uint64 `json:"not_captured,omitempty"`
	// Tunnel is the tunnel context the connection was seen in, outermost
	// layer first, when it was tunnelled (like Zeek's tunnel_parents).
	Tunnel []TunnelLayer `json:"tunnel,omitempty"`
	// BadChecksums counts segments ignored for a wrong checksum, when
	// there were any.
	BadChecksums uint64 `json:"bad_checksums,omitempty"`
	// Zeek is what -F zeek prints beyond the above (not in JSON).
	Zeek ZeekConn `json:"-"`
}

// ZeekConn is the part of a connection's conn.log row (-F zeek) that the
// rest of the model does not hold.
type ZeekConn struct {
	// OrigIsServer: Zeek's originator is the server (see SPEC.md, Zeek
	// fields), so id.orig_h is the server's address.
	OrigIsServer bool
	// OrigBytes and RespBytes are conn.log's orig_bytes and resp_bytes:
	// payload as sequence numbers span it, retransmissions not counted.
	OrigBytes, RespBytes uint64
}

// Capture is how much of a connection the capture saw.
type Capture uint8

const (
	BothDirections Capture = iota // the zero value: left out of JSON
	OneSided                      // one side's segments only (Connection.Seen)
)

// String returns "" or "one-sided".
func (c Capture) String() string {
	if c == OneSided {
		return "one-sided"
	}
	return ""
}

// IsZero reports whether both directions were seen (for omitzero).
func (c Capture) IsZero() bool { return c == BothDirections }

// MarshalText implements encoding.TextMarshaler.
func (c Capture) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Capture) UnmarshalText(b []byte) error {
	switch string(b) {
	case "":
		*c = BothDirections
	case "one-sided":
		*c = OneSided
	default:
		return fmt.Errorf("parse capture %q: want one-sided", b)
	}
	return nil
}

// Duration is the time from the connection's first packet to its last.
func (c *Connection) Duration() time.Duration {
	return time.Duration(c.LastPacket - c.FirstPacket)
}

// TransitionList returns the connection's transitions (none without -v).
func (c *Connection) TransitionList() []Transition {
	if c.Transitions == nil {
		return nil
	}
	return *c.Transitions
}

// ConnState is a Zeek conn_state code (S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0
// RSTRH SH SHR OTH), as tracker.Conn.ConnState computes it; "" before any
// segment.
type ConnState string

// ConnSF is Zeek's "normal establishment and termination": a FIN from each
// side after a handshake.
const ConnSF ConnState = "SF"

// PerSide is a count for each side.
type PerSide struct {
	Client uint64 `json:"client"`
	Server uint64 `json:"server"`
}

// Transition is one state change with its evidence.
type Transition struct {
	Time   Time          `json:"time"`
	Packet uint64        `json:"packet"` // 0 for a timer
	Side   tracker.Side  `json:"side"`
	From   tracker.State `json:"from"`
	To     tracker.State `json:"to"`
	Why    string        `json:"why"`
	// Inferred: shown by what followed a segment the capture missed.
	Inferred bool `json:"inferred,omitempty"`
}

// Anomaly is one finding. A connection's finding names the connection and
// the side at fault; a SYN flood names only its target.
type Anomaly struct {
	Kind       tracker.Kind     `json:"kind"`
	Severity   tracker.Severity `json:"severity"`
	Connection uint64           `json:"connection,omitempty"`
	// Unlisted: the connection is not in the report's connections
	// (forgotten beyond --keep, or summarized by a SYN flood).
	Unlisted bool           `json:"unlisted,omitempty"`
	Side     OptionalSide   `json:"side,omitzero"`
	Target   netip.AddrPort `json:"target,omitzero"`
	Time     Time           `json:"time"`
	Detail   string         `json:"detail"`
	Fields   map[string]any `json:"fields,omitempty"`
	// Also: the kinds of the conditions this one caused, reported within
	// it (one finding per root cause); --fail-on matches them too.
	Also []tracker.Kind `json:"also,omitempty"`
}

// OptionalSide is a side, or none (a finding about a target rather than a
// connection). The zero value is none; it encodes as the side's name and is
// left out of JSON when there is none.
type OptionalSide struct {
	Side  tracker.Side
	Valid bool
}

// SideOf returns s as an OptionalSide that is present.
func SideOf(s tracker.Side) OptionalSide { return OptionalSide{s, true} }

// IsZero reports whether there is no side (for encoding/json's omitzero).
func (o OptionalSide) IsZero() bool { return !o.Valid }

// String returns the side's name, or "" if there is none.
func (o OptionalSide) String() string {
	if !o.Valid {
		return ""
	}
	return o.Side.String()
}

// MarshalText implements encoding.TextMarshaler.
func (o OptionalSide) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; "" is none.
func (o *OptionalSide) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*o = OptionalSide{}
		return nil
	}
	o.Valid = true
	return o.Side.UnmarshalText(b)
}

// Summary counts connections by state and anomalies by kind.
type Summary struct {
	Connections int                  `json:"connections"`
	Anomalies   map[tracker.Kind]int `json:"anomalies"`
	States      StateCounts          `json:"states"`
	// Also counts the findings carrying each kind in their also list.
	Also map[tracker.Kind]int `json:"also,omitempty"`
}

// AnomalyTotal is the number of findings made, listed or not.
func (s *Summary) AnomalyTotal() int {
	n := 0
	for _, c := range s.Anomalies {
		n += c
	}
	return n
}

// StateCounts counts each side's connections by state.
type StateCounts struct {
	Client map[tracker.State]uint64 `json:"client"`
	Server map[tracker.State]uint64 `json:"server"`
}

// Time is a capture timestamp in nanoseconds since the epoch; it encodes as
// RFC 3339 UTC with all nine fractional digits (so that times line up and
// sort as text), or "" when unknown (zero).
type Time int64

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// String formats t as RFC 3339 UTC with nanoseconds.
func (t Time) String() string {
	if t == 0 {
		return ""
	}
	return time.Unix(0, int64(t)).UTC().Format(timeLayout)
}

// MarshalText implements encoding.TextMarshaler.
func (t Time) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Time) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = 0
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return fmt.Errorf("parse time %q: want RFC 3339 (2006-01-02T15:04:05.999999999Z)", b)
	}
	*t = Time(v.UnixNano())
	return nil
}

// Options say what to include.
type Options struct {
	Verbose bool // include each connection's transitions
	// Tunnels looks up the tunnel context of a connection's Key.Tunnel
	// (capture.Decoder.Tunnel); nil: none shown.
	Tunnels func(id uint32) (tracker.Tunnel, bool)
}

// Build assembles the report from the input's description and the
// tracker's results (after Finish), every connection in Connections.
func Build(in Input, tr *tracker.Tracker, opts Options) *Report {
	r := BuildStreamed(in, tr, opts)
	r.Materialize()
	return r
}

// evictionWarning is the warning that open connections were evicted from
// the full flow table, or "": a later segment of one no longer kept whole
// is taken for a new connection picked up mid-stream, so what is counted
// and found of them is less certain.
func evictionWarning(ev Evicted) string {
	if ev.Established == 0 {
		return ""
	}
	return fmt.Sprintf("the flow table was full (--max-conns): %s evicted while open;"+
		" a later segment of one no longer kept whole (frozen or forgotten: --keep) is followed as a new connection picked up mid-stream"+
		" (which stands for it, counted once, once it is forgotten),"+
		" so counts, states and findings are less certain: raise --max-conns, or --keep to twice the connections open at once", plural(ev.Established, "connection"))
}

// BuildStreamed is Build with the connections made as they are printed
// (stream.go): Connections is nil until Materialize. It reads the tracker
// until then.
func BuildStreamed(in Input, tr *tracker.Tracker, opts Options) *Report {
	// In order of first packet (SPEC.md): a connection opened by a SYN seen
	// before a later one's first packet can be created after it (its SYN
	// was held until a SYN-ACK proved it new).
	conns := tr.Records()
	ev := tr.Evicted()
	in.Evicted = EvictedOf(ev)
	if w := evictionWarning(in.Evicted); w != "" {
		in.Warnings = append(in.Warnings, w)
	}
	if l := tr.Lone(); l != (tracker.LoneStats{}) {
		in.Lone = &Lone{Segments: l.Segments, Tuples: l.Tuples, Refused: l.Refused}
	}
	r := &Report{
		SchemaVersion: SchemaVersion,
		Input:         in,
		Anomalies:     markUnlisted(anomalies(tr.Anomalies()), conns),
		Summary:       summarize(tr, recordStates(conns)),
		source:        &connSource{recs: conns, verbose: opts.Verbose, tunnels: opts.Tunnels},
	}
	if r.Input.Files == nil {
		r.Input.Files = []string{}
	}
	r.Input.CaptureLoss = captureLoss(conns)
	r.forgotten, _ = tr.ForgottenServices()
	addTunnels(r, conns, opts.Tunnels)
	addChecksums(r, tr)
	return r
}

// splitByTunnel pairs connections seen one way only by their endpoints,
// in either order: for each pair of endpoints, the sender and the tunnel
// context of each connection not paired yet.
type splitByTunnel map[[2]netip.AddrPort][]oneWay

type oneWay struct {
	from   netip.AddrPort
	tunnel uint32
}

// add enters a connection seen from side only and reports 1 when it pairs
// with one seen the other way in another tunnel context (each connection
// pairs once). Which end is the client may be inferred differently for
// the two, so the sender is compared, not the side.
func (m splitByTunnel) add(c *tracker.Record, side tracker.Side) uint64 {
	from, to := c.Client(), c.Server()
	if side == tracker.Server {
		from, to = to, from
	}
	k := [2]netip.AddrPort{from, to}
	if k[1].Compare(k[0]) < 0 {
		k[0], k[1] = k[1], k[0]
	}
	ws := m[k]
	for i, w := range ws {
		if w.from != from && w.tunnel != c.Key.Tunnel {
			m[k] = slices.Delete(ws, i, i+1)
			return 1
		}
	}
	m[k] = append(ws, oneWay{from, c.Key.Tunnel})
	return 0
}

// captureLoss sums what the capture missed over the connections, or
// returns nil when it evidently missed nothing.
func captureLoss(conns []*tracker.Record) *CaptureLoss {
	var l CaptureLoss
	var seen uint64
	split := splitByTunnel{}
	for _, c := range conns {
		if side, ok := c.OneSided(); ok {
			l.OneSided++
			l.SplitByTunnel += split.add(c, side)
			continue
		}
		l.NotCaptured += uint64(c.NotCaptured)
		seen += c.Packets(tracker.Client) + c.Packets(tracker.Server)
		l.MissedBytes += c.MissedBytes(tracker.Client) + c.MissedBytes(tracker.Server)
	}
	if l.NotCaptured+l.MissedBytes+l.OneSided == 0 {
		return nil
	}
	if l.NotCaptured > 0 {
		l.Estimate = float64(l.NotCaptured) / float64(seen+l.NotCaptured)
	}
	return &l
}

// summarize counts the connections by state, those forgotten beyond --keep
// in the state they had, and the findings by kind. The report and the
// live view share it.
func summarize(tr *tracker.Tracker, st stateCounts) Summary {
	forgotten := tr.Evicted().Forgotten
	n := st.n
	for s, byState := range tr.ForgottenStates() {
		for st, k := range byState {
			n[s][st] += k
		}
	}
	return Summary{
		Connections: st.conns + int(forgotten),
		Anomalies:   tr.AnomalyCounts(),
		Also:        tr.AlsoCounts(),
		States:      StateCounts{Client: stateMap(&n[tracker.Client]), Server: stateMap(&n[tracker.Server])},
	}
}

// stateCounts counts connections by side and state (a uint8): no map
// update per connection.
type stateCounts struct {
	n     [2][256]uint64
	conns int
}

func (st *stateCounts) add(cl, sv tracker.State) {
	st.n[tracker.Client][cl]++
	st.n[tracker.Server][sv]++
	st.conns++
}

func recordStates(recs []*tracker.Record) stateCounts {
	var st stateCounts
	for _, r := range recs {
		st.add(r.State(tracker.Client), r.State(tracker.Server))
	}
	return st
}

// stateMap returns the states with a non-zero count.
func stateMap(n *[256]uint64) map[tracker.State]uint64 {
	m := map[tracker.State]uint64{}
	for s, k := range n {
		if k > 0 {
			m[tracker.State(s)] = k
		}
	}
	return m
}

// anomalies converts findings, in order of time (then connection, then
// kind), so that the order does not depend on when a detector ran.
func anomalies(as []tracker.Anomaly) []Anomaly {
	as = slices.Clone(as)
	slices.SortStableFunc(as, func(a, b tracker.Anomaly) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Conn, b.Conn), cmp.Compare(a.Kind, b.Kind))
	})
	out := make([]Anomaly, 0, len(as))
	for _, a := range as {
		out = append(out, AnomalyOf(a))
	}
	return out
}

// markUnlisted marks the findings whose connection is not among conns,
// the connections the report lists.
func markUnlisted(as []Anomaly, conns []*tracker.Record) []Anomaly {
	named := make(map[uint64]bool)
	for _, a := range as {
		if a.Connection != 0 {
			named[a.Connection] = false
		}
	}
	if len(named) == 0 {
		return as
	}
	for _, c := range conns {
		if _, ok := named[c.ID]; ok {
			named[c.ID] = true
		}
	}
	for i := range as {
		if a := &as[i]; a.Connection != 0 && !named[a.Connection] {
			a.Unlisted = true
		}
	}
	return as
}

// AnomalyOf converts a tracker finding into the report's form.
func AnomalyOf(a tracker.Anomaly) Anomaly {
	x := Anomaly{Kind: a.Kind, Severity: a.Kind.Severity(), Connection: a.Conn,
		Time: Time(a.Time), Detail: a.Detail, Fields: a.Fields, Also: a.Also}
	if a.HasSide {
		x.Side = SideOf(a.Side)
	}
	if a.Target.IsValid() {
		x.Target = a.Target
	}
	return x
}

// row is the part of a connection's row that the live view shows too.
func row(c *tracker.Record) Connection {
	return Connection{
		ID:          c.ID,
		Client:      c.Client(),
		Server:      c.Server(),
		ClientState: c.State(tracker.Client),
		ServerState: c.State(tracker.Server),
		FirstPacket: Time(c.First),
		LastPacket:  Time(c.Last),
		Midstream:   c.Midstream,
		Anomalies:   kindsOf(c),
	}
}

// kindsOf returns the kinds found on c, never nil (JSON: [] when none).
func kindsOf(c *tracker.Record) []tracker.Kind {
	if ks := c.Kinds(); ks != nil {
		return ks
	}
	return []tracker.Kind{}
}

// connection is a connection's full row, with its transitions if verbose.
func connection(c *tracker.Record, verbose bool) Connection {
	x := row(c)
	x.Packets = PerSide{c.Packets(tracker.Client), c.Packets(tracker.Server)}
	x.PayloadBytes = PerSide{c.Bytes(tracker.Client), c.Bytes(tracker.Server)}
	x.Keepalives = uint64(c.Keepalives)
	x.ZeroWindowProbes = uint64(c.ZeroWindow)
	x.History = c.History()
	x.ConnState = ConnState(c.ConnState())
	x.CommunityID = c.CommunityID()
	if seen, ok := c.OneSided(); ok {
		x.Capture, x.Seen = OneSided, SideOf(seen)
	}
	if mc, ms := c.MissedBytes(tracker.Client), c.MissedBytes(tracker.Server); mc+ms > 0 {
		x.MissedBytes = &PerSide{mc, ms}
	}
	x.NotCaptured = uint64(c.NotCaptured)
	x.Zeek.OrigIsServer = !c.ZeekOrigIsClient()
	x.Zeek.OrigBytes, x.Zeek.RespBytes = c.ZeekBytes()
	if verbose {
		trs := c.Transitions()
		list := make([]Transition, 0, len(trs))
		for _, tr := range trs {
			list = append(list, transitionOf(tr))
		}
		x.Transitions = &list
	}
	return x
}

func transitionOf(tr tracker.Transition) Transition {
	return Transition{Time: Time(tr.Time), Packet: tr.Packet, Side: tr.Side, From: tr.From, To: tr.To, Why: tr.Why,
		Inferred: tr.Inferred}
}
