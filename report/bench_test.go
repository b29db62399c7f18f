package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// BenchmarkLiveRender draws a live frame of a tracker following 100,000
// open connections, one in ten of them not ESTABLISHED on both sides.
func BenchmarkLiveRender(b *testing.B) {
	tr := tracker.New(tracker.Config{})
	now := time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC).UnixNano()
	srv := tracker.AddrFrom4([4]byte{198, 18, 0, 2})
	var pkt uint64
	obs := func(src, dst tracker.Addr, sp, dp uint16, f tracker.Flags, seq, ack uint32) {
		pkt++
		now += int64(time.Microsecond)
		tr.Observe(&tracker.Segment{Time: now, Packet: pkt, Src: src, Dst: dst, SrcPort: sp, DstPort: dp,
			Seq: seqnum.Value(seq), Ack: seqnum.Value(ack), Flags: f, Window: 65535, WScale: -1})
	}
	for i := range 100_000 {
		cli := tracker.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
		obs(cli, srv, 40000, 80, tracker.SYN, 100, 0)
		if i%10 != 0 {
			obs(srv, cli, 80, 40000, tracker.SYN|tracker.ACK, 500, 101)
			obs(cli, srv, 40000, 80, tracker.ACK, 101, 501)
		}
	}
	v := NewLiveView(io.Discard, "eth9", false)
	s := LiveStats{Time: Time(now)}
	b.ReportAllocs()
	for b.Loop() {
		if err := v.Render(s, tr); err != nil {
			b.Fatal(err)
		}
	}
}

// bigReport has n connections over 64 services, one in 20 with a finding.
func bigReport(n int) *Report {
	r := &Report{Input: Input{FirstPacket: t0, LastPacket: after(time.Hour)},
		Summary: Summary{Connections: n, Anomalies: map[tracker.Kind]int{}}}
	for i := range n {
		c := conn(uint64(i+1), fmt.Sprintf("198.18.0.%d:80", i%64), tracker.TimeWait, tracker.Closed, time.Duration(i)*time.Millisecond)
		c.ConnState = ConnSF
		if i%20 == 0 {
			c.ClientState, c.ServerState, c.Anomalies = tracker.FinWait2, tracker.CloseWait, []tracker.Kind{tracker.CloseWaitStuck}
			r.Anomalies = append(r.Anomalies, Anomaly{Kind: tracker.CloseWaitStuck, Severity: tracker.Warning, Connection: c.ID,
				Side: SideOf(tracker.Server), Target: c.Server, Time: c.LastPacket, Detail: "stuck"})
			r.Summary.Anomalies[tracker.CloseWaitStuck]++
		}
		r.Connections = append(r.Connections, c)
	}
	return r
}

// BenchmarkPrintRollup prints the rollup of 100,000 connections; compare
// with BenchmarkPrintJSON of the same report, measured in the same run.
func BenchmarkPrintRollup(b *testing.B) { benchmarkPrint(b, Table) }

// BenchmarkPrintJSON is the baseline for BenchmarkPrintRollup.
func BenchmarkPrintJSON(b *testing.B) { benchmarkPrint(b, JSON) }

// benchmarkPrint prints bigReport(100_000) in format f.
func benchmarkPrint(b *testing.B, f Format) {
	r := bigReport(100_000)
	b.ReportAllocs()
	for b.Loop() {
		if err := Print(io.Discard, r, f, PrintOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
