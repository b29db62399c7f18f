package html

import (
	"bytes"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/report/ladder"
	"github.com/tcpwatch/tcpwatch/report/svg"
	"github.com/tcpwatch/tcpwatch/tracker"
)

func sampleData() *Data {
	c := report.Connection{ID: 7, Client: netip.MustParseAddrPort("198.18.0.1:40000"), Server: netip.MustParseAddrPort("198.18.0.2:80"),
		ClientState: tracker.Established, ServerState: tracker.CloseWait, Anomalies: []tracker.Kind{}}
	r := &report.Report{Input: report.Input{Files: []string{"<x>.pcap"}, FirstPacket: 1e18, LastPacket: 1e18 + 5e9},
		Connections: []report.Connection{c},
		Anomalies:   []report.Anomaly{{Kind: tracker.CloseWaitStuck, Severity: tracker.Warning, Connection: 7, Detail: "a <b> & c"}}}
	l := &ladder.Ladder{ID: 7, Client: c.Client, Server: c.Server, Start: 1e18, Steps: []ladder.Step{
		{Kind: ladder.Segment, Time: 1e18, Packet: 1, Flags: tracker.SYN, State: [2]tracker.State{tracker.SynSent, tracker.Closed}, Changed: [2]bool{true, false}, Why: [2]string{"sent SYN", ""}},
	}}
	span := Span{Start: 1e18, End: 1e18 + 5e9}
	syns := &SYNCounter{Span: span}
	syns.Add(&tracker.Segment{Time: 1e18, Flags: tracker.SYN})
	return &Data{Report: r, Listed: []int{0}, Ladders: map[uint64]*ladder.Ladder{7: l}, States: States(nil, nil, span), SYNs: syns}
}

