package tracker

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// edge is a change of one side's state.
type edge struct{ from, to State }

// edgeRule is a rule by which the tracker changes a side's state, with the
// changes it allows.
type edgeRule struct {
	rule  string
	edges []edge
}

// withdrawRule takes back an inference about a segment the capture
// missed, so it may undo what no captured segment can.
const withdrawRule = "a FIN inferred where the capture missed a byte is withdrawn when its sender sends past it: that byte was data"

// sideStates are the states a side can be in: LISTEN is folded into CLOSED
// (a side that has sent nothing is CLOSED, README).
var sideStates = []State{Closed, SynSent, SynRcvd, Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait}

// into returns the edges from each of from to to.
func into(to State, from ...State) []edge {
	var es []edge
	for _, f := range from {
		es = append(es, edge{f, to})
	}
	return es
}

// outOf returns the edges from from to each of to.
func outOf(from State, to ...State) []edge {
	var es []edge
	for _, s := range to {
		es = append(es, edge{from, s})
	}
	return es
}

// except returns sideStates without the states given.
func except(states ...State) []State {
	return slices.DeleteFunc(slices.Clone(sideStates), func(s State) bool { return slices.Contains(states, s) })
}

// rfc793Edges are the arrows of RFC 793's state diagram (§3.2, figure 6)
// that a passive observer can see, with LISTEN folded into CLOSED and
// Linux's RST handling.
var rfc793Edges = []edge{
	{Closed, SynSent},        // active OPEN, snd SYN
	{Closed, SynRcvd},        // rcv SYN, snd SYN,ACK (passive open)
	{SynSent, SynRcvd},       // rcv SYN, snd ACK (simultaneous open)
	{SynSent, Established},   // rcv SYN,ACK, snd ACK
	{SynSent, Closed},        // rcv RST acknowledging the SYN (refused)
	{SynRcvd, Established},   // rcv ACK of SYN
	{SynRcvd, FinWait1},      // CLOSE, snd FIN
	{SynRcvd, Closed},        // rcv RST (back to LISTEN; the connection is gone)
	{Established, FinWait1},  // CLOSE, snd FIN
	{Established, CloseWait}, // rcv FIN, snd ACK
	{Established, Closed},    // RST
	{FinWait1, FinWait2},     // rcv ACK of FIN
	{FinWait1, Closing},      // rcv FIN, snd ACK
	{FinWait1, TimeWait},     // rcv FIN+ACK of FIN
	{FinWait2, TimeWait},     // rcv FIN, snd ACK
	{Closing, TimeWait},      // rcv ACK of FIN
	{CloseWait, LastAck},     // CLOSE, snd FIN
	{LastAck, Closed},        // rcv ACK of FIN
	{TimeWait, Closed},       // timeout = 2 MSL
}

