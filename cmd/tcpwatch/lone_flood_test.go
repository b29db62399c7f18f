package main

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

var floodTarget = netip.MustParseAddrPort("[fd00::2]:80")

// numLoneKinds stands for no flood: a busy server's connections alone.
const numLoneKinds = synth.LoneSYN + 1

// floodCapture writes n lone segments of kind from distinct fd00::/8
// sources, 100,000 a second, with 20 connections spread over them; with
// refused, the target answers each with an RST.
func floodCapture(t testing.TB, kind synth.LoneKind, n int, refused bool) string {
	t.Helper()
	return synthCapture(t, synth.Config{Seed: 7, Conns: 20, Lone: n, LoneKind: kind, LoneRefused: refused,
		FloodTarget: floodTarget, Interval: 10 * time.Microsecond})
}

// floodTruth is what a flood capture holds, read independently of the
// tracker: per finding kind, the segments, their distinct sources and
// their span.
type floodTruth struct {
	segments    int
	sources     map[netip.Addr]bool
	first, last int64
}

// kindOfFlags is the finding a synth flood segment must count for.
func kindOfFlags(f tracker.Flags) (tracker.Kind, bool) {
	switch f {
	case tracker.ACK, tracker.PSH | tracker.ACK:
		return tracker.AckFlood, true
	case tracker.RST, tracker.RST | tracker.ACK: // (synth's RST-ACKs have random sequence numbers)
		return tracker.RstFlood, true
	case tracker.FIN | tracker.ACK, tracker.FIN | tracker.PSH | tracker.URG:
		return tracker.FinFlood, true
	case tracker.SYN | tracker.ACK:
		return tracker.SynackBackscatter, true
	}
	return 0, false
}

func readTruth(t testing.TB, name string) map[tracker.Kind]*floodTruth {
	t.Helper()
	out := map[tracker.Kind]*floodTruth{}
	eachPacket(t, func(_ int, p *capture.Packet) {
		if p.Kind != capture.TCP {
			return // the packet is reused: only a TCP packet's segment is its own
		}
		if p.Seg.Src.IP().Is4() || p.Seg.Src.IP() == floodTarget.Addr() {
			return // a real connection, or the target's answer
		}
		k, ok := kindOfFlags(p.Seg.Flags)
		if !ok {
			return
		}
		ft := out[k]
		if ft == nil {
			ft = &floodTruth{sources: map[netip.Addr]bool{}, first: p.Time}
			out[k] = ft
		}
		ft.segments++
		ft.sources[p.Seg.Src.IP()] = true
		ft.last = p.Time
	}, name)
	return out
}

// TestFloodsNamedAndRealConnectionsKept: under 100,000 lone segments of
// each kind (1 s at 100,000/s), unanswered or each refused by an RST from
// the target, with the default caps and with --max-conns 1000 --keep 1000,
// every one of the 20 real connections is reported with
// the states its kernels held (client TIME_WAIT, server CLOSED), and each
// flood is one finding with its target, and a rate and sources within 10 %
// of the truth.
func TestFloodsNamedAndRealConnectionsKept(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 20_000
	}
	for _, kind := range []synth.LoneKind{synth.LoneACK, synth.LoneRST, synth.LoneSYNACK, synth.LoneFINACK, synth.LoneMixed} {
		for _, refused := range []bool{false, true} {
			name := floodCapture(t, kind, n, refused)
			truth := readTruth(t, name)
			for _, caps := range [][]string{nil, {"--max-conns", "1000", "--keep", "1000"}} {
				what := kind.String() + " " + strings.Join(caps, " ")
				if refused {
					what += " refused"
				}
				t.Run(what, func(t *testing.T) {
					rep := runJSON(t, append([]string{"-r", name}, caps...)...)
					checkRealConns(t, rep)
					checkFloodFindings(t, rep, truth)
					if l := rep.Input.Lone; l == nil || l.Segments+l.Refused < uint64(n)*7/8 {
						t.Errorf("input.lone %+v, want about %d lone segments", l, n)
					}
				})
			}
		}
	}
}

func checkRealConns(t *testing.T, rep *report.Report) {
	t.Helper()
	real := 0
	for _, c := range rep.Connections {
		if !c.Client.Addr().Is4() {
			t.Errorf("connection %d %v → %v reported: a lone segment is no connection", c.ID, c.Client, c.Server)
			continue
		}
		real++
		if c.ClientState != tracker.TimeWait || c.ServerState != tracker.Closed {
			t.Errorf("connection %d %v: %v/%v, want TIME_WAIT/CLOSED", c.ID, c.Client, c.ClientState, c.ServerState)
		}
	}
	if real != 20 {
		t.Errorf("%d real connections reported, want 20", real)
	}
}

func checkFloodFindings(t *testing.T, rep *report.Report, truth map[tracker.Kind]*floodTruth) {
	t.Helper()
	found := map[tracker.Kind]int{}
	for _, a := range rep.Anomalies {
		found[a.Kind]++
		ft := truth[a.Kind]
		if ft == nil {
			t.Errorf("%s finding for a flood the capture does not hold: %s", a.Kind, a.Detail)
			continue
		}
		rate := float64(ft.segments) / time.Duration(ft.last-ft.first).Seconds()
		if got, _ := a.Fields["rate"].(float64); math.Abs(got-rate) > rate/10 {
			t.Errorf("%s: rate %v/s, want %.0f/s within 10%%", a.Kind, a.Fields["rate"], rate)
		}
		if got, _ := a.Fields["sources"].(float64); math.Abs(got-float64(len(ft.sources))) > float64(len(ft.sources))/10 {
			t.Errorf("%s: %v sources, want %d within 10%%", a.Kind, a.Fields["sources"], len(ft.sources))
		}
		want := floodTarget.String()
		if a.Kind == tracker.SynackBackscatter {
			want = floodTarget.Addr().String() + " (many ports)"
		}
		if a.Fields["target"] != want {
			t.Errorf("%s: target %v, want %s", a.Kind, a.Fields["target"], want)
		}
	}
	for k := range truth {
		if found[k] != 1 {
			t.Errorf("%d %s findings, want 1", found[k], k)
		}
	}
}

