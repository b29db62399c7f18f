package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// TestLiveStatsCountFrozenConnections: the live "stats" event's
// "connections" (kept so far) counts the ended connections frozen beyond
// the default cap on whole ones, as -F ndjson freezes them.
func TestLiveStatsCountFrozenConnections(t *testing.T) {
	c, err := parseArgs([]string{"-r", "x.pcap", "-F", "ndjson"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := &watch{fan: &fanin{}, cfg: c, events: report.NewEvents(&out, false)}
	tc := trackerConfig(c)
	w.events.Hook(&tc)
	w.tr = tracker.New(tc)
	cli, srv := tracker.AddrFrom4([4]byte{10, 0, 0, 1}), tracker.AddrFrom4([4]byte{10, 0, 0, 2})
	now := int64(1_700_000_000) * int64(time.Second)
	const n = 20_000 // more than tracker.DefaultMaxFull
	for i := range n {
		port := uint16(10000 + i)
		seg := func(c2s bool, f tracker.Flags, seq, ack uint32) {
			now += int64(time.Microsecond) * 50
			s := tracker.Segment{Time: now, Src: cli, SrcPort: port, Dst: srv, DstPort: 80, Flags: f,
				Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Window: 1000, WScale: -1}
			if !c2s {
				s.Src, s.SrcPort, s.Dst, s.DstPort = srv, 80, cli, port
			}
			w.tr.Observe(&s)
		}
		seg(true, tracker.SYN, 100, 0)
		seg(false, tracker.SYN|tracker.ACK, 900, 101)
		seg(true, tracker.ACK, 101, 901)
		seg(true, tracker.FIN|tracker.ACK, 101, 901)
		seg(false, tracker.FIN|tracker.ACK, 901, 102)
		seg(true, tracker.ACK, 102, 902)
	}
	w.tr.Advance(now + int64(6*time.Second))
	out.Reset()
	if err := w.tick(time.Unix(0, now+int64(6*time.Second))); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Event       string `json:"event"`
		Connections int    `json:"connections"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &ev); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	if ev.Event != "stats" || ev.Connections != n {
		t.Errorf("stats event: %q with %d connections seen so far, want %d (%d frozen)", ev.Event, ev.Connections, n, w.tr.Frozen())
	}
}