// edgeRules are every rule by which a side's state changes: RFC 793, and
// the corrections the tracker makes on later evidence (README, "How states
// are inferred"; the causes in machine.go). A transition the tracker
// records must be an edge of one of them; one segment may establish several
// facts, and the edges of a rule include the states those lead to at once.
var edgeRules = []edgeRule{
	{"RFC 793 §3.2 figure 6", rfc793Edges},
	{"RFC 793 p. 75: a FIN in SYN-RECEIVED (with the ACK of the SYN) enters CLOSE-WAIT",
		[]edge{{SynRcvd, CloseWait}}},
	{"an RST sent (ABORT, RFC 793 p. 62) or accepted (p. 70; RFC 5961 §3.2 as Linux checks it) closes any state",
		into(Closed, except(Closed)...)},
	{"a SYN on a 4-tuple whose connection ended starts a new connection: what is left of the old one is closed",
		into(Closed, except(Closed)...)},
	{"a side silent after Linux's last retry (tcp_synack_retries, tcp_orphan_retries) gave up: the kernel dropped it",
		into(Closed, SynRcvd, FinWait1, Closing, LastAck)},
	{"a FIN that does not acknowledge the peer's FIN, from a side taken to have received it, was sent before it " +
		"arrived: FIN_WAIT_1, then CLOSING as the peer's FIN arrives (the FINs crossed)",
		[]edge{{CloseWait, FinWait1}}},
	{"a FIN the peer had already acknowledged was reordered before the capture point: it is acknowledged at once " +
		"(FIN_WAIT_2, or TIME_WAIT / CLOSED after the peer's FIN), and the peer's FIN that carried that ACK answered it (LAST_ACK)",
		[]edge{{Established, FinWait2}, {CloseWait, TimeWait}, {CloseWait, Closed}, {FinWait1, LastAck}}},
	{"a FIN retransmitted after its ACK was seen proves that ACK never arrived: back to FIN_WAIT_1, CLOSING or LAST_ACK",
		[]edge{{FinWait2, FinWait1}, {TimeWait, Closing}, {Closed, LastAck}, {Closed, Closing}}},
	{"a SYN-ACK retransmitted after its ACK was seen proves that ACK never arrived: back to SYN_RCVD, " +
		"or FIN_WAIT_1 once it sent its FIN (CLOSE in SYN-RECEIVED, RFC 793 p. 60)",
		append(into(SynRcvd, Established, CloseWait), into(FinWait1, FinWait2, Closing, LastAck, TimeWait, Closed)...)},
	{"a SYN retransmitted after a SYN-ACK it never acknowledged proves that SYN-ACK was lost: " +
		"back to SYN_SENT from wherever taking it as delivered led",
		into(SynSent, except(Closed, SynSent)...)},
	{"an ACK sent well after the peer's FIN that does not cover it (or an RST past data that never arrived) " +
		"proves the FIN never arrived: it is taken back",
		[]edge{{CloseWait, Established}, {Closing, FinWait1}, {LastAck, FinWait1}, {TimeWait, FinWait2}, {Closed, FinWait2}}},
	{"the peer's FIN arriving after it was taken back: a side whose own FIN had answered it closes (FIN_WAIT_2 to CLOSED)",
		[]edge{{FinWait2, Closed}}},
	{"a SYN retransmitted with the same ISN after an RST is the same connect(): the RST was lost",
		[]edge{{Closed, SynSent}}},
	{"an ACK from a side in SYN_SENT proves a SYN-ACK the capture missed; a connection picked up at its SYN-ACK " +
		"has the client's SYN inferred; one picked up mid-stream has both sides past their handshake",
		[]edge{{SynSent, Established}, {Closed, Established}}},
	{"facts established while a side waited for a SYN take effect when it comes: a side CLOSED for want of its own SYN " +
		"(or revived: new data after an RST at its snd.nxt that was not its own), in SYN_SENT for want of the peer's, " +
		"or in SYN_RCVD / FIN_WAIT_1 for want of the ACK of its SYN goes to the state its other facts give",
		slices.Concat(outOf(Closed, except(Closed)...), outOf(SynSent, except(SynSent)...),
			outOf(SynRcvd, except(SynRcvd)...), outOf(FinWait1, FinWait2, Closing, LastAck, TimeWait, Closed))},
	{"a FIN the capture missed, shown by an ACK one past its sender's last byte or by the sender's next sequence " +
		"number, takes effect with the rest the segment shows: its ACK, the peer's FIN it answered",
		slices.Concat(outOf(Established, FinWait2, Closing, LastAck, TimeWait, Closed), outOf(CloseWait, Closed),
			outOf(FinWait1, TimeWait, Closed))},
	{withdrawRule, withdrawals()},
	{"one segment acknowledges the peer's FIN (or takes it back) and carries the side's own FIN, " +
		"or carries the peer's FIN while the side retransmits its own: two steps at once",
		[]edge{{Established, LastAck}, {CloseWait, FinWait1}, {CloseWait, FinWait2}, {FinWait2, Closing}}},
}

// withdrawals are the edges of withdrawRule: a side's own FIN, the peer's,
// or both taken back, from any state either had led to, and with them what
// else the segment shows (the FIN it carries, at another sequence number).
func withdrawals() []edge {
	closing := []State{FinWait1, FinWait2, Closing, LastAck, TimeWait, Closed, CloseWait}
	var es []edge
	for _, to := range append([]State{Established}, closing...) {
		for _, from := range closing {
			if from != to {
				es = append(es, edge{from, to})
			}
		}
	}
	return es
}

// legalEdges maps each edge to the rules that allow it.
var legalEdges = func() map[edge][]string {
	m := map[edge][]string{}
	for _, r := range edgeRules {
		for _, e := range r.edges {
			m[e] = append(m[e], r.rule)
		}
	}
	return m
}()

// legal reports whether a side may go from one state to another, and why.
func legal(from, to State) ([]string, bool) {
	rules, ok := legalEdges[edge{from, to}]
	return rules, ok
}

// TestEdgeRules checks the rules themselves: no edge from a state to
// itself, none with LISTEN, and none of the changes that no segment can
// make: a FIN, once sent, is never unsent, and which FIN came first, once
// both were seen, never changes.
func TestEdgeRules(t *testing.T) {
	for e, rules := range legalEdges {
		if e.from == e.to || e.from == Listen || e.to == Listen {
			t.Errorf("%v → %v allowed by %q", e.from, e.to, rules)
		}
	}
	impossible := slices.Concat(
		// Its FIN sent: never a state without it.
		into(Established, FinWait1, FinWait2, Closing, LastAck, TimeWait),
		into(CloseWait, FinWait1, FinWait2, Closing, LastAck, TimeWait),
		into(SynRcvd, FinWait1),
		// It answered the peer's FIN: never CLOSING or TIME_WAIT; it closed
		// first: never LAST_ACK.
		[]edge{{LastAck, Closing}, {LastAck, TimeWait}, {Closing, LastAck}, {TimeWait, LastAck}},
	)
	for _, e := range impossible {
		if rules, ok := legalEdges[e]; ok && !onlyWithdrawals(rules) {
			t.Errorf("%v → %v is impossible, yet allowed by %q", e.from, e.to, rules)
		}
	}
}

