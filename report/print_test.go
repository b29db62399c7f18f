package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// t0 is the sample capture's first packet: 2026-11-21 07:34:30.142095 UTC.
var t0 = Time(time.Date(2026, 11, 21, 7, 34, 30, 142095000, time.UTC).UnixNano())

// after returns t0 plus d.
func after(d time.Duration) Time { return t0 + Time(d) }

var ap = netip.MustParseAddrPort

// sampleConnections are five connections that show every column's cases:
// IPv4 and IPv6, mid-stream, big counts, durations from microseconds to
// hours, with and without anomalies, closed cleanly or not.
func sampleConnections() []Connection {
	return []Connection{{
		ID: 1, Client: ap("198.18.0.1:57136"), Server: ap("198.18.0.2:8080"),
		ClientState: tracker.FinWait2, ServerState: tracker.CloseWait,
		FirstPacket: t0, LastPacket: after(12300 * time.Millisecond),
		Packets: PerSide{4, 3}, PayloadBytes: PerSide{5, 0}, History: "ShADadF", ConnState: "S1",
		CommunityID: "1:wCb3OG7yAFWelaUydu0D+125CLM=", Anomalies: []tracker.Kind{tracker.CloseWaitStuck},
	}, {
		ID: 2, Client: ap("[fd00::1]:48560"), Server: ap("[fd00::2]:443"),
		ClientState: tracker.Established, ServerState: tracker.Established,
		FirstPacket: after(time.Second), LastPacket: after(4*time.Minute + 5500*time.Millisecond), Midstream: true,
		Packets: PerSide{1234567, 7654321}, PayloadBytes: PerSide{98765432100, 1000}, Keepalives: 3,
		History: "Dd", ConnState: "OTH", CommunityID: "1:1RSTpOcVWhDMJ+8yzlvsGO1+tI0=", Anomalies: []tracker.Kind{},
	}, {
		ID: 3, Client: ap("198.18.0.1:40000"), Server: ap("198.18.0.2:9"),
		ClientState: tracker.Closed, ServerState: tracker.Closed,
		FirstPacket: after(2 * time.Second), LastPacket: after(2*time.Second + 183*time.Microsecond),
		Packets: PerSide{1, 1}, History: "Sr", ConnState: "REJ", CommunityID: "1:GG5h4y5jRnFZ2NVqZ4t8IbBpE5Q=",
		Anomalies: []tracker.Kind{tracker.ConnectionRefused},
	}, {
		ID: 4, Client: ap("198.18.0.1:40002"), Server: ap("198.18.0.2:80"),
		ClientState: tracker.TimeWait, ServerState: tracker.Closed,
		FirstPacket: after(3 * time.Second), LastPacket: after(3*time.Second + 5*time.Millisecond),
		Packets: PerSide{5, 4}, PayloadBytes: PerSide{77, 1500}, History: "ShADadFf", ConnState: ConnSF,
		CommunityID: "1:hrsm+2h3oUvHAdoEe5oRnQ8OwYA=", Anomalies: []tracker.Kind{},
	}, {
		ID: 5, Client: ap("198.18.0.3:50000"), Server: ap("198.18.0.2:22"),
		ClientState: tracker.FinWait1, ServerState: tracker.LastAck,
		FirstPacket: after(4 * time.Second), LastPacket: after(2*time.Hour + 3*time.Minute + 4*time.Second),
		Packets: PerSide{10, 12}, History: "ShADadFf", ConnState: "S3", CommunityID: "1:3e7N8eRrJgGj7p1p+C2f6tbrGi0=",
		Anomalies: []tracker.Kind{tracker.UnackedFin, tracker.ZeroWindow},
	}}
}

