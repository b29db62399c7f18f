package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// liveScene plays three connections into a tracker whose hooks feed a live
// view and an event writer: 1 closes cleanly, 2 is left in CLOSE_WAIT until
// it is stuck, 3 stays ESTABLISHED.
func liveScene(t *testing.T, hooks ...func(c *tracker.Conn, tr tracker.Transition)) (*tracker.Tracker, int64) {
	t.Helper()
	var (
		cli = tracker.AddrFrom4([4]byte{198, 18, 0, 1})
		srv = tracker.AddrFrom4([4]byte{198, 18, 0, 2})
		now = time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC).UnixNano()
		pkt uint64
	)
	tr := tracker.New(tracker.Config{
		Thresholds: tracker.Thresholds{Stuck: 2 * time.Second},
		OnTransition: func(c *tracker.Conn, x tracker.Transition) {
			for _, h := range hooks {
				h(c, x)
			}
		},
	})
	seg := func(fromClient bool, port uint16, flags tracker.Flags, seq, ack uint32, payload uint32) {
		pkt++
		now += int64(time.Millisecond)
		s := tracker.Segment{Time: now, Packet: pkt, Src: cli, Dst: srv, SrcPort: port, DstPort: 80,
			Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Flags: flags, Window: 65535, WScale: -1, Payload: payload}
		if !fromClient {
			s.Src, s.Dst, s.SrcPort, s.DstPort = srv, cli, 80, port
		}
		tr.Observe(&s)
	}
	const A = tracker.ACK
	for _, port := range []uint16{40001, 40002, 40003} {
		seg(true, port, tracker.SYN, 100, 0, 0)
		seg(false, port, tracker.SYN|A, 500, 101, 0)
		seg(true, port, A, 101, 501, 0)
	}
	// 1: client closes, server closes.
	seg(true, 40001, tracker.FIN|A, 101, 501, 0)
	seg(false, 40001, tracker.FIN|A, 501, 102, 0)
	seg(true, 40001, A, 102, 502, 0)
	// 2: client closes, server acknowledges and never closes.
	seg(true, 40002, tracker.FIN|A, 101, 501, 0)
	seg(false, 40002, A, 501, 102, 0)
	return tr, now
}

func TestLiveView(t *testing.T) {
	var buf bytes.Buffer
	v := NewLiveView(&buf, "eth9", false)
	tr, now := liveScene(t, v.Transition)
	now += int64(3 * time.Second)
	tr.Advance(now)
	tr.Sweep()
	s := LiveStats{Time: Time(now), Packets: 14, TCPPackets: 14, PacketsPerS: 4.6, Dropped: Dropped{Kernel: 2}}
	if err := v.Render(s, tr); err != nil {
		t.Fatal(err)
	}
	if err := v.Render(s, tr); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "\x1b[") {
		t.Error("escape sequences when not a terminal")
	}
	if n := strings.Count(out, "--- 2026-11-21 07:00:03  interface eth9: 14 packets (5/s), 14 TCP; dropped: 2 by the kernel, 0 by the interface\n"); n != 2 {
		t.Errorf("%d snapshot headers, want 2:\n%s", n, out)
	}
	frame := out[:strings.Index(out[1:], "\n--- ")+1]
	for _, want := range []string{"Connections: 3 seen, 2 open", "│ CLOSE_WAIT  │       0 │       1 │", "Recent transitions", "→ CLOSE_WAIT", "close_wait_stuck", "Anomalies: "} {
		if !strings.Contains(frame, want) {
			t.Errorf("frame lacks %q:\n%s", want, frame)
		}
	}
	// The open connections: the one in CLOSE_WAIT (with its anomaly once
	// the tracker found one, and not ESTABLISHED anyway) before the
	// ESTABLISHED one; the closed one is not listed.
	i2, i3 := strings.Index(frame, "198.18.0.1:40002"), strings.Index(frame, "198.18.0.1:40003")
	if i2 < 0 || i3 < 0 || i2 > strings.Index(frame, "Recent") || i3 < i2 {
		t.Errorf("open connections not in order (CLOSE_WAIT first, then ESTABLISHED):\n%s", frame)
	}
	if strings.Contains(frame[:strings.Index(frame, "Recent")], "198.18.0.1:40001") {
		t.Errorf("a closed connection listed as open:\n%s", frame)
	}

	// On a terminal every frame starts by clearing the screen.
	buf.Reset()
	v = NewLiveView(&buf, "eth9", true)
	v.Render(s, tr)
	v.Render(s, tr)
	if !strings.HasPrefix(buf.String(), clearScreen) || strings.Count(buf.String(), clearScreen) != 2 {
		t.Errorf("terminal frames do not each start with %q", clearScreen)
	}
}

func TestEvents(t *testing.T) {
	var buf bytes.Buffer
	ev := NewEvents(&buf, false)
	var lines []int
	w := writeCounter{&buf, &lines}
	ev.w = w
	tr, now := liveScene(t, ev.Transition)
	tr.Advance(now + int64(3*time.Second))
	ev.Stats(LiveStats{Time: Time(now), Packets: 14})
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		var e struct {
			Event      string          `json:"event"`
			Connection json.RawMessage `json:"connection"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		seen[e.Event]++
		if e.Event == "end" {
			var c Connection
			if err := json.Unmarshal(e.Connection, &c); err != nil || c.ID != 1 || c.ServerState != tracker.Closed {
				t.Errorf("end event %s: want connection 1 with the server CLOSED", e.Connection)
			}
		}
	}
	// 3 handshakes (4 transitions each), connection 1's close (4: client
	// FIN_WAIT_1, server CLOSE_WAIT, ... ), connection 2's (3).
	if seen["end"] != 1 || seen["stats"] != 1 || seen["transition"] < 12 {
		t.Errorf("events %v: want one end, one stats, every transition", seen)
	}
	for i, n := range lines {
		if n != 1 {
			t.Errorf("write %d held %d lines, want exactly one", i, n)
		}
	}
}

// writeCounter counts the lines in each Write.
type writeCounter struct {
	b     *bytes.Buffer
	lines *[]int
}

func (w writeCounter) Write(p []byte) (int, error) {
	*w.lines = append(*w.lines, bytes.Count(p, []byte("\n")))
	return w.b.Write(p)
}