// heapBytes is the live heap after a collection.
func heapBytes() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestFloodMemoryBoundedByCaps: the tracker's live heap under a flood of
// every kind stays within its caps' bound (README, "Memory"): MaxConns and
// MaxKept connections of at most connBytes each, the lone table, and a
// constant; and it does not grow with the flood's length (the second half
// of the flood adds less than the lone table's size).
func TestFloodMemoryBoundedByCaps(t *testing.T) {
	const connBytes = 2048 // a connection with its timers, table slot and transitions (README)
	const loneBytes = 144  // a lone entry (136 bytes) and its index slots
	n := 100_000
	if testing.Short() {
		n = 40_000
	}
	busy := synthCapture(t, synth.Config{Seed: 12, Conns: n / 10, Concurrency: 1500, Interval: 20 * time.Microsecond})
	for _, kind := range []synth.LoneKind{synth.LoneACK, synth.LoneMixed, numLoneKinds} {
		name, cfgs := busy, []tracker.Config{{MaxConns: 1000, MaxKept: 1000}} // connections fill the table and the store
		if kind != numLoneKinds {
			name = floodCapture(t, kind, n, false)
			cfgs = []tracker.Config{{}, {MaxConns: 1000, MaxKept: 1000}, {MaxConns: 1000, MaxKept: 1000, MaxLone: 4096}}
		}
		for _, cfg := range cfgs {
			cfg.MaxConns = cmp.Or(cfg.MaxConns, tracker.DefaultMaxConns)
			cfg.MaxKept = cmp.Or(cfg.MaxKept, tracker.DefaultMaxKept)
			base := heapBytes()
			tr := tracker.New(cfg)
			half, peak := feedCapture(t, tr, name, base)
			maxLone := cfg.MaxLone
			if maxLone == 0 {
				maxLone = tracker.DefaultMaxLone
			}
			bound := uint64((cfg.MaxConns+cfg.MaxKept)*connBytes+maxLone*loneBytes) + 4<<20
			what := kind.String() + " flood"
			if kind == numLoneKinds {
				what = "busy server"
			}
			caps := fmt.Sprintf("%s, max-conns %d, keep %d, lone %d", what, cfg.MaxConns, cfg.MaxKept, maxLone)
			t.Logf("%s: live heap %d bytes at half the flood, peak %d, bound %d", caps, half, peak, bound)
			if peak > bound {
				t.Errorf("%s: live heap peaked at %d bytes, bound %d", caps, peak, bound)
			}
			if peak > half+uint64(maxLone*loneBytes) {
				t.Errorf("%s: live heap %d at half the flood, %d at its peak: it grows with the flood", caps, half, peak)
			}
			runtime.KeepAlive(tr)
		}
	}
}

// feedCapture feeds a capture to tr as the command does and returns the
// live heap above base at half the packets and at its peak (sampled every
// 10,000 packets).
func feedCapture(t *testing.T, tr *tracker.Tracker, name string, base uint64) (half, peak uint64) {
	t.Helper()
	eachPacket(t, func(i int, p *capture.Packet) {
		feed(tr, p)
		if i%10_000 == 0 {
			h := heapBytes() - min(base, heapBytes())
			peak = max(peak, h)
		}
		if i == 50_000 || half == 0 && i == 20_000 && testing.Short() {
			half = peak
		}
	}, name)
	tr.Finish()
	return half, max(peak, heapBytes()-min(base, heapBytes()))
}

// TestBusyServerTriggersNoFlood: a healthy server at thousands of
// connections a second (20,000 connections in 6 s), captured whole, from
// its middle on (the first 100,000 packets missing), and one direction
// only, makes no flood finding of any kind.
func TestBusyServerTriggersNoFlood(t *testing.T) {
	conns := 20_000
	if testing.Short() {
		conns = 5_000
	}
	name := synthCapture(t, synth.Config{Seed: 11, Conns: conns, Concurrency: 200, Interval: 20 * time.Microsecond})
	for _, tc := range []struct {
		name string
		keep func(i int, p *capture.Packet) bool
	}{
		{"whole", func(int, *capture.Packet) bool { return true }},
		{"from the middle", func(i int, _ *capture.Packet) bool { return i >= conns*15/3 }},
		{"client to server only", func(_ int, p *capture.Packet) bool { return p.Seg.DstPort == 80 || p.Seg.DstPort == 443 }},
		{"server to client only", func(_ int, p *capture.Packet) bool { return p.Seg.SrcPort == 80 || p.Seg.SrcPort == 443 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := tracker.New(tracker.Config{})
			eachPacket(t, func(i int, p *capture.Packet) {
				if tc.keep(i, p) {
					feed(tr, p)
				}
			}, name)
			tr.Finish()
			for _, a := range tr.Anomalies() {
				switch a.Kind {
				case tracker.SynFlood, tracker.AckFlood, tracker.RstFlood, tracker.FinFlood, tracker.SynackBackscatter:
					t.Errorf("%s: %s", a.Kind, a.Detail)
				}
			}
			t.Logf("%d connections, lone segments %+v", len(tr.Conns()), tr.Lone())
		})
	}
}