// sampleTransitions are connection 1's transitions (the others get none).
func sampleTransitions() []Transition {
	return []Transition{
		{Time: t0, Packet: 1, Side: tracker.Client, From: tracker.Closed, To: tracker.SynSent, Why: "sent SYN"},
		{Time: after(183 * time.Microsecond), Packet: 2, Side: tracker.Server, From: tracker.Closed, To: tracker.SynRcvd, Why: "sent SYN-ACK"},
		{Time: after(183 * time.Microsecond), Packet: 2, Side: tracker.Client, From: tracker.SynSent, To: tracker.Established, Why: "SYN-ACK acknowledged ISN+1"},
		{Time: after(12 * time.Second), Side: tracker.Server, From: tracker.TimeWait, To: tracker.Closed, Why: "2×MSL passed"},
	}
}

// sampleAnomalies are findings of each severity, one target-wide.
func sampleAnomalies() []Anomaly {
	return []Anomaly{{
		Kind: tracker.SynFlood, Severity: tracker.Critical, Target: ap("198.18.0.2:80"), Time: after(500 * time.Millisecond),
		Detail: "198.18.0.2:80 received 1000 SYNs at up to 998/s from about 1000 sources that never completed a handshake",
	}, {
		Kind: tracker.ConnectionRefused, Severity: tracker.Info, Connection: 3, Side: SideOf(tracker.Server),
		Target: ap("198.18.0.2:9"), Time: after(2*time.Second + 183*time.Microsecond), Detail: "server 198.18.0.2:9 answered the SYN with RST",
	}, {
		Kind: tracker.CloseWaitStuck, Severity: tracker.Warning, Connection: 1, Side: SideOf(tracker.Server),
		Target: ap("198.18.0.2:8080"), Time: after(1 * time.Second),
		Detail: "server 198.18.0.2:8080 has not closed 11.3 s after the client's FIN — its application never called close()",
	}}
}

// sampleReport is a report of the sample connections and findings; with
// verbose, connection 1 has its transitions and the others an empty list.
func sampleReport(verbose bool) *Report {
	conns := sampleConnections()
	if verbose {
		for i := range conns {
			trs := []Transition{}
			if conns[i].ID == 1 {
				trs = sampleTransitions()
			}
			conns[i].Transitions = &trs
		}
	}
	return &Report{
		SchemaVersion: SchemaVersion,
		Input: Input{
			Files: []string{"x.pcap"}, Packets: 1234, TCPPackets: 1200,
			Skipped:     map[Skip]uint64{NotTCP: 30, Truncated: 4, Malformed: 0, Fragment: 1200000},
			FirstPacket: t0, LastPacket: after(2*time.Hour + 3*time.Minute + 4*time.Second),
		},
		Connections: conns,
		Anomalies:   sampleAnomalies(),
		Summary: Summary{
			Connections: 5,
			Anomalies:   map[tracker.Kind]int{tracker.SynFlood: 1, tracker.ConnectionRefused: 1, tracker.CloseWaitStuck: 1},
			States: StateCounts{
				Client: map[tracker.State]uint64{tracker.FinWait2: 1, tracker.Established: 1, tracker.Closed: 1, tracker.TimeWait: 1, tracker.FinWait1: 1},
				Server: map[tracker.State]uint64{tracker.CloseWait: 1, tracker.Established: 1, tracker.Closed: 2, tracker.LastAck: 1},
			},
		},
	}
}

// printed renders r in format f.
func printed(t *testing.T, r *Report, f Format, opts PrintOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Print(&b, r, f, opts); err != nil {
		t.Fatalf("Print: %v", err)
	}
	return b.Bytes()
}

func TestPrintGolden(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report *Report
		format Format
		opts   PrintOptions
	}{
		{"table-verbose", sampleReport(true), Table, PrintOptions{}},
		{"table", sampleReport(false), Table, PrintOptions{}},
		{"table-cut", sampleReport(false), Table, PrintOptions{MaxRows: 2}},
		{"table-cut-all", sampleReport(true), Table, PrintOptions{MaxRows: 2, All: true}},
		{"table-many", manyReport(60), Table, PrintOptions{}},
		{"table-empty", emptyReport(), Table, PrintOptions{}},
		{"table-left-out", leftOutReport(), Table, PrintOptions{}},
		{"json-verbose", sampleReport(true), JSON, PrintOptions{}},
		{"json", sampleReport(false), JSON, PrintOptions{}},
		{"json-empty", emptyReport(), JSON, PrintOptions{}},
		{"json-left-out", leftOutReport(), JSON, PrintOptions{}},
		{"ndjson-report", sampleReport(false), NDJSON, PrintOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkGolden(t, tc.name, printed(t, tc.report, tc.format, tc.opts))
		})
	}
}

