package report

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// BenchmarkLiveRender draws a live frame of a tracker following 100,000
// open connections, one in ten of them not ESTABLISHED on both sides.
func BenchmarkLiveRender(b *testing.B) {
	tr := tracker.New(tracker.Config{})
	srv := tracker.AddrFrom4([4]byte{198, 18, 0, 2})
	obs := observer(tr) // (parallel_test.go)
	for i := range 100_000 {
		cli := tracker.AddrFrom4([4]byte{198, 19, byte(i >> 8), byte(i)})
		obs(cli, srv, 40000, 80, tracker.SYN, 100, 0)
		if i%10 != 0 {
			obs(srv, cli, 80, 40000, tracker.SYN|tracker.ACK, 500, 101)
			obs(cli, srv, 40000, 80, tracker.ACK, 101, 501)
		}
	}
	v := NewLiveView(io.Discard, "eth9", false)
	s := LiveStats{Time: Time(tr.Now())}
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
