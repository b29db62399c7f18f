package tracker

import (
	"testing"
	"time"
)

// midstreamAcking: a connection picked up mid-stream at the server's
// data, the client sending only bare ACKs, then the server's FIN.
var midstreamAcking = []step{
	{from: Server, flags: PA, seq: 100, ack: 50, payload: 28},
	{from: Client, flags: A, seq: 50, ack: 128, after: 50 * time.Microsecond},
	{from: Server, flags: FA, seq: 128, ack: 50, after: 250 * time.Millisecond},
}

// The rules for segments the capture missed, one packet script each: what
// the kernels would hold is written as the final states, and the rule that
// gets there must be the one named (its words in the timeline).
func TestMissedSegmentsInferred(t *testing.T) {
	for _, tc := range []struct {
		name           string
		steps          []step
		advance        time.Duration // capture time after the last step
		client, server string
		because        string // a phrase of the rule that decides
		notCaptured    uint32
	}{
		{"client's FIN not captured: the server's FIN-ACK one past its data shows it", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 12},
			step{from: Client, flags: A, seq: 12, ack: 22},
		), 0, "TIME_WAIT", "CLOSED", "the peer's ACK one past its last byte", 1},
		{"server's FIN not captured: the client's last ACK one past the server's data shows it", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Server, flags: A, seq: 21, ack: 12},
			step{from: Client, flags: A, seq: 12, ack: 22},
		), 0, "TIME_WAIT", "CLOSED", "the peer's ACK one past its last byte", 1},
		{"client's FIN not captured after it acknowledged the server's FIN: it answered that FIN, however soon the server's ACK of it came", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 11},
			step{from: Client, flags: A, seq: 11, ack: 22, after: 100 * time.Microsecond},
			step{from: Server, flags: A, seq: 22, ack: 12, after: 100 * time.Microsecond},
		), 0, "CLOSED", "TIME_WAIT", "the peer's ACK one past its last byte", 1},
		{"client's FIN captured after the server's ACK of it: reordered, the client closed second", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 11},
			step{from: Client, flags: A, seq: 11, ack: 22},
			step{from: Server, flags: A, seq: 22, ack: 12},
			step{from: Client, flags: FA, seq: 11, ack: 22, after: 3 * time.Millisecond},
		), 0, "CLOSED", "TIME_WAIT", "", 0},
		{"server's FIN not captured, then its bare ACK past it of the client's FIN: it sent its FIN before that FIN arrived (the FINs crossed)", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Server, flags: A, seq: 22, ack: 12, after: 100 * time.Millisecond},
			step{from: Server, flags: FA, seq: 21, ack: 12, after: 400 * time.Millisecond},
			step{from: Client, flags: A, seq: 12, ack: 22},
		), 0, "TIME_WAIT", "TIME_WAIT", "the FINs crossed", 1},
		{"the client's ACK and data not captured: the server acknowledging that data shows it answered the SYN-ACK", []step{
			{from: Client, flags: S},
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: A, seq: 1, ack: 33},
		}, 2 * time.Second, "ESTABLISHED", "ESTABLISHED", "", 0},
		{"a simultaneous close whose client FIN was lost: its copy sent just before the end is taken as arrived", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21, after: 300 * time.Millisecond},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 100 * time.Microsecond},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 200 * time.Millisecond},
			step{from: Client, flags: FA, seq: 11, ack: 21, after: 10 * time.Microsecond},
			step{from: Client, flags: A, seq: 12, ack: 22, after: 5 * time.Microsecond},
		), 0, "TIME_WAIT", "TIME_WAIT", "sent again just before the input ended", 0},
		{"the same FIN sent again well before the end, unanswered: not taken as arrived", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21, after: 300 * time.Millisecond},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 100 * time.Microsecond},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 200 * time.Millisecond},
			step{from: Client, flags: FA, seq: 11, ack: 21, after: 10 * time.Microsecond},
			step{from: Client, flags: A, seq: 12, ack: 22, after: 5 * time.Microsecond},
		), 100 * time.Millisecond, "CLOSING", "FIN_WAIT_2", "", 0},
		{"data sent again into silence, then not when the next copy was due: the client gave up", with(established,
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 200 * time.Millisecond},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 400 * time.Millisecond},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 800 * time.Millisecond},
		), 3 * time.Second, "CLOSED", "ESTABLISHED", "stopped sending again into silence", 0},
		{"data sent again into silence, the next copy not due yet: still open", with(established,
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 200 * time.Millisecond},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 400 * time.Millisecond},
			step{from: Client, flags: PA, seq: 11, ack: 21, payload: 10, after: 800 * time.Millisecond},
		), time.Second, "ESTABLISHED", "ESTABLISHED", "", 0},
		{"both FINs not captured: the last ACK's sequence number and acknowledgment show them", with(established,
			step{from: Client, flags: A, seq: 12, ack: 22},
		), 0, "TIME_WAIT", "CLOSED", "its next segment's sequence number is one past its last byte", 2},
		{"last ACK not captured: the server's FIN, never sent again, was acknowledged", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Server, flags: FA, seq: 21, ack: 12},
		), 0, "TIME_WAIT", "CLOSED", "the input ended before the ACK of its FIN was due", 0},
		{"last ACK not captured, FIN sent again once: acknowledged once the next timeout passes in silence", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Server, flags: FA, seq: 21, ack: 12},
			step{from: Server, flags: FA, seq: 21, ack: 12, after: 300 * time.Millisecond},
			step{from: Client, flags: A, seq: 12, ack: 22, after: time.Millisecond},
		), 0, "TIME_WAIT", "CLOSED", "its FIN was acknowledged", 0},
		{"FIN retransmitted into silence: no inference while the next copy may come", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Server, flags: A, seq: 21, ack: 12},
			step{from: Server, flags: FA, seq: 21, ack: 12},
			step{from: Server, flags: FA, seq: 21, ack: 12, after: 210 * time.Millisecond},
		), 100 * time.Millisecond, "TIME_WAIT", "LAST_ACK", "", 0},
		{"one byte of data taken for a FIN is withdrawn when more data follows", with(established,
			step{from: Server, flags: A, seq: 21, ack: 12},
			step{from: Client, flags: PA, seq: 12, ack: 21, payload: 5},
		), 0, "ESTABLISHED", "ESTABLISHED", "that was data, not a FIN", 1}, // the byte itself
		{"the server acknowledging the client's data is past SYN_RCVD", []step{
			{from: Client, flags: S},
			{from: Server, flags: SA, ack: 1},
			{from: Client, flags: PA, seq: 1, ack: 1, payload: 10},
			{from: Server, flags: A, seq: 1, ack: 11},
		}, 0, "ESTABLISHED", "ESTABLISHED", "", 0},
		{"server's segments only: its ACK of the client's data shows the handshake done", []step{
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: A, seq: 1, ack: 11},
			{from: Server, flags: PA, seq: 1, ack: 11, payload: 20},
		}, 0, "ESTABLISHED", "ESTABLISHED", "which carried the ACK of its SYN", 0},
		{"SYN not sent again when due, nothing else from the client: refused by an RST not captured", []step{
			{from: Client, flags: S},
		}, 2 * time.Second, "CLOSED", "CLOSED", "an RST the capture missed refused it", 0},
		{"SYN sent again at 1 s intervals, input ends before the next is due: still trying", []step{
			{from: Client, flags: S},
			{from: Client, flags: S, after: time.Second},
			{from: Client, flags: S, after: time.Second},
		}, time.Second, "SYN_SENT", "CLOSED", "", 0},
		{"SYN sent again at 1 s intervals (Linux's linear timeouts), not 1.5 s after the last: it stopped", []step{
			{from: Client, flags: S},
			{from: Client, flags: S, after: time.Second},
			{from: Client, flags: S, after: time.Second},
		}, 1500 * time.Millisecond, "CLOSED", "CLOSED", "its connect() gave up", 0},
		{"SYN sent again after 1 s, then 2 s (doubling): 1.5 s after the last, still trying", []step{
			{from: Client, flags: S},
			{from: Client, flags: S, after: time.Second},
			{from: Client, flags: S, after: 2 * time.Second},
		}, 1500 * time.Millisecond, "SYN_SENT", "CLOSED", "", 0},
		{"FIN sent again into silence, then not when the next copy was due: the orphan gave up", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond},
			step{from: Client, flags: FA, seq: 11, ack: 21, after: 400 * time.Millisecond},
		), 2 * time.Second, "CLOSED", "ESTABLISHED", "stopped sending again into silence", 0},
		{"the client's repeated ACK answers the server's FIN sent again, not captured: LAST_ACK", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Server, flags: FA, seq: 21, ack: 12},
			step{from: Client, flags: A, seq: 12, ack: 22, server: "CLOSED"},
			step{from: Client, flags: A, seq: 12, ack: 22, after: 250 * time.Millisecond, server: "LAST_ACK"},
		), 0, "TIME_WAIT", "LAST_ACK", "the peer's repeated ACK answered it", 1},
		{"the server's last data and FIN not captured: the client's ACK past them, after its own FIN, shows them at the end", with(established,
			step{from: Client, flags: FA, seq: 11, ack: 21},
			step{from: Client, flags: A, seq: 12, ack: 36, after: 5 * time.Millisecond},
		), 0, "TIME_WAIT", "CLOSED", "its FIN is taken to be the last of them", 1},
		{"the server's last data and FIN not captured, then the client closes: the server closed first", with(established,
			step{from: Client, flags: A, seq: 11, ack: 36},
			step{from: Client, flags: FA, seq: 11, ack: 36},
		), 0, "CLOSED", "TIME_WAIT", "its FIN is taken to be the last of them", 1},
		{"data stopped in the middle of a write and nothing after: an RST not captured ended it", with(established,
			step{from: Server, flags: A, seq: 21, ack: 11, payload: 1000},
			step{from: Client, flags: A, seq: 11, ack: 1021},
			step{from: Server, flags: A, seq: 1021, ack: 11, payload: 1000},
		), 2 * time.Second, "CLOSED", "CLOSED", "in the middle of a write", 1},
		{"a write that ended (PSH) and silence: still open", with(established,
			step{from: Server, flags: PA, seq: 21, ack: 11, payload: 1000},
		), 2 * time.Second, "ESTABLISHED", "ESTABLISHED", "", 0},
		{"the client's last data and FIN not captured: its bare ACK of the server's FIN, sent at once, shows it had closed", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 28},
			step{from: Client, flags: A, seq: 28, ack: 22, after: 50 * time.Microsecond},
		), 0, "TIME_WAIT", "CLOSED", "acknowledged the peer's FIN at once", 1},
		{"the client's last data and FIN not captured, its ACK of the server's data past them: its bare ACK of the server's FIN, sent at once, shows it had closed", with(established,
			step{from: Server, flags: PA, seq: 21, ack: 28, payload: 40},
			step{from: Client, flags: A, seq: 28, ack: 61, after: 50 * time.Microsecond},
			step{from: Server, flags: FA, seq: 61, ack: 28, after: 100 * time.Millisecond},
			step{from: Client, flags: A, seq: 28, ack: 62, after: 50 * time.Microsecond},
		), 0, "TIME_WAIT", "CLOSED", "acknowledged the peer's FIN at once", 1},
		{"a client picked up mid-stream sending only bare ACKs, its bare ACK of the server's FIN sent at once: it had half-closed before the capture began", with(midstreamAcking,
			step{from: Client, flags: A, seq: 50, ack: 129, after: 50 * time.Microsecond},
		), 0, "TIME_WAIT", "CLOSED", "acknowledged the peer's FIN at once", 0},
		{"a client picked up mid-stream sending only bare ACKs, its bare ACK of the server's FIN delayed: it is in CLOSE_WAIT", with(midstreamAcking,
			step{from: Client, flags: A, seq: 50, ack: 129, after: 41 * time.Millisecond},
		), 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 0},
		{"a client picked up mid-stream whose data was seen, its bare ACK of the server's FIN sent at once: its last byte is data, no FIN before it", []step{
			{from: Client, flags: PA, seq: 40, ack: 100, payload: 10},
			{from: Server, flags: PA, seq: 100, ack: 50, payload: 28},
			{from: Client, flags: A, seq: 50, ack: 128, after: 50 * time.Microsecond},
			{from: Server, flags: FA, seq: 128, ack: 50, after: 250 * time.Millisecond},
			{from: Client, flags: A, seq: 50, ack: 129, after: 50 * time.Microsecond},
		}, 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 0},
		{"a client picked up mid-stream whose first segment is its bare ACK of the server's FIN: what it had acknowledged before is not known", []step{
			{from: Server, flags: FA, seq: 128, ack: 50},
			{from: Client, flags: A, seq: 50, ack: 129, after: 50 * time.Microsecond},
		}, 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 0},
		{"FINs that crossed before the capture began: the server's first segment, a bare ACK one past what the client acknowledged, shows its FIN", []step{
			{from: Client, flags: FA, seq: 50, ack: 100},
			{from: Server, flags: A, seq: 101, ack: 51, after: 10 * time.Microsecond},
			{from: Client, flags: A, seq: 51, ack: 101, after: 10 * time.Microsecond},
		}, 0, "TIME_WAIT", "TIME_WAIT", "the FINs crossed", 1},
		{"the server's first segment one past what the client acknowledged carries data: that byte was data, not a FIN", []step{
			{from: Client, flags: FA, seq: 50, ack: 100},
			{from: Server, flags: PA, seq: 101, ack: 51, payload: 5, after: 10 * time.Microsecond},
		}, 0, "FIN_WAIT_2", "CLOSE_WAIT", "", 0},
		{"the client's last segment not captured, its bare ACK of the server's FIN delayed: it was data, the client is in CLOSE_WAIT", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 28},
			step{from: Client, flags: A, seq: 28, ack: 22, after: 45 * time.Millisecond},
		), 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 1},
		{"the client's last segment not captured, its ACK at once of a FIN behind two small segments unacknowledged: Linux acknowledges those as soon as they are read", with(established,
			step{from: Server, flags: PA, seq: 21, ack: 28, payload: 100},
			step{from: Server, flags: PA, seq: 121, ack: 28, payload: 100},
			step{from: Server, flags: FA, seq: 221, ack: 28},
			step{from: Client, flags: A, seq: 28, ack: 222, after: 200 * time.Microsecond},
		), 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 1},
		{"the client's last segment not captured, its ACK of the FIN delayed as usual, on a round trip measured across a SYN-ACK sent again: no quick ACK", []step{
			{from: Client, flags: S},
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: SA, ack: 1, after: time.Second},
			{from: Client, flags: A, seq: 1, ack: 1},
			{from: Server, flags: A, seq: 1, ack: 11},
			{from: Server, flags: FA, seq: 1, ack: 11, after: 5 * time.Second},
			{from: Client, flags: A, seq: 11, ack: 2, after: 45 * time.Millisecond},
		}, 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 1},
		{"the client's last segment not captured, its ACK at once of a FIN behind a segment's worth of data: Linux acknowledges that at once", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 28, payload: 1000},
			step{from: Client, flags: A, seq: 28, ack: 1022, after: 50 * time.Microsecond},
		), 0, "CLOSE_WAIT", "FIN_WAIT_2", "", 1},
		{"the server's FIN sent again, not captured, after the client's FIN sent again: the client's bare ACK answering it shows the server still retransmits", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 11},
			step{from: Client, flags: A, seq: 11, ack: 22},
			step{from: Client, flags: FA, seq: 11, ack: 22},
			step{from: Server, flags: FA, seq: 21, ack: 11, after: 200 * time.Millisecond},
			step{from: Client, flags: A, seq: 12, ack: 22, after: 50 * time.Microsecond},
			step{from: Client, flags: FA, seq: 11, ack: 22, after: 200 * time.Millisecond},
			step{from: Client, flags: A, seq: 12, ack: 22, after: 210 * time.Millisecond},
		), 300 * time.Millisecond, "LAST_ACK", "FIN_WAIT_1", "", 1},
		{"the server's FIN sent again, not captured: the client's bare ACK past its own FIN, well after sending that FIN again, answers it", with(established,
			step{from: Server, flags: FA, seq: 21, ack: 11},
			step{from: Client, flags: A, seq: 11, ack: 22},
			step{from: Client, flags: FA, seq: 11, ack: 22},
			step{from: Client, flags: FA, seq: 11, ack: 22, after: 200 * time.Millisecond},
			step{from: Client, flags: A, seq: 12, ack: 22, after: 210 * time.Millisecond},
		), 300 * time.Millisecond, "LAST_ACK", "FIN_WAIT_1", "the peer's repeated ACK answered it", 1},
		{"a SYN-ACK never answered, sent again just before the end: the first went unanswered for a second, so no socket took it", []step{
			{from: Client, flags: S},
			{from: Server, flags: SA, ack: 1},
			{from: Server, flags: SA, ack: 1, after: time.Second},
		}, 0, "CLOSED", "SYN_RCVD", "never answered the peer's SYN-ACK", 0},
		{"a SYN-ACK the client showed lost (its SYN sent again), sent again just before the end: the client is still in SYN_SENT", []step{
			{from: Client, flags: S},
			{from: Server, flags: SA, ack: 1},
			{from: Client, flags: S, after: time.Second},
			{from: Server, flags: SA, ack: 1, after: 50 * time.Microsecond},
		}, 0, "SYN_SENT", "SYN_RCVD", "", 0},
		{"a SYN-ACK after a mid-stream pickup at the third ACK: that ACK never arrived", []step{
			{from: Client, flags: A, seq: 1, ack: 1},
			{from: Server, flags: SA, ack: 1, after: time.Second},
			{from: Client, flags: A, seq: 1, ack: 1},
		}, 0, "ESTABLISHED", "SYN_RCVD", "the ACK seen earlier never arrived", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := play(t, tc.steps, tc.advance)
			c := tr.Conns()[len(tr.Conns())-1]
			if c.State(Client).String() != tc.client || c.State(Server).String() != tc.server {
				t.Fatalf("%v/%v, want %s/%s\n%s", c.State(Client), c.State(Server), tc.client, tc.server, timeline(c))
			}
			if tc.because != "" && !anyWhy(c, tc.because) {
				t.Errorf("no transition because %q\n%s", tc.because, timeline(c))
			}
			if c.NotCaptured != tc.notCaptured {
				t.Errorf("%d segments not captured, want %d\n%s", c.NotCaptured, tc.notCaptured, timeline(c))
			}
		})
	}
}

