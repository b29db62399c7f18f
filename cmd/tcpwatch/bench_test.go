package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/internal/synth"
	"github.com/tcpwatch/tcpwatch/tracker"
)

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

// benchCapture returns a synthetic capture of about a million packets in
// 50,000 connections, many open at once. It is written once into the
// system's temporary directory and reused by later runs (the generator is
// seeded, so it is the same file), so repeated benchmark runs do not
// leave a copy each behind.
func benchCapture(b *testing.B) string {
	benchOnce.Do(func() {
		benchFile = filepath.Join(os.TempDir(), "tcpwatch-bench-v1.pcap")
		if fi, err := os.Stat(benchFile); err == nil && fi.Size() > 0 {
			return
		}
		benchErr = writeBenchCapture(benchFile)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

// writeBenchCapture writes the capture beside name and renames it into
// place, so that a run stopped half-way leaves no partial file to reuse.
func writeBenchCapture(name string) error {
	f, err := os.CreateTemp(filepath.Dir(name), "tcpwatch-bench-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	if err := synth.Write(w, synth.Config{Seed: 1, Conns: 50_000, Concurrency: 2_000, DataRounds: 5}); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// readAll reads the capture once, handing every TCP segment to observe.
func readAll(b *testing.B, name string, observe func(*capture.Packet)) uint64 {
	return readAllWith(b, name, nil, observe)
}

// readAllWith is readAll with the reader set up by setup (if not nil)
// before the first packet.
func readAllWith(b *testing.B, name string, setup func(*capture.Reader), observe func(*capture.Packet)) uint64 {
	rd, err := capture.OpenFiles([]string{name}, "")
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	if setup != nil {
		setup(rd)
	}
	var p capture.Packet
	for {
		err := rd.Next(&p)
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		observe(&p)
	}
	return rd.Stats().Packets
}

// BenchmarkDecodeOnly is the baseline: read and decode every packet.
func BenchmarkDecodeOnly(b *testing.B) {
	name := benchCapture(b)
	b.ReportAllocs()
	var pkts uint64
	var sink uint32
	for b.Loop() {
		pkts += readAll(b, name, func(p *capture.Packet) { sink += p.Seg.Payload })
	}
	reportRate(b, pkts)
}

// BenchmarkEndToEnd reads, decodes and tracks every packet: tcpwatch's
// whole packet path on a file.
func BenchmarkEndToEnd(b *testing.B) {
	name := benchCapture(b)
	b.ReportAllocs()
	var pkts uint64
	for b.Loop() {
		tr := tracker.New(tracker.Config{})
		pkts += readAll(b, name, func(p *capture.Packet) {
			if p.Kind == capture.TCP {
				tr.Observe(&p.Seg)
			} else {
				tr.Advance(p.Time)
			}
		})
		tr.Finish()
	}
	reportRate(b, pkts)
}

func reportRate(b *testing.B, pkts uint64) {
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(pkts)/s, "packets/s")
	b.ReportMetric(s*1e9/float64(pkts), "ns/packet")
	b.ReportMetric(float64(pkts)/float64(b.N), "packets/op")
}

// BenchmarkTrackOnly isolates the tracker: the capture is decoded once into
// memory, and only Observe is timed.
func BenchmarkTrackOnly(b *testing.B) {
	name := benchCapture(b)
	var segs []tracker.Segment
	readAll(b, name, func(p *capture.Packet) {
		if p.Kind == capture.TCP {
			segs = append(segs, p.Seg)
		}
	})
	b.ReportAllocs()
	b.ResetTimer()
	var pkts uint64
	for b.Loop() {
		tr := tracker.New(tracker.Config{})
		for i := range segs {
			tr.Observe(&segs[i])
		}
		tr.Finish()
		pkts += uint64(len(segs))
	}
	reportRate(b, pkts)
}

// BenchmarkDecodeOnlyGopacket is the reference the design started from:
// pcapgo's zero-copy reader through a large buffer, and gopacket's
// DecodingLayerParser into reused layers, on the same capture.
func BenchmarkDecodeOnlyGopacket(b *testing.B) {
	name := benchCapture(b)
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		decoded = make([]gopacket.LayerType, 0, 4)
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp)
	parser.IgnoreUnsupported = true
	b.ReportAllocs()
	var pkts uint64
	var sink uint32
	for b.Loop() {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			b.Fatal(err)
		}
		for {
			data, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			pkts++
			if err := parser.DecodeLayers(data, &decoded); err == nil && len(decoded) > 0 && decoded[len(decoded)-1] == layers.LayerTypeTCP {
				sink += tcp.Seq
			}
		}
		f.Close()
	}
	reportRate(b, pkts)
}

// scaleCaptures writes the captures of the scale measurements (medium:
// 360 MB, large: 1.8 GB) into a temporary directory when a benchmark first
// needs one, and removes them when BenchmarkScale returns.
type scaleCaptures struct {
	dir   string
	names map[string]string
}

func (sc *scaleCaptures) get(b *testing.B, mix string) string {
	if name, ok := sc.names[mix]; ok {
		return name
	}
	cfg := map[string]synth.Config{"medium": synth.Medium(1), "large": synth.Large(1)}[mix]
	name := filepath.Join(sc.dir, mix+".pcap")
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := synth.Write(f, cfg); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	sc.names[mix] = name
	return name
}

// naiveConn is the floor's whole per-connection state: what a tracker
// that follows flags alone keeps.
type naiveConn struct {
	packets       uint64
	syn, fin, rst uint8
}

// BenchmarkScale measures, on the medium and large captures: decode only;
// the floor, decode and a naive Go-map tracker keyed by the 4-tuple that
// follows flags alone; on medium, the tracker alone, fed batches decoded
// beforehand as analyzePipelined feeds it; and tcpwatch's analysis with
// one goroutine and with reading on a second (analyzePipelined), each
// followed by Finish.
func BenchmarkScale(b *testing.B) {
	sc := &scaleCaptures{dir: b.TempDir(), names: map[string]string{}}
	for _, mix := range []string{"medium", "large"} {
		b.Run(mix+"/decode", func(b *testing.B) {
			name := sc.get(b, mix)
			var pkts uint64
			var sink uint32
			for b.Loop() {
				pkts += readAll(b, name, func(p *capture.Packet) { sink += p.Seg.Payload })
			}
			reportRate(b, pkts)
		})
		b.Run(mix+"/naive-map", func(b *testing.B) {
			name := sc.get(b, mix)
			var pkts uint64
			for b.Loop() {
				m := map[[2]netip.AddrPort]*naiveConn{}
				pkts += readAll(b, name, func(p *capture.Packet) {
					if p.Kind != capture.TCP {
						return
					}
					a, z := p.Seg.SrcAddrPort(), p.Seg.DstAddrPort()
					if z.Compare(a) < 0 {
						a, z = z, a
					}
					c := m[[2]netip.AddrPort{a, z}]
					if c == nil {
						c = new(naiveConn)
						m[[2]netip.AddrPort{a, z}] = c
					}
					c.packets++
					f := p.Seg.Flags
					c.syn += uint8(f & tracker.SYN >> 1)
					c.fin += uint8(f & tracker.FIN)
					c.rst += uint8(f & tracker.RST >> 2)
				})
			}
			reportRate(b, pkts)
		})
		if mix == "medium" {
			b.Run(mix+"/track", func(b *testing.B) { benchmarkTrackBatches(b, sc.get(b, mix)) })
			b.Run(mix+"/fanin", func(b *testing.B) { benchmarkFanin(b, sc.get(b, mix)) })
		}
		for _, w := range []struct {
			name string
			loop func(*capture.Reader, *tracker.Tracker, uint64, *fileOrder, *progress) (bool, bool, error)
		}{{"tcpwatch-1", analyze}, {"tcpwatch-2", analyzePipelined}} {
			b.Run(mix+"/"+w.name, func(b *testing.B) {
				name := sc.get(b, mix)
				b.ReportAllocs()
				var pkts uint64
				for b.Loop() {
					rd, err := capture.OpenFiles([]string{name}, "")
					if err != nil {
						b.Fatal(err)
					}
					tr := tracker.New(tracker.Config{})
					if _, _, err := w.loop(rd, tr, 0, &fileOrder{file: -1}, nil); err != nil {
						b.Fatal(err)
					}
					tr.Finish()
					pkts += rd.Stats().Packets
					rd.Close()
				}
				reportRate(b, pkts)
			})
		}
	}
}

// benchmarkFanin reads a capture file as a live capture on an AF_PACKET
// ring is read (the packets decoded and hashed on the reader's goroutine,
// merged and tracked on this one: fanin), the whole process's loop but for
// the clock and the view.
func benchmarkFanin(b *testing.B, name string) {
	b.ReportAllocs()
	var n uint64
	for b.Loop() {
		rd, err := capture.OpenFiles([]string{name}, "")
		if err != nil {
			b.Fatal(err)
		}
		tr := tracker.New(tracker.Config{})
		f := startFanin([]*capture.Reader{rd}, nil, tr)
		use := func(p *capture.Packet, h tracker.FlowHash) bool {
			feedHashed(tr, p, h)
			return true
		}
		for err == nil {
			f.take(<-f.full)
			_, err = f.merge(use)
		}
		f.stop()
		rd.Close()
		if err != io.EOF {
			b.Fatal(err)
		}
		tr.Finish()
		n += f.stats.Packets
	}
	reportRate(b, n)
}

// benchmarkTrackBatches feeds the tracker a capture's packets, decoded
// beforehand (in memory: 250 MB for medium) and hashed untimed, in batches
// as analyzePipelined does, and finishes it.
func benchmarkTrackBatches(b *testing.B, name string) {
	var pkts []capture.Packet
	readAll(b, name, func(p *capture.Packet) { pkts = append(pkts, *p) })
	hashes := make([]tracker.FlowHash, len(pkts))
	b.ReportAllocs()
	b.ResetTimer()
	var n uint64
	for b.Loop() {
		b.StopTimer() // (the reader's goroutine hashes)
		tr := tracker.New(tracker.Config{})
		h := tr.Hasher()
		for i := range pkts {
			if pkts[i].Kind == capture.TCP {
				hashes[i] = h.Hash(&pkts[i].Seg)
			}
		}
		b.StartTimer()
		for i := 0; i < len(pkts); i += batchSize {
			end := min(i+batchSize, len(pkts))
			feedBatch(tr, pkts[i:end], hashes[i:end])
		}
		tr.Finish()
		n += uint64(len(pkts))
	}
	reportRate(b, n)
}

// BenchmarkTrackOpenAtOnce is Scale/medium/track on a quarter of the
// medium mix (40,000 connections and 10,000 flood SYNs) with 20 or 5,000
// connections open at once: with 20, every record the tracker reads stays
// in the cache, so the difference is what waiting for memory costs.
func BenchmarkTrackOpenAtOnce(b *testing.B) {
	for _, open := range []int{20, 5000} {
		b.Run(fmt.Sprintf("open=%d", open), func(b *testing.B) {
			cfg := synth.Medium(1)
			cfg.Conns, cfg.Flood, cfg.Concurrency = 40_000, 10_000, open
			benchmarkTrackBatches(b, synthCapture(b, cfg))
		})
	}
}
