package ladder

import (
	"bytes"
	"encoding/xml"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/degrade"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// recordings lists every kernel recording (the anomaly set included).
func recordings(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pat := range []string{"*.pcap", "anomalies/*.pcap", "anomalies/*.pcap.gz"} {
		m, err := filepath.Glob(filepath.Join("..", "..", "testdata", "pcaps", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(filepath.Join("..", "..", "testdata", "pcaps"), p)
			out = append(out, rel)
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d recordings", len(out))
	}
	return out
}

// TestLadderEndsInTheReportedStates: replaying a ladder's steps gives each
// side's final state as the tracker reports it, on every recording.
func TestLadderEndsInTheReportedStates(t *testing.T) {
	for _, name := range recordings(t) {
		tr, ls := draw(t, readSegments(t, name))
		for i, c := range tr.Conns() {
			got := ls[i].Final()
			if want := [2]tracker.State{c.State(tracker.Client), c.State(tracker.Server)}; got != want {
				t.Errorf("%s #%d: ladder ends in %v, the tracker reports %v", name, c.ID, got, want)
			}
		}
	}
}

// TestEverySegmentIsDrawnOnce: each TCP packet of a drawn connection is one
// captured step, in packet order (in a capture with no connection left out
// of the report, every TCP packet).
func TestEverySegmentIsDrawnOnce(t *testing.T) {
	for _, name := range recordings(t) {
		pkts := readSegments(t, name)
		tr, ls := draw(t, pkts)
		want := 0
		for _, p := range pkts {
			if p.Kind == capture.TCP {
				want++
			}
		}
		got := 0
		for _, l := range ls {
			var last uint64
			for _, s := range l.Steps {
				if s.Kind != Segment {
					continue
				}
				got++
				if s.Packet <= last {
					t.Errorf("%s #%d: packet %d drawn after packet %d", name, l.ID, s.Packet, last)
				}
				last = s.Packet
			}
		}
		if ev := tr.Evicted(); ev.Flood+ev.Embryonic > 0 {
			continue // connections summarized by a flood's finding are not drawn
		}
		if len(tr.Conns()) > 0 && got != want {
			t.Errorf("%s: %d segments drawn, the capture has %d TCP packets", name, got, want)
		}
	}
}

// TestTextFitsTheWidth: no line of a text ladder is wider than asked, in
// Unicode or ASCII, and ASCII has only ASCII.
func TestTextFitsTheWidth(t *testing.T) {
	_, ls := draw(t, readSegments(t, "lost-third-ack.pcap"))
	for _, width := range []int{MinWidth, 80, 100, 160} {
		for _, ascii := range []bool{false, true} {
			var b bytes.Buffer
			if err := Text(&b, ls[0], TextOptions{Width: width, ASCII: ascii}); err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
				if n := utf8.RuneCountInString(line); n > width {
					t.Errorf("width %d ascii=%v: line of %d columns: %q", width, ascii, n, line)
				}
				if ascii && strings.ContainsFunc(line, func(r rune) bool { return r > 0x7e }) {
					t.Errorf("ASCII ladder has a non-ASCII character: %q", line)
				}
			}
		}
	}
}

// TestSVGParsesAndCarriesTheStates: the SVG is well-formed XML, has one
// step group per step, and its root names the final states.
func TestSVGParsesAndCarriesTheStates(t *testing.T) {
	_, ls := draw(t, readSegments(t, "simultaneous-close.pcap"))
	l := ls[0]
	var doc struct {
		ClientState string `xml:"data-client-state,attr"`
		ServerState string `xml:"data-server-state,attr"`
		Groups      []struct {
			Class string `xml:"class,attr"`
		} `xml:"g"`
	}
	if err := xml.Unmarshal(SVG(l), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.ClientState != "TIME_WAIT" || doc.ServerState != "TIME_WAIT" {
		t.Errorf("root says %s / %s, want TIME_WAIT / TIME_WAIT", doc.ClientState, doc.ServerState)
	}
	steps := 0
	for _, g := range doc.Groups {
		if g.Class == "step" {
			steps++
		}
	}
	if steps != len(l.Steps) {
		t.Errorf("%d step groups, want %d", steps, len(l.Steps))
	}
	if !bytes.Equal(SVG(l), SVG(l)) {
		t.Error("the same ladder drew two different documents")
	}
}

// TestRecorderIgnoresOtherConnections: segments of connections not drawn
// are not wanted.
func TestRecorderIgnoresOtherConnections(t *testing.T) {
	pkts := readSegments(t, "many-short.pcap")
	tr := track(tracker.Config{}, pkts)
	cs := tr.Records()
	if len(cs) < 2 {
		t.Fatalf("%d connections, want several", len(cs))
	}
	rec := NewRecorder(tracker.Config{}, cs[1:2])
	wanted := 0
	for i := range pkts {
		if p := &pkts[i]; p.Kind == capture.TCP && rec.Wants(&p.Seg) {
			wanted++
			rec.Observe(&p.Seg)
		}
	}
	c := cs[1]
	if n := c.Packets(tracker.Client) + c.Packets(tracker.Server); uint64(wanted) != n {
		t.Errorf("recorder wanted %d segments, connection #%d has %d", wanted, c.ID, n)
	}
	if ls := rec.Ladders(tr.Anomalies()); len(ls) != 1 || ls[0].ID != c.ID {
		t.Errorf("drew %d ladders, want one of #%d", len(ls), c.ID)
	}
}

// TestSimultaneousOpenEndsInTheKernelsStates: the recording made for the
// ladders (testdata/record) ends, drawn, in the states the kernel reported.
func TestSimultaneousOpenEndsInTheKernelsStates(t *testing.T) {
	rows, err := degrade.ReadStates(filepath.Join("testdata", "simultaneous-open.states"))
	if err != nil {
		t.Fatal(err)
	}
	_, ls := draw(t, readSegments(t, "simultaneous-open.pcap"))
	if len(ls) != 1 || len(rows) != 1 {
		t.Fatalf("%d ladders, %d kernel rows; want one each", len(ls), len(rows))
	}
	if ls[0].Client != rows[0].Client || ls[0].Final() != rows[0].State {
		t.Errorf("ladder %s ends in %v; the kernel said %s in %v", ls[0].Client, ls[0].Final(), rows[0].Client, rows[0].State)
	}
	var synsCrossed bool
	for i := 1; i < len(ls[0].Steps); i++ {
		a, b := ls[0].Steps[i-1], ls[0].Steps[i]
		if a.Flags == tracker.SYN && b.Flags == tracker.SYN && a.From != b.From {
			synsCrossed = true
		}
	}
	if !synsCrossed {
		t.Error("no two SYNs crossed: not a simultaneous open")
	}
}

// TestRepeatsAreMarked: on each recording, the segments marked as each
// kind of repeat are the ones the capture shows: FINs and SYNs sent again
// are retransmissions, keepalives and zero-window probes as the tracker
// counted them.
func TestRepeatsAreMarked(t *testing.T) {
	for _, c := range []struct {
		pcap string
		mark Mark
		want int
	}{
		{"last-ack-retransmit.pcap", Retransmission, 4}, // the server's FIN, 4 times again
		{"lost-third-ack.pcap", Retransmission, 2},      // the SYN-ACK, twice again
		{"syn-timeout.pcap", Retransmission, -1},        // every SYN after the first
		{"keepalive.pcap", Keepalive, -1},               // as the tracker counted
		{"close-client-first.pcap", Retransmission, 0},
	} {
		tr, ls := draw(t, readSegments(t, c.pcap))
		want := c.want
		switch {
		case c.mark == Keepalive:
			want = int(tr.Conns()[0].Keepalives)
		case want < 0:
			want = int(tr.Conns()[0].Half(tracker.Client).Packets()) - 1
		}
		got := 0
		for _, s := range ls[0].Steps {
			if s.Mark == c.mark {
				got++
			}
		}
		if got != want || want == 0 && c.want != 0 {
			t.Errorf("%s: %d steps marked %s, want %d", c.pcap, got, c.mark, want)
		}
	}
}

// TestSVGAtMostKeepsTheEnds: a long ladder is drawn by its first and last
// steps, says how many it left out, and still ends in the final states.
func TestSVGAtMostKeepsTheEnds(t *testing.T) {
	_, ls := draw(t, readSegments(t, "anomalies/bulk.pcap.gz"))
	l := ls[0]
	if len(l.Steps) < 100 {
		t.Fatalf("%d steps, want a long transfer", len(l.Steps))
	}
	out := string(SVGAtMost(l, 20))
	if n := strings.Count(out, `<g class="step"`); n != 20 {
		t.Errorf("%d steps drawn, want 20", n)
	}
	if want := strconv.Itoa(len(l.Steps)-20) + " steps not drawn"; !strings.Contains(out, want) {
		t.Errorf("no %q row", want)
	}
	last := l.Steps[len(l.Steps)-1]
	if !strings.Contains(out, `data-packet="`+strconv.FormatUint(last.Packet, 10)+`"`) {
		t.Error("the last step is not drawn")
	}
	if !bytes.Equal(SVGAtMost(l, 0), SVG(l)) || !bytes.Equal(SVGAtMost(l, len(l.Steps)), SVG(l)) {
		t.Error("no limit, or a limit above the steps, does not draw every step")
	}
}

// TestWantsDoesNotAllocate: the second reading asks of every packet
// whether it is drawn; for one that is not, that costs no allocation.
func TestWantsDoesNotAllocate(t *testing.T) {
	pkts := readSegments(t, "many-short.pcap")
	tr := track(tracker.Config{}, pkts)
	rec := NewRecorder(tracker.Config{}, tr.Records()[:1])
	other := &pkts[len(pkts)-1].Seg
	if rec.Wants(other) {
		t.Fatal("the last connection's segment is wanted; want only the first connection's")
	}
	if n := testing.AllocsPerRun(1000, func() { rec.Wants(other) }); n != 0 {
		t.Errorf("Wants allocates %v times per packet", n)
	}
}