// anyWhy reports whether a transition of c gives a reason containing s.
func anyWhy(c *Conn, s string) bool {
	for _, x := range c.Transitions() {
		if contains(x.Why, s) {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestOneSidedCapture: each direction alone still gives both sides' states,
// and the connection says it was seen one way.
func TestOneSidedCapture(t *testing.T) {
	full := with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21},
		step{from: Server, flags: A, seq: 21, ack: 12},
		step{from: Server, flags: FA, seq: 21, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 22},
	)
	for _, seen := range []Side{Client, Server} {
		t.Run(seen.String()+" only", func(t *testing.T) {
			var steps []step
			for _, s := range full {
				if s.from == seen {
					s.client, s.server = "", ""
					steps = append(steps, s)
				}
			}
			tr := play(t, steps, 0)
			c := tr.Conns()[0]
			if c.State(Client) != TimeWait || c.State(Server) != Closed {
				t.Errorf("%v/%v, want TIME_WAIT/CLOSED\n%s", c.State(Client), c.State(Server), timeline(c))
			}
			if s, ok := c.OneSided(); !ok || s != seen {
				t.Errorf("OneSided() = %v, %v; want %v, true", s, ok, seen)
			}
		})
	}
}

// TestFINUnansweredNotDelivered: a FIN sent four times to a server that
// never answers never reached its TCP (a live receiver acknowledges every
// copy): the server stays ESTABLISHED.
func TestFINUnansweredNotDelivered(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 21, client: "FIN_WAIT_1", server: "CLOSE_WAIT"},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 200 * time.Millisecond},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 400 * time.Millisecond, server: "ESTABLISHED"},
		step{from: Client, flags: FA, seq: 11, ack: 21, after: 800 * time.Millisecond},
	), 100*time.Millisecond)
	c := tr.Conns()[0]
	if c.State(Client) != FinWait1 || c.State(Server) != Established {
		t.Fatalf("%v/%v, want FIN_WAIT_1/ESTABLISHED\n%s", c.State(Client), c.State(Server), timeline(c))
	}
	if !anyWhy(c, "the FIN never reached it") {
		t.Errorf("not decided by the unanswered-FIN rule\n%s", timeline(c))
	}
}

