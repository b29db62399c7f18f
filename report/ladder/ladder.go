package ladder

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Ladder is one connection's drawing: its steps in time order.
type Ladder struct {
	ID             uint64
	Client, Server netip.AddrPort
	Start          int64 // time of its first step, ns since the epoch (times are drawn relative to it)
	Steps          []Step
}

// Kind is what a step shows.
type Kind uint8

const (
	Segment  Kind = iota // a captured segment: a solid arrow
	Inferred             // a segment the capture missed, shown by what followed: a dashed arrow
	Timer                // a change with no segment (TIME_WAIT ran out, a side gave up): no arrow
)

// Mark says what kind of repeat a captured segment was.
type Mark uint8

const (
	NoMark         Mark = iota
	Retransmission      // carried only sequence space its sender had sent before
	Keepalive           // a keepalive probe (seq = snd.una − 1)
	WindowProbe         // a zero-window probe
	Duplicate           // the capture's own duplicate of the segment before
)

var markNames = [...]string{"", "retransmission", "keepalive", "zero-window probe", "duplicate"}

// String names the mark ("" for none).
func (m Mark) String() string {
	if int(m) < len(markNames) {
		return markNames[m]
	}
	return "Mark(" + strconv.Itoa(int(m)) + ")"
}

// Step is one row of the ladder.
type Step struct {
	Kind   Kind
	Time   int64        // ns since the epoch
	Packet uint64       // packet number (0 for a timer or an inference judged on silence)
	From   tracker.Side // sender (Segment, Inferred)

	Flags    tracker.Flags
	Seq, Ack uint32 // relative to each side's first sequence number (its ISN when its SYN was seen); Segment only
	HasAck   bool
	Len      uint32 // payload bytes
	Mark     Mark

	// State is each side's state after the step; Changed says whose
	// changed at it, Why the evidence.
	State   [2]tracker.State
	Changed [2]bool
	Why     [2]string

	Findings []Finding // fired at this step
}

// Finding is an anomaly drawn where it fired.
type Finding struct {
	Kind     tracker.Kind
	Severity tracker.Severity
	Side     tracker.Side
	HasSide  bool
	Detail   string
	Also     []tracker.Kind // conditions it caused, reported within it
}

// Title is the finding's heading: "warning close_wait_stuck (server), also
// fin_wait_2_stuck".
func (f *Finding) Title() string {
	t := f.Severity.String() + " " + f.Kind.String()
	if f.HasSide {
		t += " (" + f.Side.String() + ")"
	}
	for i, k := range f.Also {
		if i == 0 {
			t += ", also "
		} else {
			t += ", "
		}
		t += k.String()
	}
	return t
}

// Label is the arrow's text: flags, numbers, length and mark, e.g.
// "SYN-ACK seq=0 ack=1", "PSH-ACK seq=1 ack=1 len=5 (retransmission)",
// "FIN (not captured)".
func (s *Step) Label() string {
	switch s.Kind {
	case Timer:
		return ""
	case Inferred:
		return FlagNames(s.Flags) + " (not captured)"
	}
	var b strings.Builder
	b.WriteString(FlagNames(s.Flags))
	b.WriteString(" seq=" + strconv.FormatUint(uint64(s.Seq), 10))
	if s.HasAck {
		b.WriteString(" ack=" + strconv.FormatUint(uint64(s.Ack), 10))
	}
	if s.Len > 0 {
		b.WriteString(" len=" + strconv.FormatUint(uint64(s.Len), 10))
	}
	if s.Mark != NoMark {
		b.WriteString(" (" + s.Mark.String() + ")")
	}
	return b.String()
}

// FlagNames spells the flags as words joined by "-", in the order people
// say them: "SYN", "SYN-ACK", "FIN-ACK", "PSH-ACK", "RST"; "NONE" for none.
func FlagNames(f tracker.Flags) string {
	var parts []string
	for _, x := range [...]struct {
		f tracker.Flags
		n string
	}{{tracker.SYN, "SYN"}, {tracker.FIN, "FIN"}, {tracker.RST, "RST"}, {tracker.PSH, "PSH"}, {tracker.URG, "URG"},
		{tracker.ECE, "ECE"}, {tracker.CWR, "CWR"}, {tracker.NS, "NS"}, {tracker.ACK, "ACK"}} {
		if f&x.f != 0 {
			parts = append(parts, x.n)
		}
	}
	if len(parts) == 0 {
		return "NONE"
	}
	return strings.Join(parts, "-")
}

// Final returns each side's state after the last step.
func (l *Ladder) Final() [2]tracker.State {
	if len(l.Steps) == 0 {
		return [2]tracker.State{}
	}
	return l.Steps[len(l.Steps)-1].State
}