// manyReport has n connections, one in ten not closed cleanly.
func manyReport(n int) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Input: Input{Files: []string{"a.pcap", "b.pcap.gz"}, Packets: uint64(9 * n), TCPPackets: uint64(9 * n),
		Skipped: map[Skip]uint64{NotTCP: 0, Truncated: 0, Malformed: 0}, FirstPacket: t0, LastPacket: after(time.Duration(n) * time.Second)}}
	r.Summary = Summary{Connections: n, Anomalies: map[tracker.Kind]int{}, States: StateCounts{Client: map[tracker.State]uint64{}, Server: map[tracker.State]uint64{}}}
	r.Anomalies = []Anomaly{}
	for i := range n {
		c := Connection{
			ID: uint64(i + 1), Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i)}), 40000), Server: ap("198.18.0.2:80"),
			ClientState: tracker.TimeWait, ServerState: tracker.Closed, FirstPacket: after(time.Duration(i) * time.Second),
			LastPacket: after(time.Duration(i)*time.Second + time.Millisecond), Packets: PerSide{5, 4},
			History: "ShADadFf", ConnState: ConnSF, Anomalies: []tracker.Kind{},
		}
		if i%10 == 9 {
			c.ServerState, c.ConnState = tracker.CloseWait, "S1"
		}
		r.Summary.States.Client[c.ClientState]++
		r.Summary.States.Server[c.ServerState]++
		r.Connections = append(r.Connections, c)
	}
	return r
}

// emptyReport read a capture with no TCP in it.
func emptyReport() *Report {
	return &Report{SchemaVersion: SchemaVersion,
		Input:       Input{Files: []string{}, Interface: "eth9", Packets: 0, Skipped: map[Skip]uint64{NotTCP: 0, Truncated: 0, Malformed: 0}},
		Connections: []Connection{}, Anomalies: []Anomaly{},
		Summary: Summary{Anomalies: map[tracker.Kind]int{},
			States: StateCounts{Client: map[tracker.State]uint64{}, Server: map[tracker.State]uint64{}}},
	}
}

// leftOutReport is a live capture whose connections were all left out
// (evicted, summarized in a flood, forgotten), that ended in an error
// with findings past the listing cap.
func leftOutReport() *Report {
	r := emptyReport()
	r.Input = Input{Files: []string{}, Interface: "any", Packets: 2500000, TCPPackets: 2400000,
		Skipped:     map[Skip]uint64{NotTCP: 99000, Truncated: 1000, Malformed: 0, Filtered: 123},
		FirstPacket: t0, LastPacket: after(90 * time.Second), Dropped: Dropped{Kernel: 4567, Interface: 8},
		Evicted: Evicted{Embryonic: 100000, Established: 2, SynFlood: 1000000, Forgotten: 3000},
		Error:   `interface "any": capture stopped: network is down`}
	r.Anomalies = sampleAnomalies()[:1]
	r.Summary.Connections = 3000
	r.Summary.Anomalies = map[tracker.Kind]int{tracker.SynFlood: 1, tracker.HalfOpen: 12000}
	r.Summary.States.Client[tracker.Closed] = 3000
	r.Summary.States.Server[tracker.Closed] = 3000
	return r
}

// TestJSONRoundTrip: the JSON document decodes back into the model it
// was printed from, every typed field included.
func TestJSONRoundTrip(t *testing.T) {
	for _, r := range []*Report{sampleReport(true), sampleReport(false), emptyReport(), leftOutReport()} {
		var back Report
		if err := json.Unmarshal(printed(t, r, JSON, PrintOptions{}), &back); err != nil {
			t.Fatalf("Unmarshal: %v", err)
		}
		if !reflect.DeepEqual(&back, r) {
			t.Errorf("decoded report differs:\n%+v\nwant\n%+v", back, *r)
		}
	}
}