// TestSynAckOfNewHandshakeOnEndedTuple: a capture that missed a new SYN on
// a 4-tuple whose connection ended sees a SYN-ACK with another ISN: that
// opens the new connection.
func TestSynAckOfNewHandshakeOnEndedTuple(t *testing.T) {
	tr := play(t, with(closed,
		step{from: Server, flags: SA, seq: 100000, ack: 100001, after: time.Second},
		step{from: Client, flags: A, seq: 100001, ack: 100001},
	), 0)
	if n := len(tr.Conns()); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
	c := tr.Conns()[1]
	if c.State(Client) != Established || c.State(Server) != Established {
		t.Errorf("new connection %v/%v, want ESTABLISHED/ESTABLISHED\n%s", c.State(Client), c.State(Server), timeline(c))
	}
}

// TestMidstreamSynAckFindingHasItsTime: the half-open handshake found on a
// connection picked up after its SYN-ACK went out is timed at the first
// SYN-ACK seen, not at zero (found by FuzzTracker).
func TestMidstreamSynAckFindingHasItsTime(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: A, seq: 1, ack: 1},
		{from: Server, flags: SA, ack: 1, after: time.Second},
		{from: Server, flags: SA, ack: 1, after: 2 * time.Second},
	}, 0)
	for _, a := range tr.Anomalies() {
		if a.Time == 0 {
			t.Errorf("finding with no time: %+v", a)
		}
	}
	if len(tr.Anomalies()) == 0 {
		t.Error("no half_open finding for a SYN-ACK sent again into silence")
	}
}

