package report

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestBuildFromTracker builds the report of a tracker that keeps one ended
// connection: the rows are in order of first packet, the summary counts
// every connection (the forgotten one as CLOSED on both sides) and every
// finding, the findings are in order of time, and -v adds transitions.
func TestBuildFromTracker(t *testing.T) {
	var ev bytes.Buffer
	events := NewEvents(&ev, true)
	sc := newScene(tracker.Config{MaxKept: 1, MSL: time.Second, Thresholds: tracker.Thresholds{Stuck: 2 * time.Second},
		OnTransition: events.Transition, OnAnomaly: events.Anomaly})
	const A = tracker.ACK
	for _, port := range []uint16{40001, 40002, 40003} {
		sc.handshake(port)
		sc.seg(true, port, tracker.FIN|A, 101, 501)
		if port != 40003 { // 40003: the server never closes
			sc.seg(false, port, tracker.FIN|A, 501, 102)
			sc.seg(true, port, A, 102, 502)
		} else {
			sc.seg(false, port, A, 501, 102)
		}
	}
	sc.seg(true, 40004, tracker.SYN, 100, 0)
	sc.seg(false, 40004, tracker.RST|A, 0, 101)
	sc.tr.Advance(sc.now + int64(5*time.Second))
	sc.tr.Finish()

	r := Build(Input{Packets: sc.pkt, TCPPackets: sc.pkt}, sc.tr, Options{Verbose: true})
	if r.Input.Files == nil || r.SchemaVersion != SchemaVersion || r.Input.Evicted.Forgotten != 2 {
		t.Errorf("input %+v: want files [], version %d, two connections forgotten", r.Input, SchemaVersion)
	}
	var ids []uint64
	for _, c := range r.Connections {
		ids = append(ids, c.ID)
		if c.Transitions == nil || len(*c.Transitions) == 0 || c.CommunityID == "" || c.History == "" {
			t.Errorf("connection %d: transitions %v, community ID %q, history %q", c.ID, c.Transitions, c.CommunityID, c.History)
		}
	}
	// Ended in the order 4 (refused), 1, 2 (TIME_WAIT over): 2 is kept.
	if !slices.Equal(ids, []uint64{2, 3}) {
		t.Errorf("connections %v, want 2, 3 (1 and 4 forgotten)", ids)
	}
	s := r.Summary
	if s.Connections != 4 || s.States.Client[tracker.Closed] != 3 || s.States.Server[tracker.Closed] != 3 ||
		s.States.Server[tracker.CloseWait] != 1 || s.States.Client[tracker.FinWait2] != 1 || len(s.States.Client) != 2 {
		t.Errorf("summary %+v: want 4 connections, clients CLOSED 3 and FIN_WAIT_2 1, servers CLOSED 3 and CLOSE_WAIT 1", s)
	}
	if s.AnomalyTotal() != len(r.Anomalies) || !slices.IsSortedFunc(r.Anomalies, func(a, b Anomaly) int { return int(a.Time - b.Time) }) {
		t.Errorf("findings %+v: want all listed, in order of time (summary %v)", r.Anomalies, s.Anomalies)
	}
	kinds := map[tracker.Kind]Anomaly{}
	for _, a := range r.Anomalies {
		kinds[a.Kind] = a
	}
	if a := kinds[tracker.CloseWaitStuck]; a.Connection != 3 || a.Side != SideOf(tracker.Server) || a.Severity != tracker.Warning {
		t.Errorf("close_wait_stuck %+v: want connection 3's server, a warning", a)
	}
	if a := kinds[tracker.ConnectionRefused]; a.Connection != 4 || a.Target != ap("198.18.0.2:80") || a.Severity != tracker.Info {
		t.Errorf("connection_refused %+v: want connection 4, aimed at 198.18.0.2:80, info", a)
	}
	if !bytes.Contains(ev.Bytes(), []byte(`{"event":"anomaly","kind":"connection_refused","severity":"info","connection":4,`)) {
		t.Errorf("no anomaly event for the refused connection:\n%s", ev.Bytes())
	}
	if r.Connections[0].TransitionList()[0].From != tracker.Closed || (&Connection{}).TransitionList() != nil {
		t.Error("TransitionList does not return the transitions, or nil without -v")
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"": Table, "table": Table, "json": JSON, "ndjson": NDJSON, "csv": CSV, "zeek": Zeek} {
		if f, err := ParseFormat(in); err != nil || f != want {
			t.Errorf("ParseFormat(%q) = %v, %v; want %v", in, f, err, want)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || err.Error() != `unknown format "xml" (want table, json, ndjson, csv or zeek)` {
		t.Errorf("ParseFormat(xml): %v", err)
	}
}

// TestPrintWriteError: every format returns the writer's error.
func TestPrintWriteError(t *testing.T) {
	for _, f := range []Format{Table, JSON, NDJSON, CSV, Zeek} {
		if err := Print(&failWriter{}, sampleReport(true), f, PrintOptions{}); !errors.Is(err, errFull) {
			t.Errorf("format %d: Print = %v, want %v", f, err, errFull)
		}
	}
	if err := NewLiveView(&failWriter{}, "eth9", true).Draw(sampleSnapshot()); !errors.Is(err, errFull) {
		t.Errorf("Draw = %v, want %v", err, errFull)
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Skip(9).String(), "Skip(9)"},
		{OptionalSide{}.String(), ""},
		{SideOf(tracker.Client).String(), "client"},
		{Time(0).String(), ""},
		{where(&Anomaly{}), ""},
		{count(999), "999"},
		{count(1000), "1,000"},
		{duration(59*time.Minute + 59*time.Second), "59m59s"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	var tm Time
	if err := tm.UnmarshalText(nil); err != nil || tm != 0 {
		t.Errorf(`Time.UnmarshalText("") = %v, %v; want 0`, tm, err)
	}
}
