package report

import (
	"cmp"
	"slices"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// SchemaVersion is the version of the JSON document (SPEC.md).
const SchemaVersion = 1

// Report is everything tcpwatch says about one capture. Its JSON encoding is
// the `--format json` document of SPEC.md; the table printer renders the
// same data.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Input         Input        `json:"input"`
	Connections   []Connection `json:"connections"`
	Anomalies     []Anomaly    `json:"anomalies"`
	Summary       Summary      `json:"summary"`

	verbose bool
}

// Input describes what was read.
type Input struct {
	Files       []string          `json:"files"`
	Interface   string            `json:"interface"`
	Packets     uint64            `json:"packets"`
	TCPPackets  uint64            `json:"tcp_packets"`
	Skipped     map[string]uint64 `json:"skipped"`
	FirstPacket Time              `json:"first_packet"`
	LastPacket  Time              `json:"last_packet"`
	Dropped     Dropped           `json:"dropped"`
	// Evicted counts connections dropped from the flow table to keep
	// memory bounded (--max-conns): embryonic ones (handshake never
	// completed) are left out of the report; established ones keep the
	// record they had.
	Evicted Evicted `json:"evicted"`
	// Error is the error that ended the input early, if any: everything
	// read before it is still analyzed.
	Error string `json:"error,omitempty"`
	// Interrupted says that a signal (SIGINT, SIGTERM) stopped the run
	// before the input ended: the report covers what was read until then.
	Interrupted bool `json:"interrupted,omitempty"`
}

// Evicted counts connections evicted from the flow table.
type Evicted struct {
	Embryonic   uint64 `json:"embryonic"`
	Established uint64 `json:"established"`
	// SynFlood counts connections that never completed their handshake, to
	// a target found under a SYN flood, left out of the connections: the
	// syn_flood finding summarizes them.
	SynFlood uint64 `json:"syn_flood"`
	// Forgotten counts connections that ended (closed on both sides) and
	// were left out of the connections, oldest first, beyond --keep; the
	// summary still counts them, as CLOSED on both sides.
	Forgotten uint64 `json:"forgotten"`
}

// Dropped counts packets lost by the capture (live mode).
type Dropped struct {
	Kernel    uint64 `json:"kernel"`
	Interface uint64 `json:"interface"`
}

// Connection is one connection's row.
type Connection struct {
	ID           uint64        `json:"id"`
	Client       string        `json:"client"`
	Server       string        `json:"server"`
	ClientState  string        `json:"client_state"`
	ServerState  string        `json:"server_state"`
	FirstPacket  Time          `json:"first_packet"`
	LastPacket   Time          `json:"last_packet"`
	Midstream    bool          `json:"midstream"`
	Packets      PerSide       `json:"packets"`
	PayloadBytes PerSide       `json:"payload_bytes"`
	Keepalives   uint64        `json:"keepalives"`
	History      string        `json:"history"`
	ConnState    string        `json:"conn_state"`
	CommunityID  string        `json:"community_id"`
	Transitions  *[]Transition `json:"transitions,omitempty"` // with -v (present, maybe empty); absent otherwise
	Anomalies    []string      `json:"anomalies"`

	duration time.Duration
}

// PerSide is a count for each side.
type PerSide struct {
	Client uint64 `json:"client"`
	Server uint64 `json:"server"`
}

// Transition is one state change with its evidence.
type Transition struct {
	Time   Time   `json:"time"`
	Packet uint64 `json:"packet"`
	Side   string `json:"side"`
	From   string `json:"from"`
	To     string `json:"to"`
	Why    string `json:"why"`
}

// Anomaly is one finding.
type Anomaly struct {
	Kind       string `json:"kind"`
	Severity   string `json:"severity"`
	Connection uint64 `json:"connection,omitempty"`
	Side       string `json:"side,omitempty"`
	Target     string `json:"target,omitempty"`
	Time       Time   `json:"time"`
	Detail     string `json:"detail"`
}

// Summary counts connections by state and anomalies by kind.
type Summary struct {
	Connections int                          `json:"connections"`
	Anomalies   map[string]int               `json:"anomalies"`
	States      map[string]map[string]uint64 `json:"states"`
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

// Options say what to include.
type Options struct {
	Verbose bool // include each connection's transitions
}

// Build assembles the report from the input's description and the
// tracker's results (after Finish).
func Build(in Input, tr *tracker.Tracker, opts Options) *Report {
	// In order of first packet (SPEC.md): a connection opened by a SYN seen
	// before a later one's first packet can be created after it (its SYN
	// was held until a SYN-ACK proved it new).
	conns := slices.Clone(tr.Conns())
	slices.SortStableFunc(conns, func(a, b *tracker.Conn) int {
		return cmp.Or(cmp.Compare(a.First, b.First), cmp.Compare(a.ID, b.ID))
	})
	ev := tr.Evicted()
	in.Evicted = Evicted{Embryonic: ev.Embryonic, Established: ev.Established, SynFlood: ev.Flood, Forgotten: ev.Forgotten}
	r := &Report{
		SchemaVersion: SchemaVersion,
		Input:         in,
		Connections:   make([]Connection, 0, len(conns)),
		Anomalies:     anomalies(tr.Anomalies()),
		verbose:       opts.Verbose,
	}
	if r.Input.Files == nil {
		r.Input.Files = []string{}
	}
	states := map[string]map[string]uint64{"client": {}, "server": {}}
	for _, c := range conns {
		row := connection(c, opts.Verbose)
		states["client"][row.ClientState]++
		states["server"][row.ServerState]++
		r.Connections = append(r.Connections, row)
	}
	if n := ev.Forgotten; n > 0 {
		states["client"]["CLOSED"] += n
		states["server"]["CLOSED"] += n
	}
	r.Summary = Summary{Connections: len(conns) + int(ev.Forgotten), Anomalies: map[string]int{}, States: states}
	for k, n := range tr.AnomalyCounts() {
		r.Summary.Anomalies[k.String()] = n
	}
	return r
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

func connection(c *tracker.Conn, verbose bool) Connection {
	cl, sv := &c.Half[tracker.Client], &c.Half[tracker.Server]
	client, server := c.Client(), c.Server()
	row := Connection{
		ID:           c.ID,
		Client:       client.String(),
		Server:       server.String(),
		ClientState:  cl.State.String(),
		ServerState:  sv.State.String(),
		FirstPacket:  Time(c.First),
		LastPacket:   Time(c.Last),
		Midstream:    c.Midstream,
		Packets:      PerSide{cl.Packets, sv.Packets},
		PayloadBytes: PerSide{cl.Bytes, sv.Bytes},
		Keepalives:   uint64(c.Keepalives),
		History:      c.History(),
		ConnState:    c.ConnState(),
		CommunityID:  c.CommunityID(),
		Anomalies:    []string{},
		duration:     time.Duration(c.Last - c.First),
	}
	for _, k := range c.Kinds() {
		row.Anomalies = append(row.Anomalies, k.String())
	}
	if verbose {
		trs := c.Transitions()
		list := make([]Transition, 0, len(trs))
		row.Transitions = &list
		for _, tr := range trs {
			list = append(list, Transition{
				Time: Time(tr.Time), Packet: tr.Packet, Side: tr.Side.String(),
				From: tr.From.String(), To: tr.To.String(), Why: tr.Why,
			})
		}
	}
	return row
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Time) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = 0
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return err
	}
	*t = Time(v.UnixNano())
	return nil
}

// TransitionList returns the connection's transitions (none without -v).
func (c *Connection) TransitionList() []Transition {
	if c.Transitions == nil {
		return nil
	}
	return *c.Transitions
}