// TestFINsInferredThenWithdrawn: a side picked up mid-stream whose FIN is
// inferred (the peer's FIN acknowledges one byte past it) and then sends
// data past that byte had sent data, not a FIN: both FINs' effects on it
// are taken back (found by FuzzTracker: TIME_WAIT to CLOSE_WAIT).
func TestFINsInferredThenWithdrawn(t *testing.T) {
	tr := play(t, []step{
		{from: Client, flags: A, seq: 1, ack: 1},
		{from: Server, flags: FA, seq: 1, ack: 2},
		{from: Client, flags: PA, seq: 2, ack: 2, payload: 5},
	}, 0)
	c := tr.Conns()[0]
	if c.State(Client) != CloseWait || !anyWhy(c, "that was data, not a FIN") {
		t.Errorf("client %v, want CLOSE_WAIT by withdrawal\n%s", c.State(Client), timeline(c))
	}
}

// TestInferredFINReplacedByRealFIN: the server's FIN inferred from the
// client's ACK one past its data, then the server's real FIN further on:
// that byte was data, and the FIN is the one seen (found by FuzzTracker).
func TestInferredFINReplacedByRealFIN(t *testing.T) {
	tr := play(t, with(established,
		step{from: Client, flags: FA, seq: 11, ack: 22},
		step{from: Server, flags: FA, seq: 22, ack: 12},
		step{from: Client, flags: A, seq: 12, ack: 23},
	), 0)
	c := tr.Conns()[0]
	if c.State(Client) != TimeWait || c.State(Server) != Closed || !anyWhy(c, "that was data, not a FIN") {
		t.Errorf("%v/%v, want TIME_WAIT/CLOSED after the withdrawal\n%s", c.State(Client), c.State(Server), timeline(c))
	}
}

