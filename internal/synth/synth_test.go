package synth_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// readAll writes cfg to a temporary file and reads it back with capture.
func readAll(t testing.TB, cfg synth.Config) ([]capture.Packet, capture.Stats) {
	t.Helper()
	r, err := capture.OpenFiles([]string{synth.TempFile(t, cfg)}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkts []capture.Packet
	for {
		var p capture.Packet
		err := r.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, p)
	}
	return pkts, r.Stats()
}

type flow struct {
	a, b netip.AddrPort
}

func TestConnections(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  synth.Config
	}{
		{"ipv4", synth.Config{Seed: 1, Conns: 300, Concurrency: 40}},
		{"ipv6", synth.Config{Seed: 2, Conns: 300, Concurrency: 40, IPv6: true}},
		{"no data", synth.Config{Seed: 3, Conns: 50, DataRounds: -1}},
		{"snaplen", synth.Config{Seed: 4, Conns: 50, Snaplen: 66}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts, st := readAll(t, tc.cfg)
			rounds := tc.cfg.DataRounds
			if rounds == 0 {
				rounds = 2
			} else if rounds < 0 {
				rounds = 0
			}
			perConn := 3 + 4*rounds + 4
			if want := uint64(tc.cfg.Conns * perConn); st.TCP != want || st.Packets != want {
				t.Fatalf("stats %+v, want %d TCP packets", st, want)
			}
			// Every connection: one SYN, one SYN-ACK, two FINs, and
			// sequence numbers that follow from the payload lengths.
			syns := map[flow]int{}
			fins := map[flow]int{}
			nextSeq := map[netip.AddrPort]map[netip.AddrPort]uint32{}
			var last int64
			maxOpen, open := 0, 0
			for _, p := range pkts {
				s := p.Seg
				if p.Time < last {
					t.Fatalf("packet %d goes back in time", p.Num)
				}
				last = p.Time
				if tc.cfg.IPv6 == s.Src.Is4() {
					t.Fatalf("packet %d: wrong address family %v", p.Num, s.Src.IP())
				}
				src, dst := s.SrcAddrPort(), s.DstAddrPort()
				key := flow{src, dst}
				if s.Flags.Has(tracker.SYN) {
					syns[key]++
					if s.WScale != 7 {
						t.Fatalf("packet %d: SYN without window scale 7: %d", p.Num, s.WScale)
					}
					if !s.Flags.Has(tracker.ACK) {
						open++
						maxOpen = max(maxOpen, open)
					}
				} else if s.WScale != -1 {
					t.Fatalf("packet %d: window scale on a non-SYN", p.Num)
				}
				if s.Flags.Has(tracker.FIN) {
					fins[key]++
					if s.SrcPort == 80 || s.SrcPort == 443 { // the server's FIN ends it
						open--
					}
				}
				m := nextSeq[src]
				if m == nil {
					m = map[netip.AddrPort]uint32{}
					nextSeq[src] = m
				}
				if want, ok := m[dst]; ok && uint32(s.Seq) != want {
					t.Fatalf("packet %d: seq %d, want %d", p.Num, s.Seq, want)
				}
				m[dst] = uint32(s.End())
			}
			if len(syns) != 2*tc.cfg.Conns || len(fins) != 2*tc.cfg.Conns {
				t.Fatalf("%d SYN senders, %d FIN senders, want %d", len(syns), len(fins), 2*tc.cfg.Conns)
			}
			conc := tc.cfg.Concurrency
			if conc == 0 {
				conc = 100
			}
			if maxOpen > conc || maxOpen < min(conc, tc.cfg.Conns)/2 {
				t.Errorf("at most %d connections open at once, want about %d", maxOpen, conc)
			}
		})
	}
}

func TestFlood(t *testing.T) {
	target := netip.MustParseAddrPort("203.0.113.7:443")
	pkts, st := readAll(t, synth.Config{Seed: 5, Flood: 2000, FloodTarget: target, Conns: 10})
	if st.TCP != 2000+10*15 {
		t.Fatalf("%d TCP packets", st.TCP)
	}
	prefix := netip.MustParsePrefix("198.18.0.0/15")
	srcs := map[netip.Addr]bool{}
	for _, p := range pkts {
		if p.Seg.DstAddrPort() != target {
			continue
		}
		if p.Seg.Flags != tracker.SYN {
			t.Fatalf("flood packet %d has flags %v", p.Num, p.Seg.Flags)
		}
		a := p.Seg.Src.IP()
		if !prefix.Contains(a) || srcs[a] {
			t.Fatalf("flood source %v: outside %v or repeated", a, prefix)
		}
		srcs[a] = true
	}
	if len(srcs) != 2000 {
		t.Fatalf("%d flood sources, want 2000", len(srcs))
	}
	// The flood is spread over the capture, not written in one burst: the
	// ten connections' packets are not all at one end.
	firstConn, lastConn := -1, -1
	for i, p := range pkts {
		if p.Seg.DstAddrPort() != target && p.Seg.SrcAddrPort() != target {
			if firstConn < 0 {
				firstConn = i
			}
			lastConn = i
		}
	}
	if firstConn > len(pkts)/4 || lastConn < len(pkts)/2 {
		t.Errorf("connections span packets %d to %d of %d", firstConn, lastConn, len(pkts))
	}
}

func TestDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	cfg := synth.Config{Seed: 9, Conns: 100, Flood: 100}
	if err := synth.Write(&a, cfg); err != nil {
		t.Fatal(err)
	}
	if err := synth.Write(&b, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 10
	if err := synth.Write(&c, cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same seed gave different captures")
	}
	if bytes.Equal(a.Bytes(), c.Bytes()) {
		t.Error("different seeds gave the same capture")
	}
}

