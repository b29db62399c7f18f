package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// scene plays segments between 198.18.0.1 (client ports) and
// 198.18.0.2:80 into a tracker, a millisecond apart.
type scene struct {
	tr  *tracker.Tracker
	now int64
	pkt uint64
}

var (
	sceneClient = tracker.AddrFrom4([4]byte{198, 18, 0, 1})
	sceneServer = tracker.AddrFrom4([4]byte{198, 18, 0, 2})
)

func newScene(cfg tracker.Config) *scene {
	return &scene{tr: tracker.New(cfg), now: time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC).UnixNano()}
}

func (s *scene) seg(fromClient bool, port uint16, flags tracker.Flags, seq, ack uint32) {
	s.pkt++
	s.now += int64(time.Millisecond)
	g := tracker.Segment{Time: s.now, Packet: s.pkt, Src: sceneClient, Dst: sceneServer, SrcPort: port, DstPort: 80,
		Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Flags: flags, Window: 65535, WScale: -1}
	if !fromClient {
		g.Src, g.Dst, g.SrcPort, g.DstPort = sceneServer, sceneClient, 80, port
	}
	s.tr.Observe(&g)
}

func (s *scene) handshake(port uint16) {
	s.seg(true, port, tracker.SYN, 100, 0)
	s.seg(false, port, tracker.SYN|tracker.ACK, 500, 101)
	s.seg(true, port, tracker.ACK, 101, 501)
}

// liveScene plays three connections into a tracker whose transitions go to
// the hooks: 1 closes cleanly, 2 is left in CLOSE_WAIT (stuck after 2 s),
// 3 stays ESTABLISHED.
func liveScene(t *testing.T, hooks ...func(c *tracker.Conn, tr tracker.Transition)) *scene {
	t.Helper()
	s := newScene(tracker.Config{
		Thresholds: tracker.Thresholds{Stuck: 2 * time.Second},
		OnTransition: func(c *tracker.Conn, x tracker.Transition) {
			for _, h := range hooks {
				h(c, x)
			}
		},
	})
	const A = tracker.ACK
	for _, port := range []uint16{40001, 40002, 40003} {
		s.handshake(port)
	}
	s.seg(true, 40001, tracker.FIN|A, 101, 501)
	s.seg(false, 40001, tracker.FIN|A, 501, 102)
	s.seg(true, 40001, A, 102, 502)
	s.seg(true, 40002, tracker.FIN|A, 101, 501)
	s.seg(false, 40002, A, 501, 102)
	return s
}

// TestLiveViewFromTracker draws frames from a tracker's state: the open
// connections in order (the stuck one first, the closed one not listed),
// the recent transitions and the findings read from the tracker.
func TestLiveViewFromTracker(t *testing.T) {
	var buf bytes.Buffer
	v := NewLiveView(&buf, "eth9", false)
	sc := liveScene(t, v.Transition)
	sc.now += int64(3 * time.Second)
	sc.tr.Advance(sc.now)
	sc.tr.Sweep()
	s := LiveStats{Time: Time(sc.now), Packets: 14, TCPPackets: 14, PacketsPerS: 4.6, Dropped: Dropped{Kernel: 2}}
	snap := v.Snapshot(s, sc.tr)
	if snap.Summary.Connections != 3 || snap.Open != 2 || len(snap.Recent) != MaxRecent {
		t.Errorf("snapshot: %d connections, %d open, %d recent transitions; want 3, 2, %d", snap.Summary.Connections, snap.Open, len(snap.Recent), MaxRecent)
	}
	if len(snap.Rows) != 2 || snap.Rows[0].ID != 2 || snap.Rows[1].ID != 3 || len(snap.Rows[0].Anomalies) == 0 {
		t.Errorf("open rows %+v: want 2 (with its anomalies), then 3", snap.Rows)
	}
	if len(snap.Anomalies) == 0 || !slices.ContainsFunc(snap.Anomalies, func(a Anomaly) bool { return a.Kind == tracker.CloseWaitStuck }) {
		t.Errorf("latest findings %+v: want close_wait_stuck", snap.Anomalies)
	}
	if err := v.Render(s, sc.tr); err != nil {
		t.Fatal(err)
	}
	if err := v.Render(s, sc.tr); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if n := strings.Count(out, "--- 2026-11-21 07:00:03  interface eth9: 14 packets (5/s), 14 TCP; dropped: 2 by the kernel, 0 by the interface\n"); n != 2 {
		t.Errorf("%d snapshot headers, want 2:\n%s", n, out)
	}
	for _, want := range []string{"Connections: 3 seen, 2 open", "│ CLOSE_WAIT  │       0 │       1 │", "→ CLOSE_WAIT", "close_wait_stuck"} {
		if !strings.Contains(out, want) {
			t.Errorf("frame lacks %q:\n%s", want, out)
		}
	}
}