// TestPageIsSelfContained: the page loads nothing (no src, no external
// href, no @import, no url() but the SVGs' own markers) and runs no script.
func TestPageIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sampleData()); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`(?i)<script`), regexp.MustCompile(`(?i)\ssrc=`), regexp.MustCompile(`(?i)href="[^#]`),
		regexp.MustCompile(`(?i)@import`), regexp.MustCompile(`url\([^#]`), regexp.MustCompile(`(?i)<link`),
	} {
		if m := bad.FindString(page); m != "" {
			t.Errorf("page has %q: it must not load anything", m)
		}
	}
	for _, want := range []string{`id="conn-7"`, `href="#conn-7"`, `class="ladder"`, "a &lt;b&gt; &amp; c", "&lt;x&gt;.pcap", `class="chart syn-rate"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

// TestSpanBucketsCoverTheCapture: the first and last instants fall in the
// first and last slices, and only SYNs without ACK are counted.
func TestSpanBucketsCoverTheCapture(t *testing.T) {
	s := Span{Start: 0, End: 1e9}
	if b := s.bucket(0); b != 0 {
		t.Errorf("start in bucket %d, want 0", b)
	}
	if b := s.bucket(1e9); b != Buckets-1 {
		t.Errorf("end in bucket %d, want %d", b, Buckets-1)
	}
	c := &SYNCounter{Span: s}
	c.Add(&tracker.Segment{Time: 5e8, Flags: tracker.SYN})
	c.Add(&tracker.Segment{Time: 5e8, Flags: tracker.SYN | tracker.ACK})
	var n uint64
	for _, k := range c.Count {
		n += k
	}
	if n != 1 {
		t.Errorf("counted %d SYNs, want 1 (a SYN-ACK is not a SYN)", n)
	}
}

// TestStatesFollowTransitions: a connection counts in each state from
// the slice of the transition into it.
func TestStatesFollowTransitions(t *testing.T) {
	tr := tracker.New(tracker.Config{})
	a, b := tracker.AddrFrom4([4]byte{198, 18, 0, 1}), tracker.AddrFrom4([4]byte{198, 18, 0, 2})
	syn := tracker.Segment{Time: 0 + 1, Packet: 1, Src: a, Dst: b, SrcPort: 40000, DstPort: 80, Seq: 100, Flags: tracker.SYN, WScale: -1}
	synAck := tracker.Segment{Time: 1e8, Packet: 2, Src: b, Dst: a, SrcPort: 80, DstPort: 40000, Seq: 500, Ack: 101, Flags: tracker.SYN | tracker.ACK, WScale: -1}
	ack := tracker.Segment{Time: 2e8, Packet: 3, Src: a, Dst: b, SrcPort: 40000, DstPort: 80, Seq: 101, Ack: 501, Flags: tracker.ACK, WScale: -1}
	for _, s := range []tracker.Segment{syn, synAck, ack} {
		tr.Observe(&s)
	}
	tr.Finish()
	s := States(tr.Records(), nil, Span{Start: 0, End: 1e9})
	last := s.Count[tracker.Server][Buckets-1]
	if last[tracker.Established] != 1 || last[tracker.SynRcvd] != 0 {
		t.Errorf("server at the end: %d ESTABLISHED, %d SYN_RCVD; want 1, 0", last[tracker.Established], last[tracker.SynRcvd])
	}
	mid := s.Count[tracker.Server][Span{0, 1e9}.bucket(15e7)]
	if mid[tracker.SynRcvd] != 1 {
		t.Errorf("server between SYN-ACK and ACK: %d SYN_RCVD, want 1", mid[tracker.SynRcvd])
	}
}

// TestSYNRateOfAShortCapture: in a capture shorter than the chart's slices
// are seconds, one SYN is one SYN a second at most, not one SYN divided by
// a slice's few milliseconds.
func TestSYNRateOfAShortCapture(t *testing.T) {
	c := &SYNCounter{Span: Span{Start: 1, End: 1 + 27e6}} // 27 ms
	c.Add(&tracker.Segment{Time: 1e6, Flags: tracker.SYN})
	chart := string(synChart(c))
	if want := ">" + svg.Num(1) + "</text>"; !strings.Contains(chart, want) {
		t.Errorf("the chart's top is not 1 SYN/s:\n%s", chart)
	}
}

// TestPageGroupsItsCounts: counts on the page are grouped by thousands, as
// in the table.
func TestPageGroupsItsCounts(t *testing.T) {
	d := sampleData()
	c := d.Report.Connections[0]
	c.Packets = report.PerSide{Client: 12345, Server: 2}
	d.Report.Connections = nil
	d.Listed = nil
	for i := range 2600 {
		c.ID = uint64(i + 1)
		d.Report.Connections = append(d.Report.Connections, c)
		if i < 1300 {
			d.Listed = append(d.Listed, i)
		}
	}
	d.Report.Summary.Connections = 2600
	var b bytes.Buffer
	if err := Write(&b, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"1,300 more connections are not listed", "1,299 listed connections have no ladder", "12,345/2", "<dd>2,600</dd>"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestSYNRateIsPerSecondOverShortSlices: 250 SYNs a second for 4 s, in
// slices of about 33 ms, chart as about 250 a second, not as the 8 or so
// of one slice.
func TestSYNRateIsPerSecondOverShortSlices(t *testing.T) {
	c := &SYNCounter{Span: Span{Start: 0, End: 4e9 - 1}}
	for i := range int64(1000) {
		c.Add(&tracker.Segment{Time: i * 4e6, Flags: tracker.SYN})
	}
	rates := synRates(c)
	for _, b := range []int{Buckets / 4, Buckets / 2, 3 * Buckets / 4} {
		if r := rates[b]; r < 240 || r > 260 {
			t.Errorf("slice %d: %.1f SYNs/s, want about 250", b, r)
		}
	}
	if chart := string(synChart(c)); !strings.Contains(chart, "/s around it)") {
		t.Errorf("the bars' titles do not give the rate around them:\n%.400s", chart)
	}
}

// TestEmptyCapturePageSaysSo: a capture with no packet gives no time line
// (no 1970), and sections without rows say so instead of an empty table.
func TestEmptyCapturePageSaysSo(t *testing.T) {
	r := &report.Report{Input: report.Input{Files: []string{"empty.pcap"}}}
	var b bytes.Buffer
	if err := Write(&b, &Data{Report: r, States: States(nil, nil, Span{}), SYNs: &SYNCounter{}}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"1970", "<dt>time</dt>", "<th>ID</th>"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	for _, want := range []string{"<p>No services.</p>", "<p>No TCP connections.</p>", "<p>No findings.</p>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}
