package capture

import (
	"io"
	"os"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"

	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// The benchmarks read a synthetic capture of 2,000 connections (46,000
// packets, full payloads averaging ~250 bytes) and report ns/packet.
var benchFiles struct {
	once      sync.Once
	dir       string
	pcap, ng  string
	pkts      [][]byte
	benchErrs error
}

func benchSetup(b *testing.B) {
	benchFiles.once.Do(func() {
		dir, err := os.MkdirTemp("", "capture-bench")
		if err != nil {
			benchFiles.benchErrs = err
			return
		}
		benchFiles.dir = dir
		f, err := os.Create(dir + "/bench.pcap")
		if err != nil {
			benchFiles.benchErrs = err
			return
		}
		err = synth.Write(f, synth.Config{Seed: 1, Conns: 2000, Concurrency: 200, DataRounds: 4})
		f.Close()
		if err != nil {
			benchFiles.benchErrs = err
			return
		}
		benchFiles.pcap = f.Name()
		benchFiles.ng = dir + "/bench.pcapng"
		if err := os.WriteFile(benchFiles.ng, pcapToPcapng(b, f.Name()), 0o644); err != nil {
			benchFiles.benchErrs = err
			return
		}
		// Keep a copy of the first packets in memory for the decode-only
		// benchmarks.
		src, err := openFile(f.Name(), &buffers{})
		if err != nil {
			benchFiles.benchErrs = err
			return
		}
		defer src.close()
		for range 4096 {
			data, _, _, err := src.readPacket()
			if err != nil {
				benchFiles.benchErrs = err
				return
			}
			benchFiles.pkts = append(benchFiles.pkts, append([]byte(nil), data...))
		}
	})
	if benchFiles.benchErrs != nil {
		b.Fatal(benchFiles.benchErrs)
	}
}

// BenchmarkRead is the read-only baseline: the format reader alone, packets
// in and nothing done with them.
func BenchmarkRead(b *testing.B) {
	benchSetup(b)
	for _, name := range []string{"pcap", "pcapng"} {
		file := benchFiles.pcap
		if name == "pcapng" {
			file = benchFiles.ng
		}
		b.Run(name, func(b *testing.B) {
			var bufs buffers
			src, err := openFile(file, &bufs)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_, _, _, err := src.readPacket()
				if err == io.EOF {
					src.close()
					b.StopTimer()
					src, err = openFile(file, &bufs)
					b.StartTimer()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			src.close()
		})
	}
}

// BenchmarkReadDecode is Reader.Next: read, number, time and decode. It is
// the decode-only baseline end-to-end benchmarks compare to.
func BenchmarkReadDecode(b *testing.B) {
	benchSetup(b)
	for _, tc := range []struct{ name, filter string }{
		{"pcap", ""}, {"pcapng", ""}, {"pcap+filter", "tcp port 80 or tcp port 443"},
	} {
		file := benchFiles.pcap
		if tc.name == "pcapng" {
			file = benchFiles.ng
		}
		b.Run(tc.name, func(b *testing.B) {
			r, err := OpenFiles([]string{file}, tc.filter)
			if err != nil {
				b.Fatal(err)
			}
			var p Packet
			b.ReportAllocs()
			for b.Loop() {
				err := r.Next(&p)
				if err == io.EOF {
					b.StopTimer()
					r, err = OpenFiles([]string{file}, tc.filter)
					if err == nil {
						err = r.Next(&p)
					}
					b.StartTimer()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			r.Close()
		})
	}
}

// BenchmarkDecode is the decoder alone, on packets in memory.
func BenchmarkDecode(b *testing.B) { benchDecode(b, &Decoder{}) }

// benchDecode runs d over the benchmark's packets in memory.
func benchDecode(b *testing.B, d *Decoder) {
	benchSetup(b)
	pkts := benchFiles.pkts
	var seg tracker.Segment
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pkts[i&(len(pkts)-1)]
		d.Decode(layers.LinkTypeEthernet, p, len(p), &seg)
		i++
	}
}

// BenchmarkDecodeGopacket is the same work done with gopacket's
// DecodingLayerParser into reused layers, for comparison with the
// hand-written decoder.
func BenchmarkDecodeGopacket(b *testing.B) {
	benchSetup(b)
	pkts := benchFiles.pkts
	var (
		eth   layers.Ethernet
		dot1q layers.Dot1Q
		ip4   layers.IPv4
		ip6   layers.IPv6
		tcp   layers.TCP
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var seg tracker.Segment
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p := pkts[i&(len(pkts)-1)]
		i++
		parser.DecodeLayers(p, &decoded)
		var v4, v6 bool
		for _, lt := range decoded {
			switch lt {
			case layers.LayerTypeIPv4:
				v4 = true
			case layers.LayerTypeIPv6:
				v6 = true
			case layers.LayerTypeTCP:
				if v4 {
					seg.Src = tracker.AddrFrom4([4]byte(ip4.SrcIP.To4()))
					seg.Dst = tracker.AddrFrom4([4]byte(ip4.DstIP.To4()))
					seg.Payload = uint32(int(ip4.Length) - int(ip4.IHL)*4 - int(tcp.DataOffset)*4)
				} else if v6 {
					seg.Src = tracker.AddrFrom16([16]byte(ip6.SrcIP.To16()))
					seg.Dst = tracker.AddrFrom16([16]byte(ip6.DstIP.To16()))
				}
				seg.SrcPort, seg.DstPort = uint16(tcp.SrcPort), uint16(tcp.DstPort)
				seg.Seq, seg.Ack = seqnum.Value(tcp.Seq), seqnum.Value(tcp.Ack)
				seg.Window = tcp.Window
				seg.WScale = -1
				for _, o := range tcp.Options {
					if o.OptionType == layers.TCPOptionKindWindowScale && len(o.OptionData) == 1 {
						seg.WScale = int8(o.OptionData[0])
					}
				}
			}
		}
	}
}

// BenchmarkFilter compares the BPF interpreter with golang.org/x/net/bpf's
// VM on the same libpcap program.
func BenchmarkFilter(b *testing.B) {
	needLibpcap(b)
	benchSetup(b)
	pkts := benchFiles.pkts
	const expr = "tcp port 80 or tcp port 443"
	f, err := NewFilter(expr, layers.LinkTypeEthernet)
	if err != nil {
		b.Fatal(err)
	}
	prog, _ := f.program(layers.LinkTypeEthernet)
	b.Run("interpreter", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := pkts[i&(len(pkts)-1)]
			i++
			prog.run(p, uint32(len(p)))
		}
	})
	b.Run("x/net/bpf", func(b *testing.B) {
		vm := xnetVM(b, *prog)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			p := pkts[i&(len(pkts)-1)]
			i++
			vm.Run(p)
		}
	})
}

func xnetVM(tb testing.TB, p bpfProgram) *bpf.VM {
	raw := make([]bpf.RawInstruction, len(p))
	for i, in := range p {
		raw[i] = bpf.RawInstruction{Op: in.code, Jt: in.jt, Jf: in.jf, K: in.k}
	}
	insns, ok := bpf.Disassemble(raw)
	if !ok {
		tb.Fatal("x/net/bpf cannot disassemble the program")
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		tb.Fatal(err)
	}
	return vm
}