// onlyWithdrawals reports whether every rule named is one that takes back
// an inference.
func onlyWithdrawals(rules []string) bool {
	for _, name := range rules {
		if name != withdrawRule {
			return false
		}
	}
	return true
}

// transitionProblem says what is wrong with a connection's transitions, or
// returns "": each side's chain starts in CLOSED, every transition changes
// the state along a legal edge and gives its evidence, and the chain ends
// in the side's current state.
func transitionProblem(c *Conn) string {
	prev := [2]State{Closed, Closed}
	for _, x := range c.Transitions() {
		_, ok := legal(x.From, x.To)
		switch {
		case x.From != prev[x.Side]:
			return fmt.Sprintf("%v transition from %v follows %v", x.Side, x.From, prev[x.Side])
		case !ok:
			return fmt.Sprintf("%v %v → %v (%s): no rule allows it", x.Side, x.From, x.To, x.Why)
		case x.Why == "":
			return fmt.Sprintf("%v %v → %v without a cause", x.Side, x.From, x.To)
		}
		prev[x.Side] = x.To
	}
	if prev != [2]State{c.State(Client), c.State(Server)} {
		return fmt.Sprintf("states %v/%v, the transitions end in %v/%v", c.State(Client), c.State(Server), prev[Client], prev[Server])
	}
	return ""
}

// TestRefusedConnectRetriedOpensBothSides: a SYN refused by an RST, then
// the same SYN again (the RST lost, or a stack that retries a refused
// connect, as Windows does), answered this time and closed by the client:
// the server's side opens and closes with it (it stayed CLOSED, its RST
// to the attempt before taken for its own end).
func TestRefusedConnectRetriedOpensBothSides(t *testing.T) {
	tr, now, seg := freshStepped()
	seg(true, SYN, 1000, 0)
	seg(false, RST|ACK, 0, 1001)
	*now += int64(500 * time.Millisecond)
	open1000(seg) // the same SYN again, answered
	seg(true, FIN|ACK, 1001, 5001)
	seg(false, ACK, 5001, 1002)
	tr.Finish()
	rs := tr.Records()
	if len(rs) != 1 {
		t.Fatalf("%d connections, want 1", len(rs))
	}
	if c, s := rs[0].State(Client), rs[0].State(Server); c != FinWait2 || s != CloseWait {
		t.Errorf("client %v, server %v; want FIN_WAIT_2, CLOSE_WAIT", c, s)
	}
}

// TestRSTWithAWrongACKToSYNSentSaysSo: an RST-ACK answering a SYN with
// an ACK other than ISN+1 is ignored in SYN_SENT for its ACK (RFC 793 p.
// 66), which the finding says: there is no window to be outside of yet.
func TestRSTWithAWrongACKToSYNSentSaysSo(t *testing.T) {
	tr, _, seg := freshStepped()
	seg(true, SYN, 1000, 0)
	seg(false, RST|ACK, 0, 999)
	tr.Finish()
	if st := tr.Records()[0].State(Client); st != SynSent {
		t.Errorf("client %v, want SYN_SENT", st)
	}
	var got []string
	for _, a := range tr.Anomalies() {
		if a.Kind == BadSequence {
			got = append(got, fmt.Sprint(a.Fields["reason"], ": ", a.Detail))
		}
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "rst_wrong_ack: ") || !strings.Contains(got[0], "acknowledging 999, not the client's ISN+1 (1001)") {
		t.Errorf("findings %q", got)
	}
}

// TestCrossedFINsAreToldAsTheStepsTaken: the capture sees the client's FIN
// first, so the server is taken to have received it (CLOSE_WAIT); then the
// server's FIN, which does not acknowledge it: the server sent its FIN
// before the client's arrived. Its timeline goes CLOSE_WAIT → FIN_WAIT_1
// (the correction, with its FIN) → CLOSING (the client's FIN arriving),
// never straight from CLOSE_WAIT to CLOSING, which no segment can do; both
// sides end in TIME_WAIT.
func TestCrossedFINsAreToldAsTheStepsTaken(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
		step{from: Server, flags: FA, seq: 21, ack: 11, client: "CLOSING", server: "CLOSING"},
		step{from: Client, flags: A, seq: 12, ack: 22},
		step{from: Server, flags: A, seq: 22, ack: 12, client: "TIME_WAIT", server: "TIME_WAIT"},
	), 0)
	var got []string
	for _, x := range tr.Conns()[0].Transitions() {
		if x.Side == Server {
			got = append(got, x.To.String())
		}
	}
	want := []string{"SYN_RCVD", "ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "TIME_WAIT"}
	if !slices.Equal(got, want) {
		t.Errorf("server went through %v, want %v\n%s", got, want, timeline(tr.Conns()[0]))
	}
}
