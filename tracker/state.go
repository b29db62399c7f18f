package tracker

import (
	"fmt"
	"strconv"
)

// State is one endpoint's TCP connection state as RFC 793 §3.2 names it.
// The zero value is CLOSED.
type State uint8

// The eleven states of RFC 793's state diagram (§3.2, Figure 6).
const (
	Closed State = iota
	Listen
	SynSent
	SynRcvd
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait
	numStates
)

var stateNames = [numStates]string{
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED",
	"FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
}

// String returns the RFC name, e.g. "FIN_WAIT_2"; an unknown value prints as
// "State(17)".
func (s State) String() string {
	if s < numStates {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// ParseState returns the state with the given RFC name. It also accepts the
// names `ss` prints (ESTAB, SYN-SENT, SYN-RECV, FIN-WAIT-1, TIME-WAIT, ...).
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	switch name {
	case "ESTAB":
		return Established, true
	case "SYN-SENT":
		return SynSent, true
	case "SYN-RECV":
		return SynRcvd, true
	case "FIN-WAIT-1":
		return FinWait1, true
	case "FIN-WAIT-2":
		return FinWait2, true
	case "CLOSE-WAIT":
		return CloseWait, true
	case "LAST-ACK":
		return LastAck, true
	case "TIME-WAIT":
		return TimeWait, true
	case "UNCONN", "CLOSE":
		return Closed, true
	}
	return 0, false
}

// States lists every state in RFC order.
func States() []State {
	s := make([]State, numStates)
	for i := range s {
		s[i] = State(i)
	}
	return s
}

// Synchronized reports whether the state is one in which both sequence
// spaces are known: ESTABLISHED and every state after it (RFC 793 §3.4).
func (s State) Synchronized() bool { return s >= Established && s < numStates }

// MarshalText implements encoding.TextMarshaler: the RFC name. An unknown
// value marshals as its String form, so that output always encodes.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler. It accepts what
// ParseState accepts.
func (s *State) UnmarshalText(b []byte) error {
	v, ok := ParseState(string(b))
	if !ok {
		return fmt.Errorf("parse state %q: not an RFC 793 state name (CLOSED, SYN_SENT, ESTABLISHED, ...)", b)
	}
	*s = v
	return nil
}

// MarshalText implements encoding.TextMarshaler: "client" or "server".
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Side) UnmarshalText(b []byte) error {
	switch string(b) {
	case "client":
		*s = Client
	case "server":
		*s = Server
	default:
		return fmt.Errorf("parse side %q: want client or server", b)
	}
	return nil
}