func TestErrors(t *testing.T) {
	if err := synth.Write(io.Discard, synth.Config{Flood: 1 << 17}); !errors.Is(err, synth.ErrFloodTooLarge) {
		t.Errorf("huge flood: %v", err)
	}
	if err := synth.Write(io.Discard, synth.Config{Flood: 1 << 18, FloodTarget: netip.MustParseAddrPort("[fd00::2]:80")}); err != nil {
		t.Errorf("IPv6 flood of 2^18 sources: %v", err)
	}
	werr := errors.New("disk full")
	if err := synth.Write(failWriter{werr}, synth.Config{Conns: 10000}); !errors.Is(err, werr) {
		t.Errorf("write error: %v", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

// TestLarge writes a million-packet capture, the size benchmarks use, and
// checks that it is quick. With SYNTH_OUT set it keeps the file there.
func TestLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large capture")
	}
	w := io.Discard
	if out := os.Getenv("SYNTH_OUT"); out != "" {
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	cw := &countWriter{w: w}
	// 50,000 connections of 23 packets and 50,000 flood SYNs: 1.2 M packets.
	if err := synth.Write(cw, synth.Config{Seed: 1, Conns: 50000, Concurrency: 2000, DataRounds: 4, Flood: 50000}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d MB", cw.n>>20)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return c.w.Write(b)
}

func BenchmarkWrite(b *testing.B) {
	cfg := synth.Config{Seed: 1, Conns: 1000, Concurrency: 200, DataRounds: 4}
	const perRun = 1000 * (3 + 16 + 4)
	b.ReportAllocs()
	for b.Loop() {
		if err := synth.Write(io.Discard, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perRun), "ns/packet")
}

// TestMixShares checks that a mixed capture holds each kind of connection
// in about the share asked for, counted on the wire.
func TestMixShares(t *testing.T) {
	const conns = 4000
	mix := synth.Mix{IPv6: 0.2, Aborted: 0.1, Refused: 0.1, Retransmit: 0.1, MaxRounds: 3, Midstream: 0.5}
	pkts, _ := readAll(t, synth.Config{Seed: 11, Conns: conns, Concurrency: 400, Mix: mix})
	var v6Syns, syns, refused, aborted, rtx, synAcks int
	seen := map[flow]uint32{} // a client's highest data end, by flow
	firstIsSYN := map[flow]bool{}
	for _, p := range pkts {
		s := p.Seg
		key := flow{s.SrcAddrPort(), s.DstAddrPort()}
		rkey := flow{key.b, key.a}
		if _, ok := firstIsSYN[key]; !ok {
			if _, ok := firstIsSYN[rkey]; !ok {
				firstIsSYN[key] = s.Flags&(tracker.SYN|tracker.ACK) == tracker.SYN
			}
		}
		switch {
		case s.Flags == tracker.SYN:
			syns++
			if !s.Src.Is4() {
				v6Syns++
			}
		case s.Flags == tracker.SYN|tracker.ACK:
			synAcks++
		case s.Flags.Has(tracker.RST) && (s.SrcPort == 80 || s.SrcPort == 443):
			refused++
		case s.Flags.Has(tracker.RST):
			aborted++
		case s.Payload > 0 && s.DstPort != 80 && s.DstPort != 443:
		case s.Payload > 0:
			if end, ok := seen[key]; ok && uint32(s.End()) <= end {
				rtx++
			}
			seen[key] = uint32(s.End())
		}
	}
	midstream := 0
	for _, syn := range firstIsSYN {
		if !syn {
			midstream++
		}
	}
	near := func(name string, got int, want float64) {
		t.Helper()
		if float64(got) < 0.7*want || float64(got) > 1.3*want {
			t.Errorf("%s: %d, want about %.0f", name, got, want)
		}
	}
	near("SYNs", syns, conns*(1-0.5*0.9*400/conns))
	near("IPv6 SYNs", v6Syns, 0.2*float64(syns))
	near("refused", refused, 0.1*conns)
	near("aborted", aborted, 0.1*conns)
	near("retransmitted data", rtx, 0.1*conns*0.75) // (those with no data round send none)
	near("picked up mid-stream", midstream, 0.5*400*0.9)
	if refused+synAcks > syns+400 {
		t.Errorf("%d refused and %d SYN-ACKs for %d SYNs", refused, synAcks, syns)
	}
}

// TestSteadyFlood: with Mix.SteadyFlood the flood's SYNs are spread evenly
// over the capture, not gathered at its start.
func TestSteadyFlood(t *testing.T) {
	target := netip.MustParseAddrPort("[fd00::2:0:0:1]:80")
	pkts, _ := readAll(t, synth.Config{Seed: 12, Conns: 2000, Concurrency: 200, Flood: 1000, FloodTarget: target,
		Mix: synth.Mix{MaxRounds: 2, SteadyFlood: true}})
	var quarters [4]int
	for i, p := range pkts {
		if p.Seg.DstAddrPort() == target && p.Seg.Flags == tracker.SYN && p.Seg.Src.IP().Is6() {
			quarters[4*i/len(pkts)]++
		}
	}
	for q, n := range quarters {
		if n < 150 || n > 350 {
			t.Errorf("flood SYNs by quarter of the capture %v: quarter %d has %d, want about 250", quarters, q+1, n)
		}
	}
}