// TestUnmarshalRejects: a document with a name outside the model's enums
// does not decode, and the error quotes it.
func TestUnmarshalRejects(t *testing.T) {
	for _, tc := range []struct{ doc, bad string }{
		{`{"connections":[{"client_state":"FIN_WAIT_3"}]}`, "FIN_WAIT_3"},
		{`{"anomalies":[{"kind":"odd"}]}`, "odd"},
		{`{"anomalies":[{"severity":"fatal"}]}`, "fatal"},
		{`{"anomalies":[{"side":"both"}]}`, "both"},
		{`{"input":{"skipped":{"lost":1}}}`, "lost"},
		{`{"input":{"first_packet":"yesterday"}}`, "yesterday"},
		{`{"summary":{"states":{"client":{"OPEN":1}}}}`, "OPEN"},
	} {
		var r Report
		err := json.Unmarshal([]byte(tc.doc), &r)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.bad)) {
			t.Errorf("%s: error %v; want one that quotes %q", tc.doc, err, tc.bad)
		}
	}
}

// TestInputLineCountsInTheSingular: one lone segment, one 4-tuple, and a
// single file (or an interface) whose last packet is older than its first
// are said as such.
func TestInputLineCountsInTheSingular(t *testing.T) {
	if got, want := loneSummary(&Lone{Segments: 1, Tuples: 1, Refused: 1}),
		", 1 lone segment to 1 4-tuple, never answered, 1 lone segment refused by an RST"; got != want {
		t.Errorf("loneSummary: %q, want %q", got, want)
	}
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"a.pcap"}, "packets out of time order"},
		{[]string{"a.pcap", "b.pcap"}, "files out of time order"},
		{[]string{}, "packets out of time order"}, // a live capture's clock stepped back
	} {
		var b strings.Builder
		p := &printer{w: &b}
		in := &Input{Files: tc.files, Packets: 2, FirstPacket: Time(2e18), LastPacket: Time(1e18)}
		if len(tc.files) == 0 {
			in.Interface = "eth0"
		}
		p.input(in)
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%d files: %q, want it to say %q", len(tc.files), b.String(), tc.want)
		}
	}
}

// TestOnePacketIsSingular: the header counts one packet as one.
func TestOnePacketIsSingular(t *testing.T) {
	var b bytes.Buffer
	rep := &Report{Input: Input{Files: []string{"one.pcap"}, Packets: 1, TCPPackets: 1}}
	if err := Print(&b, rep, Table, PrintOptions{}); err != nil {
		t.Fatal(err)
	}
	if line, _, _ := strings.Cut(b.String(), "\n"); !strings.Contains(line, ": 1 packet, 1 TCP") {
		t.Errorf("header %q", line)
	}
}

// TestNoConnectionsSaysWhy: a report with no connection says whether they
// were left out (evicted, a flood's, forgotten), every segment was a lone
// one, or there was no TCP at all.
func TestNoConnectionsSaysWhy(t *testing.T) {
	lone := emptyReport()
	lone.Input.Lone = &Lone{Segments: 1333, Tuples: 1}
	for _, tc := range []struct {
		name string
		r    *Report
		want string
	}{
		{"left out", leftOutReport(), "No connections left to list: the input line above counts those left out"},
		{"lone segments only", lone, "No connections: every TCP segment was a lone one"},
		{"no TCP", emptyReport(), "No TCP connections."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out := printed(t, tc.r, Table, PrintOptions{}); !bytes.Contains(out, []byte(tc.want)) {
				t.Errorf("no %q in\n%s", tc.want, out)
			}
		})
	}
}

