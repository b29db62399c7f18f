package synth_test

import (
	"maps"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
)

func TestLoneFloodSendsEachKindFromDistinctSources(t *testing.T) {
	target := netip.MustParseAddrPort("[fd00::2]:80")
	for _, tc := range []struct {
		kind    synth.LoneKind
		flags   tracker.Flags
		sources int
	}{
		{synth.LoneACK, tracker.ACK, 0},
		{synth.LoneRST, tracker.RST, 0},
		{synth.LoneSYNACK, tracker.SYN | tracker.ACK, 0},
		{synth.LoneFINACK, tracker.FIN | tracker.ACK, 0},
		{synth.LoneSYN, tracker.SYN, 0},
		{synth.LoneACK, tracker.ACK, 300},
	} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			cfg := synth.Config{Seed: 3, Conns: 5, Lone: 3000, LoneKind: tc.kind, LoneSources: tc.sources,
				FloodTarget: target, Interval: 10 * time.Microsecond}
			pkts, st := readAll(t, cfg)
			if st.TCP != 3000+5*15 {
				t.Fatalf("%d TCP packets, want %d", st.TCP, 3000+5*15)
			}
			srcs, tuples := map[netip.Addr]bool{}, map[[2]netip.AddrPort]bool{}
			conns := 0
			for _, p := range pkts {
				s := &p.Seg
				if s.Src.IP().Is4() {
					conns++
					continue
				}
				if s.Flags != tc.flags {
					t.Fatalf("flood packet %d has flags %v, want %v", p.Num, s.Flags, tc.flags)
				}
				to := s.DstAddrPort()
				if tc.flags == tracker.SYN|tracker.ACK {
					to = netip.AddrPortFrom(to.Addr(), 80) // backscatter: to any port of the target
				}
				if to != target {
					t.Fatalf("flood packet %d to %v, want %v", p.Num, s.DstAddrPort(), target)
				}
				srcs[s.Src.IP()] = true
				tuples[[2]netip.AddrPort{s.SrcAddrPort(), s.DstAddrPort()}] = true
			}
			want := 3000
			if tc.sources > 0 {
				want = tc.sources
			}
			if len(srcs) != want || len(tuples) < 2990 {
				t.Errorf("%d sources, %d 4-tuples; want %d sources and about 3000 4-tuples", len(srcs), len(tuples), want)
			}
			if conns != 5*15 {
				t.Errorf("%d connection packets, want %d", conns, 5*15)
			}
		})
	}
}

// The connections of a lone flood are spread over it, each one's packets
// a round trip apart, so that their handshakes look like a real client's.
func TestLoneFloodSpreadsConnections(t *testing.T) {
	cfg := synth.Config{Seed: 4, Conns: 4, Lone: 4000, LoneKind: synth.LoneMixed,
		FloodTarget: netip.MustParseAddrPort("[fd00::2]:80"), Interval: 10 * time.Microsecond}
	pkts, _ := readAll(t, cfg)
	first := map[netip.AddrPort]int{}
	last := map[netip.AddrPort]int64{}
	for i, p := range pkts {
		if !p.Seg.Src.IP().Is4() {
			continue
		}
		c := p.Seg.SrcAddrPort()
		if p.Seg.SrcPort == 80 || p.Seg.SrcPort == 443 {
			c = p.Seg.DstAddrPort()
		}
		if _, ok := first[c]; !ok {
			first[c] = i
		} else if gap := p.Time - last[c]; gap < int64(200*time.Microsecond) || gap > int64(time.Millisecond) {
			t.Errorf("connection %v: %v between packets", c, time.Duration(gap))
		}
		last[c] = p.Time
	}
	if len(first) != 4 {
		t.Fatalf("%d connections, want 4", len(first))
	}
	starts := slices.Sorted(maps.Values(first))
	for k, i := range starts {
		if f, want := float64(i)/float64(len(pkts)), float64(2*k+1)/8; math.Abs(f-want) > 0.05 {
			t.Errorf("connection %d starts at packet %d of %d, want about %.0f%% of the way", k, i, len(pkts), 100*want)
		}
	}
}
