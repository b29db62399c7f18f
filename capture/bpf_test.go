package capture

import (
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestFilterMatchesXNetBPF runs libpcap's programs for a set of filters on
// real and mangled packets through both the interpreter and
// golang.org/x/net/bpf's VM, which must agree whenever the packet was not cut
// (the two differ only in what "len" means for a cut packet).
func TestFilterMatchesXNetBPF(t *testing.T) {
	needLibpcap(t)
	exprs := []string{
		"tcp", "udp", "ip6", "tcp port 443", "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
		"host 192.0.2.1 and not port 22", "net 198.51.100.0/24", "vlan and tcp",
		"ip[2:2] > 60", "tcp[13] = 2", "greater 100", "less 60", "ip6 and tcp dst port 443",
		"pppoes and tcp", "ip proto 6 and ip[6:2] & 0x1fff = 0", "(tcp[12] >> 4) * 4 > 20",
		"ether[12:2] = 0x0800 and ip[9] % 5 = 1",
	}
	pkts := [][]byte{
		eth(0x0800, v4SYN), eth(0x0800, v4Data), eth(0x86dd, v6SYN),
		eth(0x8100, cat(be16(7), be16(0x0800), v4SYN)),
		eth(0x0800, ipv4(17, make([]byte, 8))),
		eth(0x8864, cat([]byte{0x11, 0, 0, 1}, be16(uint16(2+len(v4SYN))), be16(0x0021), v4SYN)),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		p := append([]byte(nil), pkts[rng.IntN(6)]...)
		for range 1 + rng.IntN(4) {
			p[rng.IntN(len(p))] = byte(rng.Uint32())
		}
		pkts = append(pkts, p[:rng.IntN(len(p)+1)])
	}
	for _, expr := range exprs {
		f, err := NewFilter(expr, layers.LinkTypeEthernet)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		prog, _ := f.program(layers.LinkTypeEthernet)
		vm := xnetVM(t, *prog)
		matched := 0
		for i, p := range pkts {
			want, err := vm.Run(p)
			if err != nil {
				t.Fatalf("%s: x/net/bpf: %v", expr, err)
			}
			got := prog.run(p, uint32(len(p)))
			if (got != 0) != (want != 0) {
				t.Errorf("%q on packet %d (% x): interpreter %d, x/net/bpf %d", expr, i, p, got, want)
			}
			if got != 0 {
				matched++
			}
		}
		if matched == 0 && expr != "less 60" {
			t.Errorf("%q matched nothing", expr)
		}
	}
}

func TestFilterNil(t *testing.T) {
	f, err := NewFilter("", layers.LinkTypeEthernet)
	if f != nil || err != nil {
		t.Fatal(f, err)
	}
	if ok, err := f.Match(layers.LinkTypeEthernet, nil, 0); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if f.String() != "" {
		t.Fatal(f.String())
	}
}

func TestBPFValidate(t *testing.T) {
	ret := bpfInsn{code: bpfRET | bpfK, k: 1}
	for _, tc := range []struct {
		name string
		prog bpfProgram
	}{
		{"empty", nil},
		{"no return at the end", bpfProgram{{code: bpfLD | bpfIMM}}},
		{"jump out", bpfProgram{{code: bpfJMP | bpfJA, k: 5}, ret}},
		{"conditional jump out", bpfProgram{{code: bpfJMP | bpfJEQ | bpfK, jt: 0, jf: 3}, ret}},
		{"scratch index", bpfProgram{{code: bpfST, k: 16}, ret}},
		{"load scratch index", bpfProgram{{code: bpfLD | bpfMEM, k: 99}, ret}},
		{"division by zero", bpfProgram{{code: bpfALU | bpfDIV | bpfK, k: 0}, ret}},
	} {
		if err := tc.prog.validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	// Runtime division by X = 0 and unknown opcodes reject the packet.
	for _, p := range []bpfProgram{
		{{code: bpfLDX | bpfIMM, k: 0}, {code: bpfALU | bpfDIV | bpfX}, ret},
		{{code: bpfLDX | bpfIMM, k: 0}, {code: bpfALU | bpfMOD | bpfX}, ret},
		{{code: 0xff}, ret},
	} {
		if err := p.validate(); err != nil {
			t.Fatal(err)
		}
		if got := p.run([]byte{1, 2, 3}, 3); got != 0 {
			t.Errorf("%v: %d", p, got)
		}
	}
}

func TestBPFInstructions(t *testing.T) {
	// Each program computes a value into A and returns it.
	pkt := []byte{0x45, 0x12, 0x34, 0x56, 0x78, 0x9a}
	I := func(code uint16, k uint32) bpfInsn { return bpfInsn{code: code, k: k} }
	retA := I(bpfRET|bpfA, 0)
	for _, tc := range []struct {
		name string
		prog bpfProgram
		want uint32
	}{
		{"ld w abs", bpfProgram{I(bpfLD|bpfW|bpfABS, 1), retA}, 0x12345678},
		{"ld h abs", bpfProgram{I(bpfLD|bpfH|bpfABS, 4), retA}, 0x789a},
		{"ld b abs", bpfProgram{I(bpfLD|bpfB|bpfABS, 5), retA}, 0x9a},
		{"ld past end", bpfProgram{I(bpfLD|bpfW|bpfABS, 3), retA}, 0},
		{"ld len is wire length", bpfProgram{I(bpfLD|bpfW|bpfLEN, 0), retA}, 1000},
		{"ldx len", bpfProgram{I(bpfLDX|bpfW|bpfLEN, 0), I(bpfMISC|bpfTXA, 0), retA}, 1000},
		{"ld ind", bpfProgram{I(bpfLDX|bpfIMM, 2), I(bpfLD|bpfH|bpfIND, 1), retA}, 0x5678},
		{"ld ind b", bpfProgram{I(bpfLDX|bpfIMM, 2), I(bpfLD|bpfB|bpfIND, 3), retA}, 0x9a},
		{"ld ind w", bpfProgram{I(bpfLDX|bpfIMM, 1), I(bpfLD|bpfW|bpfIND, 0), retA}, 0x12345678},
		{"ld ind overflow", bpfProgram{I(bpfLDX|bpfIMM, 0xffffffff), I(bpfLD|bpfB|bpfIND, 2), retA}, 0},
		{"msh", bpfProgram{I(bpfLDX|bpfMSH|bpfB, 0), I(bpfMISC|bpfTXA, 0), retA}, 20},
		{"mem", bpfProgram{I(bpfLD|bpfIMM, 7), I(bpfST, 3), I(bpfLD|bpfIMM, 0), I(bpfLDX|bpfMEM, 3), I(bpfSTX, 4), I(bpfLD|bpfMEM, 4), retA}, 7},
		{"alu k", bpfProgram{I(bpfLD|bpfIMM, 10), I(bpfALU|bpfADD|bpfK, 5), I(bpfALU|bpfMUL|bpfK, 3), I(bpfALU|bpfSUB|bpfK, 1), I(bpfALU|bpfDIV|bpfK, 2), I(bpfALU|bpfMOD|bpfK, 5), I(bpfALU|bpfOR|bpfK, 8), I(bpfALU|bpfAND|bpfK, 0xc), I(bpfALU|bpfXOR|bpfK, 1), I(bpfALU|bpfLSH|bpfK, 4), I(bpfALU|bpfRSH|bpfK, 1), retA}, 0x48},
		{"alu x", bpfProgram{I(bpfLDX|bpfIMM, 3), I(bpfLD|bpfIMM, 10), I(bpfALU|bpfADD|bpfX, 0), I(bpfALU|bpfMUL|bpfX, 0), I(bpfALU|bpfSUB|bpfX, 0), I(bpfALU|bpfDIV|bpfX, 0), I(bpfALU|bpfMOD|bpfX, 0), I(bpfALU|bpfOR|bpfX, 0), I(bpfALU|bpfAND|bpfX, 0), I(bpfALU|bpfXOR|bpfX, 0), I(bpfALU|bpfLSH|bpfX, 0), I(bpfALU|bpfRSH|bpfX, 0), retA}, 0},
		{"shift 32", bpfProgram{I(bpfLD|bpfIMM, 1), I(bpfALU|bpfLSH|bpfK, 32), retA}, 0},
		{"neg", bpfProgram{I(bpfLD|bpfIMM, 1), I(bpfALU|bpfNEG, 0), retA}, 0xffffffff},
		{"tax", bpfProgram{I(bpfLD|bpfIMM, 9), I(bpfMISC|bpfTAX, 0), I(bpfLD|bpfIMM, 0), I(bpfMISC|bpfTXA, 0), retA}, 9},
		{"ja", bpfProgram{I(bpfJMP|bpfJA, 1), I(bpfRET|bpfK, 1), I(bpfRET|bpfK, 2)}, 2},
		{"jgt/jge/jeq/jset k", bpfProgram{
			I(bpfLD|bpfIMM, 5),
			{code: bpfJMP | bpfJGT | bpfK, k: 4, jt: 0, jf: 5},
			{code: bpfJMP | bpfJGE | bpfK, k: 5, jt: 0, jf: 4},
			{code: bpfJMP | bpfJEQ | bpfK, k: 5, jt: 0, jf: 3},
			{code: bpfJMP | bpfJSET | bpfK, k: 4, jt: 0, jf: 2},
			I(bpfRET|bpfK, 1), I(bpfRET|bpfK, 0), I(bpfRET|bpfK, 0),
		}, 1},
		{"jgt/jge/jeq/jset x", bpfProgram{
			I(bpfLD|bpfIMM, 5), I(bpfLDX|bpfIMM, 5),
			{code: bpfJMP | bpfJGT | bpfX, jt: 4, jf: 0},
			{code: bpfJMP | bpfJGE | bpfX, jt: 0, jf: 3},
			{code: bpfJMP | bpfJEQ | bpfX, jt: 0, jf: 2},
			{code: bpfJMP | bpfJSET | bpfX, jt: 0, jf: 1},
			I(bpfRET|bpfK, 1), I(bpfRET|bpfK, 0),
		}, 1},
	} {
		if err := tc.prog.validate(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := tc.prog.run(pkt, 1000); got != tc.want {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