// TestConnectionsLineCountsThoseLeftOut: the line above the connections
// gives every connection the summary counts, and how many are listed when
// some were forgotten beyond --keep, in the full view and the quiet one
// alike.
func TestConnectionsLineCountsThoseLeftOut(t *testing.T) {
	forgotten := sampleReport(false)
	forgotten.Summary.Connections = 125
	forgotten.Input.Evicted.Forgotten = 120
	for _, tc := range []struct {
		name  string
		r     *Report
		quiet bool
		want  string
	}{
		{"all listed", sampleReport(false), false, "\nConnections: 5\n"},
		{"all listed, quiet", sampleReport(false), true, "\nConnections: 5\n"},
		{"some forgotten", forgotten, false, "\nConnections: 125, 5 listed\n"},
		{"some forgotten, quiet", forgotten, true, "\nConnections: 125, 5 listed\n"},
		{"none left to list, quiet", leftOutReport(), true, "\nConnections: 3,000, 0 listed\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out := printed(t, tc.r, Table, PrintOptions{Quiet: tc.quiet}); !bytes.Contains(out, []byte(tc.want)) {
				t.Errorf("no %q in\n%s", tc.want, out)
			}
		})
	}
}

// TestInputLineNamesStandardInput: the header names "-" as the error
// messages do.
func TestInputLineNamesStandardInput(t *testing.T) {
	rep := &Report{Input: Input{Files: []string{"-"}, Packets: 2, TCPPackets: 2}}
	if line, _, _ := strings.Cut(string(printed(t, rep, Table, PrintOptions{})), "\n"); !strings.HasPrefix(line, "standard input: 2 packets") {
		t.Errorf("header %q", line)
	}
}

// TestFindingsFitTheTerminal: on a terminal (Width), the anomalies table's
// sentences wrap so that the table fits it, between minDetailWidth and
// detailWidth; off one, they wrap at detailWidth.
func TestFindingsFitTheTerminal(t *testing.T) {
	header := []string{"SEVERITY", "KIND", "DETAIL"}
	rows := [][]string{{"warning", "close_wait_stuck\nalso fin_wait_2_stuck", "x"}}
	fixed := 3*len(header) + 1 + len("SEVERITY") + len("also fin_wait_2_stuck")
	for _, tc := range []struct {
		name  string
		width int
		want  int
	}{
		{"no terminal", 0, detailWidth},
		{"a wide terminal", 300, detailWidth},
		{"a narrower one", fixed + 50, 50},
		{"too narrow to fit", fixed + 5, minDetailWidth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fitDetail(header, rows, tc.width); got != tc.want {
				t.Errorf("fitDetail(width %d) = %d, want %d", tc.width, got, tc.want)
			}
		})
	}
	out := printed(t, sampleReport(false), Table, PrintOptions{Width: 110})
	_, anomalies, _ := bytes.Cut(out, []byte("\nAnomalies: "))
	for line := range strings.SplitSeq(string(anomalies), "\n") {
		if n := utf8.RuneCountInString(line); n > 110 {
			t.Errorf("a line of %d columns on a terminal of 110: %s", n, line)
		}
	}
}

// TestKindCellNamesAlsoKinds: a finding's KIND cell gives its also list's
// kinds under its own, and the rollup's line the kinds other findings'
// also lists name, with counts, in the kinds' order; nothing when none.
func TestKindCellNamesAlsoKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		a    Anomaly
		want string
	}{
		{"none", Anomaly{Kind: tracker.Reset}, "reset"},
		{"one", Anomaly{Kind: tracker.CloseWaitStuck, Also: []tracker.Kind{tracker.FinWait2Stuck}}, "close_wait_stuck\nalso fin_wait_2_stuck"},
		{"two", Anomaly{Kind: tracker.UnackedFin, Also: []tracker.Kind{tracker.HalfOpen, tracker.Reset}}, "unacked_fin\nalso half_open\nalso reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kindWithAlso(&tc.a); got != tc.want {
				t.Errorf("kindWithAlso = %q, want %q", got, tc.want)
			}
		})
	}
	if got := alsoLine(nil); got != "" {
		t.Errorf("alsoLine(nil) = %q, want nothing", got)
	}
	got := alsoLine(map[tracker.Kind]int{tracker.Reset: 2, tracker.HalfOpen: 1234})
	if want := "In other findings' also lists (--fail-on matches them): half_open 1,234, reset 2"; got != want {
		t.Errorf("alsoLine = %q, want %q", got, want)
	}
}