// TestSynCapturedAfterItsSynAck: a SYN captured after the SYN-ACK that
// acknowledged it, sooner than any SYN is sent again, was reordered on
// the way to the capture point: no retransmission, the SYN-ACK did
// arrive, and the connection was not picked up mid-stream. The same SYN a
// second later is sent again: the SYN-ACK never reached the client.
func TestSynCapturedAfterItsSynAck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		after     time.Duration
		midstream bool
		client    string // after the SYN
	}{
		{"260µs after: reordered", 260 * time.Microsecond, false, "ESTABLISHED"},
		{"a second after: sent again", time.Second, true, "SYN_SENT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := play(t, []step{
				{from: Server, flags: SA, ack: 1},
				{from: Client, flags: S, after: tc.after, client: tc.client},
				{from: Client, flags: A, seq: 1, ack: 1, client: "ESTABLISHED", server: "ESTABLISHED"},
			}, 0)
			c := tr.Conns()[0]
			sentAgain := anyWhy(c, "retransmitted its SYN") // (told only when it was)
			if c.Midstream != tc.midstream || sentAgain != tc.midstream {
				t.Errorf("midstream %v, SYN sent again %v; want %v for both\n%s", c.Midstream, sentAgain, tc.midstream, timeline(c))
			}
		})
	}
}

