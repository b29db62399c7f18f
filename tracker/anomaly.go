package tracker

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Kind is a kind of anomaly (SPEC.md, "Anomaly kinds").
type Kind uint8

// The anomaly kinds, in SPEC.md's order.
const (
	SynFlood Kind = iota + 1
	HalfOpen
	CloseWaitStuck
	FinWait2Stuck
	UnackedFin
	SynTimeout
	ConnectionRefused
	Reset
	PortReuse
	ZeroWindow
	InvalidFlags
	BadSequence
	TimeWaitBuildup
	AckFlood
	RstFlood
	FinFlood
	SynackBackscatter
	numKinds
)

var kindNames = [numKinds]string{"", "syn_flood", "half_open", "close_wait_stuck", "fin_wait_2_stuck",
	"unacked_fin", "syn_timeout", "connection_refused", "reset", "port_reuse", "zero_window",
	"invalid_flags", "bad_sequence", "time_wait_buildup", "ack_flood", "rst_flood", "fin_flood", "synack_backscatter"}

// String returns the kind's name as SPEC.md spells it.
func (k Kind) String() string {
	if k > 0 && k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind with the given name.
func ParseKind(s string) (Kind, bool) {
	for k := Kind(1); k < numKinds; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// Kinds lists every kind.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := Kind(1); k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Severity ranks anomalies.
type Severity uint8

const (
	Info Severity = iota
	Warning
	Critical
)

// String returns "info", "warning" or "critical".
func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Critical:
		return "critical"
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// ParseSeverity parses a severity name.
func ParseSeverity(s string) (Severity, bool) {
	for v := Info; v <= Critical; v++ {
		if v.String() == s {
			return v, true
		}
	}
	return 0, false
}

// Severity returns the kind's severity (SPEC.md).
func (k Kind) Severity() Severity {
	switch k {
	case SynFlood, AckFlood, RstFlood, FinFlood:
		return Critical
	case ConnectionRefused, Reset, PortReuse:
		return Info
	}
	return Warning
}

// Anomaly is one finding. Connection-level findings name the connection
// and the side at fault; a SYN flood names its target.
type Anomaly struct {
	Kind    Kind
	Conn    uint64 // connection ID; 0 for a target-wide finding
	Side    Side
	HasSide bool
	Target  netip.AddrPort // the server (or flood target)
	Time    int64          // when the condition began, ns since the epoch
	Detail  string
	// Fields are the finding's figures beside its sentence, for machines
	// (JSON "fields"): counts, rates, seconds stuck. Keys are snake_case;
	// values are numbers, strings or booleans. Nil when there are none.
	Fields map[string]any
	// Also are the kinds of the conditions this finding's condition caused,
	// reported within it rather than as findings of their own (one finding
	// per root cause: a client left in FIN_WAIT_2 by a server stuck in
	// CLOSE_WAIT; the abort by a peer that lost the connection). --fail-on
	// matches them as it matches Kind. Nil when there are none.
	Also []Kind

	rule rule // which detector made it, for bringing its sentence up to date
	// withdrawn: what it said was proved wrong since (withdraw); it stays
	// in its slot, and Anomalies leaves it out.
	withdrawn bool
}

// rule names a time-based detector whose findings' sentences are brought
// up to date at the end of input; 0 for findings made by an event.
type rule uint8

const (
	ruleNone rule = iota
	ruleCloseWait
	ruleFinWait2
	ruleUnackedFin
	ruleSilence
	ruleZeroWindow
	ruleOverAck
	ruleSynTimeout // detectOpen's, judged live before the end (rejudgeOpen)
	ruleHandshake
)

// Thresholds are the anomaly detectors' parameters. Zero fields take the
// defaults (DefaultThresholds); the reason for each default is given there.
type Thresholds struct {
	// Stuck is how long a side may sit idle in CLOSE_WAIT or FIN_WAIT_2, or
	// a zero window may stall its peer, before it is flagged (--stuck).
	Stuck time.Duration
	// FinRetransmits is how many retransmissions of an unacknowledged FIN
	// make unacked_fin.
	FinRetransmits int
	// SilentRetransmits is how many retransmissions with no segment at all
	// from the peer make half_open ("retransmitting into silence").
	SilentRetransmits int
	// FloodRate is the number of SYNs per second to one target that never
	// complete the handshake, in at least one second, that makes syn_flood;
	// FloodSources the distinct sources and FloodSYNs the total such SYNs
	// it also needs.
	FloodRate    int
	FloodSources int
	FloodSYNs    int
	// HandshakeTimeout is how long after its first SYN a connection may
	// take to complete its handshake before the SYN counts as unanswered
	// for syn_flood.
	HandshakeTimeout time.Duration
	// TimeWaitLimit is how many TIME_WAITs one client host may hold
	// towards one service before time_wait_buildup (--time-wait-limit).
	TimeWaitLimit int
	// LoneFloodRate is the number of lone segments of one kind per second,
	// never answered, in at least one second, that makes ack_flood,
	// rst_flood, fin_flood or synack_backscatter; LoneFloodSources the
	// distinct sources (or, for synack_backscatter, destinations) and
	// LoneFloodSegments the total in such seconds it also needs
	// (lonefloods.go).
	LoneFloodRate     int
	LoneFloodSources  int
	LoneFloodSegments int
	// MaxAnomalies caps the findings kept in the list (the summary still
	// counts all of them), so hostile traffic cannot exhaust memory.
	MaxAnomalies int
}

// DefaultThresholds are the defaults:
//
//   - Stuck 60 s (SPEC.md): longer than Linux's 60 s FIN_WAIT_2 timeout for
//     orphaned sockets would make fin_wait_2_stuck unobservable.
//   - FinRetransmits 2: one retransmission is an ordinary loss; a second one
//     (Linux backs off to ≥ 600 ms by then) means the ACK path is broken.
//   - SilentRetransmits 3: three retransmissions without a single segment
//     back span at least 1.4 s of exponential backoff from a 200 ms RTO.
//   - FloodRate 100/s, FloodSources 20, FloodSYNs 200: "a few hundred
//     unanswered SYNs per second from dozens of sources" must be caught,
//     while a healthy server answers its SYNs, so even a busy one has few
//     unanswered; 20 sources keeps one misbehaving client retrying from
//     counting as a flood.
//   - HandshakeTimeout 3 s: Linux's first SYN retransmission comes after
//     1 s; a handshake not done within 3 s lost at least one SYN or SYN-ACK.
//   - TimeWaitLimit 7,058: a quarter of Linux's default ephemeral port
//     range (32768–60999, 28,232 ports), what 118 new connections a second
//     to one service hold over 2×MSL (60 s); the whole range runs out at
//     470 a second.
//   - LoneFloodRate 500/s, LoneFloodSources 50, LoneFloodSegments 2,000:
//     a healthy server, however busy, answers every segment of a live
//     connection within a round trip, and a capture that starts mid-stream
//     sees the first segment of each open connection answered or continued
//     at once, so none of them counts; what is left unanswered for 3 s is
//     a stray: an ACK or RST after the connection was forgotten, a late
//     retransmission, one-way keepalives of idle connections at a capture's
//     start (10,000 idle connections probing every 75 s make 133/s). An
//     attack tool sends tens of thousands per second from spoofed sources;
//     500/s (five times syn_flood's rate, since strays are more common
//     than unanswered SYNs) sustained to 2,000 from 50 sources is far
//     above the strays and far below any flood worth the name.
//   - MaxAnomalies 10,000 findings listed.
var DefaultThresholds = Thresholds{
	Stuck:             60 * time.Second,
	FinRetransmits:    2,
	SilentRetransmits: 3,
	FloodRate:         100,
	FloodSources:      20,
	FloodSYNs:         200,
	HandshakeTimeout:  3 * time.Second,
	LoneFloodRate:     500,
	LoneFloodSources:  50,
	LoneFloodSegments: 2000,
	MaxAnomalies:      10000,
	TimeWaitLimit:     linuxEphemeralPorts / 4,
}

func (th *Thresholds) withDefaults() {
	d := DefaultThresholds
	orDefault(&th.Stuck, d.Stuck)
	orDefault(&th.FinRetransmits, d.FinRetransmits)
	orDefault(&th.SilentRetransmits, d.SilentRetransmits)
	orDefault(&th.FloodRate, d.FloodRate)
	orDefault(&th.FloodSources, d.FloodSources)
	orDefault(&th.FloodSYNs, d.FloodSYNs)
	orDefault(&th.HandshakeTimeout, d.HandshakeTimeout)
	orDefault(&th.LoneFloodRate, d.LoneFloodRate)
	orDefault(&th.LoneFloodSources, d.LoneFloodSources)
	orDefault(&th.LoneFloodSegments, d.LoneFloodSegments)
	orDefault(&th.MaxAnomalies, d.MaxAnomalies)
	orDefault(&th.TimeWaitLimit, d.TimeWaitLimit)
}

// orDefault sets *v to d unless it is positive.
func orDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Anomalies returns the findings kept so far, in the order they were made.
func (t *Tracker) Anomalies() []Anomaly {
	if len(t.free) == 0 {
		return t.anomalies
	}
	out := make([]Anomaly, 0, len(t.anomalies)-len(t.free))
	for _, a := range t.anomalies {
		if !a.withdrawn {
			out = append(out, a)
		}
	}
	return out
}

// withdraw takes back side s's finding of kind on c, if it has one: what
// it said was proved wrong (a side in CLOSE_WAIT whose peer's FIN, it
// turns out, never arrived was never in CLOSE_WAIT). It is no longer
// counted, nor listed. (Told as it was made, OnAnomaly, it is not told
// again.)
func (t *Tracker) withdraw(c *Conn, kind Kind, s Side) {
	if !c.hasFinding(kind, s) {
		return
	}
	c.found[s] &^= 1 << kind
	t.kindCount[kind]--
	k := anomalyKey{c.ID, kind, s}
	if i, ok := t.listed[k]; ok {
		a := &t.anomalies[i]
		for _, also := range a.Also {
			t.alsoCount[also]--
		}
		a.withdrawn = true
		t.free = append(t.free, i) // the next finding takes its slot (anomalylist.go)
		delete(t.listed, k)
	}
}

// AnomalyCounts returns how many findings of each kind were made, including
// those beyond MaxAnomalies that were not kept.
func (t *Tracker) AnomalyCounts() map[Kind]int { return countsOf(&t.kindCount) }

// AlsoCounts returns how many findings carry each kind in Also (the
// conditions they caused), including those beyond MaxAnomalies.
func (t *Tracker) AlsoCounts() map[Kind]int { return countsOf(&t.alsoCount) }

// countsOf returns the kinds counted in counts, with their counts.
func countsOf(counts *[numKinds]int) map[Kind]int {
	m := make(map[Kind]int)
	for k := Kind(1); k < numKinds; k++ {
		if n := counts[k]; n > 0 {
			m[k] = n
		}
	}
	return m
}

// Kinds returns the kinds of anomaly found on the connection, in SPEC order.
func (c *Conn) Kinds() []Kind { return kindsOf(c.found) }

// kindsOf returns the kinds whose bits are set, by side, in found.
func kindsOf(found [2]uint32) []Kind {
	var ks []Kind
	for k := Kind(1); k < numKinds; k++ {
		if (found[0]|found[1])&(1<<k) != 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

// hasFinding reports whether side s of c already has a finding of kind k,
// so that a repeated offence formats no sentence on the packet path.
func (c *Conn) hasFinding(k Kind, s Side) bool { return c.found[s]&(1<<k) != 0 }

// listedFinding returns the listed finding of kind k of side s of
// connection id, if rule by made it; nil if there is none (never made, or
// not listed: beyond MaxAnomalies).
func (t *Tracker) listedFinding(id uint64, k Kind, s Side, by rule) *Anomaly {
	if i, ok := t.listed[anomalyKey{id, k, s}]; ok && t.anomalies[i].rule == by {
		return &t.anomalies[i]
	}
	return nil
}

// refreshed returns, at the end of input, the listed finding that a, made
// again by its rule, brings up to date; nil at any other time.
func (t *Tracker) refreshed(c *Conn, a *Anomaly) *Anomaly {
	if !t.refresh || a.rule == ruleNone {
		return nil
	}
	return t.listedFinding(c.ID, a.Kind, a.Side, a.rule)
}

// emit records a finding for a connection unless that side already has one
// of that kind (both sides may: both FINs unacknowledged, say).
func (t *Tracker) emit(c *Conn, a Anomaly) {
	if c != nil {
		if c.found[a.Side]&(1<<a.Kind) != 0 {
			// Found before: at the end of input its sentence is brought up
			// to date (how long, how many times), its time kept.
			if old := t.refreshed(c, &a); old != nil {
				for _, k := range a.Also {
					if !slices.Contains(old.Also, k) {
						t.alsoCount[k]++
					}
				}
				for _, k := range old.Also {
					if !slices.Contains(a.Also, k) {
						t.alsoCount[k]-- // (a consequence no longer so: the FIN_WAIT_2 was not)
					}
				}
				old.Detail, old.Fields, old.Also = a.Detail, a.Fields, a.Also
			}
			return
		}
		c.found[a.Side] |= 1 << a.Kind
		a.Conn = c.ID
		if !a.Target.IsValid() {
			a.Target = c.Server()
		}
	}
	t.kindCount[a.Kind]++
	for _, k := range a.Also {
		t.alsoCount[k]++
	}
	t.lastSlot = t.list(a) // anomalylist.go
	if t.lastSlot >= 0 && a.Conn != 0 {
		t.listed[anomalyKey{a.Conn, a.Kind, a.Side}] = t.lastSlot
	}
	if t.lastSlot >= 0 && t.cfg.OnAnomaly != nil {
		t.cfg.OnAnomaly(a)
	}
}

// emitTarget records a finding of no one connection (a flood, a build-up)
// and returns where it is kept: its index in t.anomalies plus one, or -1
// when it was counted, not kept (MaxAnomalies).
func (t *Tracker) emitTarget(a Anomaly) int {
	t.emit(nil, a)
	if t.lastSlot >= 0 {
		return t.lastSlot + 1
	}
	return -1
}

// endpoint names a side with its address: "server 198.18.0.2:8080".
func endpoint(c *Conn, s Side) string { return endpointOf(&c.Key, c.clientIsA, s) }

// endpointOf is endpoint for the connection of key k whose client is A or
// not (clientIsA).
func endpointOf(k *FlowKey, clientIsA bool, s Side) string {
	if s == Client {
		return "client " + k.endpoint(clientIsA).String()
	}
	return "server " + k.endpoint(!clientIsA).String()
}

// seconds is a duration in ns as seconds, at full precision, for a
// finding's Fields.
func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// secs formats a duration for a detail sentence (FormatDuration).
func secs(ns int64) string { return FormatDuration(time.Duration(ns)) }

type anomalyKey struct {
	conn uint64
	kind Kind
	side Side
}

// MarshalText implements encoding.TextMarshaler: the kind's name. An
// unknown value marshals as its String form, so that output always encodes.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *Kind) UnmarshalText(b []byte) error {
	v, ok := ParseKind(string(b))
	if !ok {
		return fmt.Errorf("parse anomaly kind %q: not one of SPEC.md's kinds (syn_flood, half_open, ...)", b)
	}
	*k = v
	return nil
}

// MarshalText implements encoding.TextMarshaler: "info", "warning" or
// "critical" (an unknown value as its String form).
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Severity) UnmarshalText(b []byte) error {
	v, ok := ParseSeverity(string(b))
	if !ok {
		return fmt.Errorf("parse severity %q: want info, warning or critical", b)
	}
	*s = v
	return nil
}

// Grouped prints n with thousands separators, as the tables print counts:
// 1234567 is "1,234,567".
func Grouped[T int | int64 | uint64 | uint32](n T) string {
	if n < 0 {
		return "-" + groupDigits(strconv.FormatUint(uint64(-(n+1))+1, 10)) // the most negative too
	}
	return groupDigits(strconv.FormatUint(uint64(n), 10))
}

// groupDigits puts a comma between every three digits from the right.
func groupDigits(s string) string {
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
