package degrade

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

var (
	cli = netip.MustParseAddrPort("198.18.0.1:40000")
	srv = netip.MustParseAddrPort("198.18.0.2:8080")
)

// pkt is a TCP packet from src to dst at time ms (milliseconds).
func pkt(ms int64, src, dst netip.AddrPort, f tracker.Flags, seq uint32) capture.Packet {
	s := tracker.Segment{
		Time: ms * 1e6, Src: tracker.AddrFrom4(src.Addr().As4()), Dst: tracker.AddrFrom4(dst.Addr().As4()),
		SrcPort: src.Port(), DstPort: dst.Port(), Flags: f, Seq: seqnum.Value(seq), WScale: -1,
	}
	return capture.Packet{Time: s.Time, Kind: capture.TCP, Seg: s}
}

// numbered numbers packets from 1, as the reader does.
func numbered(pkts ...capture.Packet) []capture.Packet {
	for i := range pkts {
		pkts[i].Num = uint64(i + 1)
		pkts[i].Seg.Packet = pkts[i].Num
	}
	return pkts
}

// nums lists the packets' numbers.
func nums(pkts []capture.Packet) []uint64 {
	var n []uint64
	for _, p := range pkts {
		n = append(n, p.Num)
	}
	return n
}

// handshakeAndClose is a whole connection, the client closing first.
func handshakeAndClose(t0 int64, c netip.AddrPort, isn uint32) []capture.Packet {
	return []capture.Packet{
		pkt(t0, c, srv, tracker.SYN, isn),
		pkt(t0+1, srv, c, tracker.SYN|tracker.ACK, 5000),
		pkt(t0+2, c, srv, tracker.ACK, isn+1),
		pkt(t0+3, c, srv, tracker.FIN|tracker.ACK, isn+1),
		pkt(t0+4, srv, c, tracker.FIN|tracker.ACK, 5001),
		pkt(t0+5, c, srv, tracker.ACK, isn+2),
	}
}

func TestLossIsReproducibleAndKeepsNonTCP(t *testing.T) {
	var in []capture.Packet
	for i := range 1000 {
		in = append(in, pkt(int64(i), cli, srv, tracker.ACK, 1))
	}
	in = append(in, capture.Packet{Time: 2000, Kind: capture.NotTCP})
	in = numbered(in...)
	a, b, c := Loss(in, 0.1, 7), Loss(in, 0.1, 7), Loss(in, 0.1, 8)
	if !slices.Equal(nums(a), nums(b)) {
		t.Error("the same seed dropped different packets")
	}
	if slices.Equal(nums(a), nums(c)) {
		t.Error("seeds 7 and 8 dropped the same packets")
	}
	if n := len(in) - len(a); n < 70 || n > 130 {
		t.Errorf("10%% loss of 1000 packets dropped %d", n)
	}
	if all := Loss(in, 1, 1); len(all) != 1 || all[0].Kind != capture.NotTCP {
		t.Errorf("loss 1 kept %v, want only the non-TCP packet", nums(all))
	}
	if len(in) != 1001 || in[0].Num != 1 {
		t.Error("Loss modified its input")
	}
}

func TestOneSideKeepsOneDirection(t *testing.T) {
	in := numbered(handshakeAndClose(0, cli, 100)...)
	roles := RolesOf([]Row{{Client: cli, Server: srv}})
	if got := nums(OneSide(in, ClientToServer, roles)); !slices.Equal(got, []uint64{1, 3, 4, 6}) {
		t.Errorf("c2s kept %v", got)
	}
	if got := nums(OneSide(in, ServerToClient, roles)); !slices.Equal(got, []uint64{2, 5}) {
		t.Errorf("s2c kept %v", got)
	}
	byAddr := ClientEndpoint(cli.Addr(), 0)
	if got := nums(OneSide(in, ServerToClient, byAddr)); !slices.Equal(got, []uint64{2, 5}) {
		t.Errorf("s2c with the client's address kept %v", got)
	}
	other := RolesOf([]Row{{Client: netip.MustParseAddrPort("10.0.0.1:1"), Server: srv}})
	if got := OneSide(in, ClientToServer, other); len(got) != len(in) {
		t.Errorf("segments of an unknown connection dropped: kept %v", nums(got))
	}
}

func TestLateStartDropsTheFirstPacketsOfEachConnection(t *testing.T) {
	other := netip.MustParseAddrPort("198.18.0.1:40001")
	in := handshakeAndClose(0, cli, 100)                              // 1-6
	in = append(in, pkt(10, other, srv, tracker.SYN, 300))            // 7
	in = append(in, pkt(11, other, srv, tracker.SYN, 300))            // 8: retransmitted, same connection
	in = append(in, pkt(12, other, srv, tracker.ACK, 301))            // 9
	in = append(in, handshakeAndClose(20, cli, 900)...)               // 10-15: port reuse, new ISN
	in = append(in, capture.Packet{Time: 30e6, Kind: capture.NotTCP}) // 16
	in = numbered(in...)
	got := nums(LateStart(in, 2))
	want := []uint64{3, 4, 5, 6, 9, 12, 13, 14, 15, 16}
	if !slices.Equal(got, want) {
		t.Errorf("late 2 kept %v, want %v", got, want)
	}
}

func TestSwapExchangesPacketsNotTimes(t *testing.T) {
	var in []capture.Packet
	for i := range 200 {
		in = append(in, pkt(int64(i), cli, srv, tracker.ACK, uint32(i)))
	}
	in = numbered(in...)
	out := Swap(in, 0.5, 3)
	swapped := 0
	for i := range out {
		if out[i].Time != in[i].Time || out[i].Seg.Time != in[i].Time {
			t.Fatalf("position %d: time %d, was %d", i, out[i].Time, in[i].Time)
		}
		if out[i].Num != in[i].Num {
			swapped++
			if j := out[i].Num - 1; uint64(i) != j+1 && uint64(i)+1 != j {
				t.Fatalf("position %d holds packet %d: not a neighbour", i, out[i].Num)
			}
		}
	}
	if swapped == 0 || swapped%2 != 0 {
		t.Errorf("%d packets moved", swapped)
	}
	if !slices.Equal(nums(Swap(in, 0.5, 3)), nums(out)) {
		t.Error("the same seed swapped different pairs")
	}
}

func TestPlanFlags(t *testing.T) {
	for _, c := range []struct {
		p    Plan
		want string
	}{
		{Plan{}, ""},
		{Plan{Loss: 0.05, Seed: 3}, "-loss 0.05 -seed 3"},
		{Plan{Only: ServerToClient}, "-only s2c"},
		{Plan{Late: 2}, "-late 2"},
		{Plan{Swap: 0.05, Seed: 20}, "-swap 0.05 -seed 20"},
	} {
		if got := c.p.Flags(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

func TestReadStates(t *testing.T) {
	rows, err := ReadStates("../../testdata/pcaps/port-reuse.states")
	if err != nil {
		t.Fatal(err)
	}
	want := Row{netip.MustParseAddrPort("198.18.0.1:50123"), srv, [2]tracker.State{tracker.Established, tracker.Established}}
	if len(rows) != 3 || rows[2] != want {
		t.Errorf("port-reuse.states: %v", rows)
	}
}