// TestFINCapturedJustAfterItsACK: the server acknowledges the client's FIN
// before the capture shows it, so the FIN is inferred; the FIN itself
// comes 7µs later, sooner than any timer sends a FIN again: it was
// reordered, not missed, and nothing counts as not captured. The same FIN
// 80 ms later (a tail-loss probe's delay) is a retransmission of one the
// capture missed.
func TestFINCapturedJustAfterItsACK(t *testing.T) {
	for _, tc := range []struct {
		after       time.Duration
		notCaptured uint32
	}{{7 * time.Microsecond, 0}, {80 * time.Millisecond, 1}} {
		t.Run(tc.after.String(), func(t *testing.T) {
			tr := play(t, with(established,
				step{from: Server, flags: A, seq: 21, ack: 12, client: "FIN_WAIT_2", server: "CLOSE_WAIT"},
				step{from: Client, flags: FA, seq: 11, ack: 21, after: tc.after, client: "FIN_WAIT_2", server: "CLOSE_WAIT"},
			), 0)
			if c := tr.Conns()[0]; c.NotCaptured != tc.notCaptured {
				t.Errorf("%d segments not captured, want %d\n%s", c.NotCaptured, tc.notCaptured, timeline(c))
			}
		})
	}
}

// TestFINAtTheEndOfAGapIsNoMissedData: the client's last data and FIN, in
// one segment the capture missed, shown by its bare ACK of the server's FIN
// sent at once (quickAckPastFIN), that ACK the first past them or a later
// one: the 16 bytes before the FIN are missed data, the FIN is not.
func TestFINAtTheEndOfAGapIsNoMissedData(t *testing.T) {
	tr := play(t, with(established,
		step{from: Server, flags: FA, seq: 21, ack: 28},
		step{from: Client, flags: A, seq: 28, ack: 22, after: 50 * time.Microsecond},
	), 0)
	c := tr.Conns()[0]
	if got := c.MissedBytes(Client); got != 16 {
		t.Errorf("client's missed bytes %d, want 16\n%s", got, timeline(c))
	}
	tr = play(t, with(established,
		step{from: Server, flags: PA, seq: 21, ack: 28, payload: 40},
		step{from: Client, flags: A, seq: 28, ack: 61, after: 50 * time.Microsecond},
		step{from: Server, flags: FA, seq: 61, ack: 28, after: 100 * time.Millisecond},
		step{from: Client, flags: A, seq: 28, ack: 62, after: 50 * time.Microsecond},
	), 0)
	c = tr.Conns()[0]
	if got := c.MissedBytes(Client); got != 16 {
		t.Errorf("client's missed bytes %d, want 16\n%s", got, timeline(c))
	}
}
