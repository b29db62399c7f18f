package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestEventsGolden writes events of each kind from the sample model: the
// transitions of connection 1, connection 4's end without and with its
// transitions (-v), the findings, and a stats line.
func TestEventsGolden(t *testing.T) {
	var buf bytes.Buffer
	e := NewEvents(&buf, false)
	conns := sampleConnections()
	for _, tr := range sampleTransitions() {
		e.writeTransition(ConnTransition{Time: tr.Time, Connection: 1, Client: conns[0].Client, Server: conns[0].Server,
			Packet: tr.Packet, Side: tr.Side, From: tr.From, To: tr.To, Why: tr.Why})
	}
	end := conns[3]
	e.writeEnd(end.LastPacket, end)
	trs := []Transition{{Time: end.LastPacket, Packet: 9, Side: tracker.Server, From: tracker.LastAck, To: tracker.Closed,
		Why: "its FIN was acknowledged (ACK ≥ FIN+1)"}}
	end.Transitions = &trs
	e.writeEnd(end.LastPacket, end)
	for _, a := range sampleAnomalies() {
		e.writeAnomaly(a)
	}
	e.Stats(LiveStats{Time: after(time.Minute), Packets: 1234567, TCPPackets: 1200000, PacketsPerS: 20576.1,
		Dropped: Dropped{Kernel: 17, Interface: 1}, Active: 1500, Connections: 31000})
	if e.Err() != nil {
		t.Fatal(e.Err())
	}
	checkGolden(t, "events", buf.Bytes())
}

// failWriter fails every write after the first n.
type failWriter struct {
	n      int
	writes int
}

var errFull = errors.New("no space left on device")

func (w *failWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.n {
		return 0, errFull
	}
	return len(p), nil
}

// TestEventsStopAtFirstError: the first write error is kept, and nothing
// is written after it.
func TestEventsStopAtFirstError(t *testing.T) {
	w := &failWriter{n: 1}
	e := NewEvents(w, false)
	for _, a := range sampleAnomalies() {
		e.writeAnomaly(a)
	}
	e.Stats(LiveStats{})
	if !errors.Is(e.Err(), errFull) || w.writes != 2 {
		t.Errorf("Err %v after %d writes; want %v after 2", e.Err(), w.writes, errFull)
	}
}

// TestEventsUnencodable: a value JSON cannot encode stops the stream with
// the encoder's error, and nothing is written.
func TestEventsUnencodable(t *testing.T) {
	w := &failWriter{n: 10}
	e := NewEvents(w, false)
	e.write(func() {})
	e.writeAnomaly(Anomaly{Kind: tracker.Reset})
	if e.Err() == nil || w.writes != 0 {
		t.Errorf("Err %v after %d writes; want an encoding error and no write", e.Err(), w.writes)
	}
}

// encodedEvent is what Events.write writes for v: encoding/json's line.
func encodedEvent(t *testing.T, v any) []byte {
	var e Events
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	var out bytes.Buffer
	e.w = &out
	e.write(v)
	if e.err != nil {
		t.Fatal(e.err)
	}
	return out.Bytes()
}

// FuzzTransitionEventJSON: appendTransitionEvent and appendEndEvent write
// the line encoding/json writes for the event, or leave it to it.
func FuzzTransitionEventJSON(f *testing.F) {
	f.Add([]byte("ShADadFf"), "sent SYN", uint64(1), true)
	f.Add([]byte{0xff, 0x00, 0x7f, '"', '\\', 0xe9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17}, "its FIN was acknowledged (ACK ≥ FIN+1)", uint64(0), false)
	f.Add(bytes.Repeat([]byte{0x41, 0x9c}, 40), "a \"quoted\" <why> & \\", uint64(1<<63), true)
	f.Add([]byte("ShA"), "SYN-ACK → ISN+1, \u2028 \u2029", uint64(7), false)
	f.Add([]byte("ShA"), "cut \xe2\x89 short, and \x7f", uint64(7), false)
	f.Fuzz(func(t *testing.T, b []byte, why string, pkt uint64, inferred bool) {
		c := connectionOf(b)
		if len(b) > 3 && b[3]&1 != 0 {
			c.Client = netip.AddrPortFrom(c.Client.Addr().WithZone(why), c.Client.Port())
		}
		tr := ConnTransition{Time: c.LastPacket, Connection: c.ID, Client: c.Client, Server: c.Server, Packet: pkt,
			Side: tracker.Side(pkt & 1), From: c.ClientState, To: c.ServerState, Why: why, Inferred: inferred}
		if got, ok := appendTransitionEvent([]byte("x"), &tr); ok {
			want := encodedEvent(t, struct {
				Event string `json:"event"`
				ConnTransition
			}{"transition", tr})
			if !bytes.Equal(got[1:], want) || got[0] != 'x' {
				t.Fatalf("appendTransitionEvent:\n got %s\nwant %s", got, want)
			}
		} else if string(got) != "x" {
			t.Fatalf("appendTransitionEvent appended %q and left the event to encoding/json", got)
		}
		at := c.FirstPacket
		if got, ok := appendEndEvent([]byte("x"), at, &c); ok {
			want := encodedEvent(t, struct {
				Event      string     `json:"event"`
				Time       Time       `json:"time"`
				Connection Connection `json:"connection"`
			}{"end", at, c})
			if !bytes.Equal(got[1:], want) || got[0] != 'x' {
				t.Fatalf("appendEndEvent:\n got %s\nwant %s", got, want)
			}
		} else if string(got) != "x" {
			t.Fatalf("appendEndEvent appended %q and left the event to encoding/json", got)
		}
	})
}

// TestPlainEventsWrittenFieldByField: the sample's transitions (their whys
// with × and ≥ in them) and an end event with them are written by
// appendTransitionEvent and appendEndEvent, not left to encoding/json, and
// a plain row of the connection table by asciiRow; the tests above only
// check what they write when they write it.
func TestPlainEventsWrittenFieldByField(t *testing.T) {
	conns := sampleConnections()
	trs := append(sampleTransitions(), Transition{Time: t0, Packet: 9, Side: tracker.Server, From: tracker.LastAck,
		To: tracker.Closed, Why: "its FIN was acknowledged (ACK ≥ FIN+1)"})
	for _, tr := range trs {
		ct := ConnTransition{Time: tr.Time, Connection: 1, Client: conns[0].Client, Server: conns[0].Server,
			Packet: tr.Packet, Side: tr.Side, From: tr.From, To: tr.To, Why: tr.Why}
		if _, ok := appendTransitionEvent(nil, &ct); !ok {
			t.Errorf("transition %q left to encoding/json", tr.Why)
		}
	}
	end := conns[0]
	end.Transitions = &trs
	if _, ok := appendEndEvent(nil, end.LastPacket, &end); !ok {
		t.Errorf("end event of connection %d with its transitions left to encoding/json", end.ID)
	}
	row := connRow(nil, &end)
	widths := make([]int, len(row))
	for i, c := range row {
		widths[i] = len(c)
	}
	if _, ok := asciiRow(nil, row, connAlign, widths); !ok {
		t.Errorf("row %q left to the table library", row)
	}
}