// TestLiveTerminal: on a terminal the frames are drawn in the alternate
// screen, each from the top left with no clear-screen, cut to the window's
// size (lines truncated, a tall frame ending with what it left out), and
// reflowed when the size changes; Close leaves the alternate screen once.
// Elsewhere there is no escape sequence at all.
func TestLiveTerminal(t *testing.T) {
	var buf bytes.Buffer
	v := NewLiveView(&buf, "eth9", true)
	v.SetSize(50, 12)
	v.Draw(sampleSnapshot())
	v.Draw(sampleSnapshot())
	v.SetSize(200, 100)
	v.Draw(sampleSnapshot())
	v.Close()
	v.Close()
	out := buf.String()
	if !strings.HasPrefix(out, enterAlt+cursorHome) || strings.Count(out, enterAlt) != 1 ||
		!strings.HasSuffix(out, leaveAlt) || strings.Count(out, leaveAlt) != 1 || strings.Contains(out, "\x1b[2J") {
		t.Fatalf("want one alternate screen, entered first, left last, and no clear-screen: %q", out)
	}
	frames := strings.Split(strings.TrimSuffix(out, leaveAlt), cursorHome)[1:]
	if len(frames) != 3 {
		t.Fatalf("%d frames, want 3", len(frames))
	}
	for i, f := range frames {
		w, h := 50, 12
		if i == 2 {
			w, h = 200, 100
		}
		lines := strings.Split(escapes.ReplaceAllString(f, ""), "\r\n")
		widest := 0
		for _, l := range lines {
			widest = max(widest, width.StringWidth(l))
		}
		if len(lines) > h || widest > w {
			t.Errorf("frame %d: %d lines, %d columns wide; want at most %d × %d:\n%s", i+1, len(lines), widest, h, w, f)
		}
		cut := strings.HasPrefix(lines[len(lines)-1], "… ") && strings.HasSuffix(lines[len(lines)-1], " more lines: a taller window shows them")
		if cut != (i < 2) || (i < 2) != strings.Contains(f, "…") || (i < 2) == (widest > 50) {
			t.Errorf("frame %d: cut %v, widest %d; want the small window's frames cut and truncated, the large one's whole:\n%s", i+1, cut, widest, f)
		}
	}
	buf.Reset()
	v = NewLiveView(&buf, "eth9", false)
	v.SetSize(50, 12)
	v.Draw(sampleSnapshot())
	if out := buf.String(); strings.Contains(out, "\x1b[") || !strings.Contains(out, "Recent transitions") || v.Close() != nil || buf.String() != out {
		t.Error("not a terminal: escape sequences, or a frame cut to the size")
	}
}

// escapes matches the CSI sequences the live view writes.
var escapes = regexp.MustCompile(`\x1b\[\??[0-9;]*[a-zA-Z]`)

// sampleSnapshot is a frame of the sample model: its open connections,
// connection 1's transitions and the findings.
func sampleSnapshot() *Snapshot {
	r := sampleReport(false)
	snap := &Snapshot{
		Iface:   "eth9",
		Stats:   LiveStats{Time: after(2*time.Hour + 3*time.Minute + 10*time.Second), Packets: 1234567, TCPPackets: 1200000, PacketsPerS: 20576.6, Dropped: Dropped{Kernel: 17}},
		Summary: r.Summary, Open: 3, Anomalies: r.Anomalies,
	}
	for _, i := range []int{0, 4, 1} { // with anomalies, most recent first; then ESTABLISHED
		snap.Rows = append(snap.Rows, r.Connections[i])
	}
	c := &r.Connections[0]
	for _, tr := range sampleTransitions() {
		snap.Recent = append(snap.Recent, ConnTransition{Time: tr.Time, Connection: c.ID, Client: c.Client, Server: c.Server,
			Packet: tr.Packet, Side: tr.Side, From: tr.From, To: tr.To, Why: tr.Why})
	}
	return snap
}

// TestLiveGolden draws three appended frames: the sample; many open
// connections of which few are listed, no finding; nothing seen yet.
func TestLiveGolden(t *testing.T) {
	var buf bytes.Buffer
	v := NewLiveView(&buf, "ignored", false)
	frames := []*Snapshot{sampleSnapshot(), sampleSnapshot(), {Iface: "eth9", Stats: LiveStats{Time: t0}}}
	busy := frames[1]
	busy.Open, busy.Rows, busy.Recent, busy.Anomalies = 40, busy.Rows[:2], nil, nil
	busy.Summary.Anomalies = map[tracker.Kind]int{}
	busy.Summary.Connections = 65
	for _, f := range frames {
		if err := v.Draw(f); err != nil {
			t.Fatal(err)
		}
	}
	checkGolden(t, "live", buf.Bytes())
}

// TestLiveViewRowsCapped: of many open connections the snapshot keeps
// MaxOpenRows, those not ESTABLISHED on both sides first.
func TestLiveViewRowsCapped(t *testing.T) {
	sc := newScene(tracker.Config{})
	v := NewLiveView(&bytes.Buffer{}, "eth9", false)
	for i := range 20 {
		sc.handshake(uint16(41000 + i))
	}
	for i := range 3 { // a SYN only
		sc.seg(true, uint16(42000+i), tracker.SYN, 7, 0)
	}
	snap := v.Snapshot(LiveStats{Time: Time(sc.now)}, sc.tr)
	if snap.Open != 23 || len(snap.Rows) != MaxOpenRows {
		t.Fatalf("%d open, %d rows; want 23, %d", snap.Open, len(snap.Rows), MaxOpenRows)
	}
	var ids []uint64
	for _, r := range snap.Rows {
		ids = append(ids, r.ID)
	}
	// The SYN_SENT ones newest first, then the ESTABLISHED ones newest first.
	want := []uint64{23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9}
	if !slices.Equal(ids, want) || snap.Rows[0].ClientState != tracker.SynSent {
		t.Errorf("rows %v (first %v); want %v (first SYN_SENT)", ids, snap.Rows[0].ClientState, want)
	}
}

// TestInsertRanked: keeping the first n while inserting one by one gives
// the first n of a stable sort of all.
func TestInsertRanked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		all := make([]ranked, rng.IntN(40))
		for i := range all {
			all[i] = ranked{&tracker.Conn{ID: uint64(i), Last: int64(rng.IntN(5))}, rng.IntN(3)}
		}
		n := 1 + rng.IntN(10)
		var top []ranked
		for _, r := range all {
			top = insertRanked(top, r, n)
		}
		want := slices.Clone(all)
		slices.SortStableFunc(want, func(a, b ranked) int {
			return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(b.c.Last, a.c.Last))
		})
		want = want[:min(n, len(want))]
		ids := func(rs []ranked) (s []uint64) {
			for _, r := range rs {
				s = append(s, r.c.ID)
			}
			return s
		}
		if !slices.Equal(ids(top), ids(want)) {
			t.Fatalf("trial %d, n %d: kept %v, want %v", trial, n, ids(top), ids(want))
		}
	}
}

func TestEvents(t *testing.T) {
	var buf bytes.Buffer
	ev := NewEvents(&buf, false)
	var lines []int
	w := writeCounter{&buf, &lines}
	ev.w = w
	sc := liveScene(t, ev.Transition)
	sc.tr.Advance(sc.now + int64(3*time.Second))
	ev.Stats(LiveStats{Time: Time(sc.now), Packets: 14})
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
