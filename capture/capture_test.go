package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/internal/synth"
)

var t0 = time.Date(2026, 11, 21, 7, 34, 30, 142095123, time.UTC)

// writeFile writes b to a file in a fresh temporary directory.
func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads every packet of names and returns them with the error that
// ended the read (nil at a clean end).
func readAll(t testing.TB, names []string, filter string) ([]Packet, Stats, error) {
	t.Helper()
	r, err := OpenFiles(names, filter)
	if err != nil {
		return nil, Stats{}, err
	}
	defer r.Close()
	var pkts []Packet
	for {
		var p Packet
		err := r.Next(&p)
		if err == io.EOF {
			return pkts, r.Stats(), nil
		}
		if err != nil {
			// The error is final.
			if err2 := r.Next(&p); err2 != err {
				t.Errorf("Next after %v returned %v", err, err2)
			}
			return pkts, r.Stats(), err
		}
		pkts = append(pkts, p)
	}
}

var (
	ethSYN  = eth(0x0800, v4SYN)
	ethData = eth(0x0800, v4Data)
	rawSYN6 = v6SYN
)

func TestFormats(t *testing.T) {
	t1 := t0.Add(1500 * time.Millisecond)
	recs := []rec{{ts: t0, data: ethSYN}, {ts: t1, data: ethData}}
	us := func(t time.Time) int64 { return t.Truncate(time.Microsecond).UnixNano() }
	ns := func(t time.Time) int64 { return t.UnixNano() }

	ng := func(o order) []byte {
		b := &ngBuilder{order: o}
		b.section().iface(layers.LinkTypeEthernet, 0).iface(layers.LinkTypeRaw, 9)
		b.packet(rec{ts: t0, data: ethSYN, iface: 0})
		b.packet(rec{ts: t1, data: rawSYN6, iface: 1})
		// A second section with its own interfaces and resolutions.
		b.section().iface(layers.LinkTypeLinuxSLL2, 3).iface(layers.LinkTypeEthernet, 6)
		b.packet(rec{ts: t1, data: eth(0x0800, v4Data), iface: 1})
		b.packet(rec{ts: t1, data: cat(be16(0x0800), make([]byte, 18), v4Data), iface: 0})
		return b.bytes()
	}
	ngTimes := []int64{us(t0), ns(t1), us(t1), t1.Truncate(time.Millisecond).UnixNano()}

	for _, tc := range []struct {
		name  string
		file  []byte
		times []int64
	}{
		{"pcap µs little-endian", pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, recs...), []int64{us(t0), us(t1)}},
		{"pcap µs big-endian", pcapFile(binary.BigEndian, false, layers.LinkTypeEthernet, recs...), []int64{us(t0), us(t1)}},
		{"pcap ns little-endian", pcapFile(binary.LittleEndian, true, layers.LinkTypeEthernet, recs...), []int64{ns(t0), ns(t1)}},
		{"pcap ns big-endian", pcapFile(binary.BigEndian, true, layers.LinkTypeEthernet, recs...), []int64{ns(t0), ns(t1)}},
		{"pcap gzip", gz(t, pcapFile(binary.LittleEndian, true, layers.LinkTypeEthernet, recs...)), []int64{ns(t0), ns(t1)}},
		{"pcapng little-endian", ng(binary.LittleEndian), ngTimes},
		{"pcapng big-endian", ng(binary.BigEndian), ngTimes},
		{"pcapng gzip", gz(t, ng(binary.BigEndian)), ngTimes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts, st, err := readAll(t, []string{writeFile(t, "x", tc.file)}, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) != len(tc.times) {
				t.Fatalf("%d packets, want %d", len(pkts), len(tc.times))
			}
			for i, p := range pkts {
				if p.Kind != TCP {
					t.Errorf("packet %d: %v", i+1, p.Kind)
				}
				if p.Num != uint64(i+1) || p.Seg.Packet != p.Num {
					t.Errorf("packet %d: Num %d, Seg.Packet %d", i+1, p.Num, p.Seg.Packet)
				}
				if p.Time != tc.times[i] || p.Seg.Time != p.Time {
					t.Errorf("packet %d: time %v (seg %v), want %v", i+1, time.Unix(0, p.Time).UTC(), p.Seg.Time, time.Unix(0, tc.times[i]).UTC())
				}
			}
			if st.Packets != uint64(len(pkts)) || st.TCP != st.Packets || st.First != tc.times[0] || st.Last != tc.times[len(tc.times)-1] {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestPcapngWriter reads what gopacket's own pcapng writer writes.
func TestPcapngWriter(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet, TimestampResolution: 9}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL, TimestampResolution: 6})
	if err != nil {
		t.Fatal(err)
	}
	sll := cat([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, be16(0x86dd), rawSYN6)
	for i, d := range [][]byte{ethSYN, sll, ethData} {
		ci := ciFor(t0.Add(time.Duration(i)*time.Second), d)
		if i == 1 {
			ci.InterfaceIndex = id
		}
		if err := w.WritePacket(ci, d); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	pkts, _, err := readAll(t, []string{writeFile(t, "w.pcapng", buf.Bytes())}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 3 || pkts[0].Kind != TCP || pkts[1].Kind != TCP || pkts[1].Seg.Src.Is4() || pkts[2].Seg.Payload != 100 {
		t.Fatalf("%+v", pkts)
	}
}

func TestStdin(t *testing.T) {
	name := writeFile(t, "in.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}))
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	pkts, _, err := readAll(t, []string{"-"}, "")
	if err != nil || len(pkts) != 1 || pkts[0].Kind != TCP {
		t.Fatalf("%v %+v", err, pkts)
	}
}

func TestSeveralFiles(t *testing.T) {
	a := writeFile(t, "a.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet,
		rec{ts: t0, data: ethSYN}, rec{ts: t0.Add(time.Second), data: eth(0x0806, make([]byte, 28))}))
	b := writeFile(t, "b.pcapng.gz", gz(t, (&ngBuilder{order: binary.LittleEndian}).section().iface(layers.LinkTypeRaw, 9).
		packet(rec{ts: t0.Add(2 * time.Second), data: rawSYN6}).bytes()))
	c := writeFile(t, "c.pcap", pcapFile(binary.BigEndian, true, layers.LinkTypeNull, rec{ts: t0.Add(3 * time.Second), data: cat(be32(2), v4Data)}))
	pkts, st, err := readAll(t, []string{a, b, c}, "")
	if err != nil {
		t.Fatal(err)
	}
	kinds := []Kind{TCP, NotTCP, TCP, TCP}
	if len(pkts) != len(kinds) {
		t.Fatalf("%d packets", len(pkts))
	}
	for i, p := range pkts {
		ts := t0.Add(time.Duration(i) * time.Second)
		if i < 2 { // a microsecond file
			ts = ts.Truncate(time.Microsecond)
		}
		if p.Kind != kinds[i] || p.Num != uint64(i+1) || p.Time != ts.UnixNano() {
			t.Errorf("packet %d: %+v", i+1, p)
		}
	}
	want := Stats{Packets: 4, TCP: 3, NotTCP: 1, First: pkts[0].Time, Last: pkts[3].Time}
	if st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestFilter(t *testing.T) {
	udp := eth(0x0800, ipv4(17, make([]byte, 8)))
	port80 := eth(0x0800, ipv4(6, tcpSeg(tcpSpec{sport: 5555, dport: 80, flags: 2})))
	big := eth(0x0800, ipv4(6, tcpSeg(tcpSpec{sport: 40000, dport: 443, flags: 0x10, payload: 1000})))
	file := writeFile(t, "f.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet,
		rec{ts: t0, data: ethSYN}, rec{ts: t0, data: udp}, rec{ts: t0, data: port80},
		rec{ts: t0, data: big[:64], wireLen: len(big)}))
	raw := writeFile(t, "r.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeRaw,
		rec{ts: t0, data: v4SYN}, rec{ts: t0, data: ipv4(17, make([]byte, 8))}))
	ng := writeFile(t, "n.pcapng", (&ngBuilder{order: binary.BigEndian}).section().
		iface(layers.LinkTypeEthernet, 0).iface(layers.LinkTypeLinuxSLL2, 0).
		packet(rec{ts: t0, data: ethSYN}).
		packet(rec{ts: t0, data: cat(be16(0x0800), make([]byte, 18), v4SYN), iface: 1}).
		packet(rec{ts: t0, data: cat(be16(0x0800), make([]byte, 18), ipv4(6, tcpSeg(tcpSpec{sport: 1, dport: 2}))), iface: 1}).bytes())
	// BSD loopback (NULL): a 4-byte address family in the capturing host's
	// byte order, AF_INET6 24, 28 or 30 as the BSDs and macOS number it;
	// LOOP (OpenBSD): network byte order.
	nullLE := writeFile(t, "null-le.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeNull,
		rec{ts: t0, data: cat(le32(2), v4SYN)}, rec{ts: t0, data: cat(le32(24), v6SYN)},
		rec{ts: t0, data: cat(le32(28), v6SYN)}, rec{ts: t0, data: cat(le32(30), v6SYN)}))
	nullBE := writeFile(t, "null-be.pcap", pcapFile(binary.BigEndian, false, layers.LinkTypeNull,
		rec{ts: t0, data: cat(be32(2), v4SYN)}, rec{ts: t0, data: cat(be32(30), v6SYN)}))
	loop := writeFile(t, "loop.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeLoop,
		rec{ts: t0, data: cat(be32(2), v4SYN)}, rec{ts: t0, data: cat(be32(24), v6SYN)}))

	for _, tc := range []struct {
		name   string
		files  []string
		filter string
		kinds  []Kind
	}{
		{"none", []string{file}, "", []Kind{TCP, NotTCP, TCP, TCP}},
		{"port", []string{file}, "tcp port 443", []Kind{TCP, Filtered, Filtered, TCP}},
		{"udp", []string{file}, "udp", []Kind{Filtered, NotTCP, Filtered, Filtered}},
		// "greater" compares the length on the wire, not the captured one.
		{"greater uses wire length", []string{file}, "greater 500", []Kind{Filtered, Filtered, Filtered, TCP}},
		{"raw link type", []string{raw}, "tcp", []Kind{TCP, Filtered}},
		{"each link type its own program", []string{ng}, "tcp dst port 443", []Kind{TCP, TCP, Filtered}},
		{"across files", []string{raw, file}, "host 192.0.2.1 and tcp", []Kind{TCP, Filtered, TCP, Filtered, TCP, TCP}},
		{"BSD loopback, tcp", []string{nullLE}, "tcp", []Kind{TCP, TCP, TCP, TCP}},
		{"BSD loopback, ip6", []string{nullLE}, "ip6", []Kind{Filtered, TCP, TCP, TCP}},
		{"BSD loopback, ip", []string{nullLE}, "ip", []Kind{TCP, Filtered, Filtered, Filtered}},
		{"BSD loopback big-endian, tcp", []string{nullBE}, "tcp", []Kind{TCP, TCP}},
		{"BSD loopback big-endian, ip6", []string{nullBE}, "ip6", []Kind{Filtered, TCP}},
		{"OpenBSD loopback, tcp", []string{loop}, "tcp", []Kind{TCP, TCP}},
		{"OpenBSD loopback, ip6", []string{loop}, "ip6", []Kind{Filtered, TCP}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.filter != "" {
				needLibpcap(t)
			}
			pkts, st, err := readAll(t, tc.files, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got []Kind
			var filtered uint64
			for _, p := range pkts {
				got = append(got, p.Kind)
				if p.Kind == Filtered {
					filtered++
				}
			}
			if !slicesEqual(got, tc.kinds) {
				t.Errorf("kinds %v, want %v", got, tc.kinds)
			}
			if st.Filtered != filtered || st.Packets != uint64(len(pkts)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNextAfterEndAndClose(t *testing.T) {
	name := writeFile(t, "a.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}))
	r, err := OpenFiles([]string{name}, "")
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	if err := r.Next(&p); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.Next(&p); err != io.EOF {
			t.Fatalf("got %v, want io.EOF", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Next(&p); err != ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
	// Closing in the middle of a file closes it.
	r, _ = OpenFiles([]string{name}, "")
	r.Close()
	if err := r.Next(&p); err != ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
}

// synthFile writes a synthetic capture of n connections to a temporary file.
func synthFile(t testing.TB, cfg synth.Config) string {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.Write(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "synth.pcap", buf.Bytes())
}

// toPcapng rewrites a pcap file as pcapng with gopacket's writer.
func toPcapng(t testing.TB, name string) string {
	t.Helper()
	return writeFile(t, "synth.pcapng", pcapToPcapng(t, name))
}

func pcapToPcapng(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriter(&buf, r.LinkType())
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return buf.Bytes()
}

// TestNextNoAllocs fails if reading and decoding a packet allocates, for
// pcap and pcapng, with and without a filter.
func TestNextNoAllocs(t *testing.T) {
	pcap := synthFile(t, synth.Config{Seed: 1, Conns: 400, Concurrency: 50})
	ng := toPcapng(t, pcap)
	for _, tc := range []struct{ name, file, filter string }{
		{"pcap", pcap, ""},
		{"pcapng", ng, ""},
		{"pcap filtered", pcap, "tcp port 80"},
		{"pcapng filtered", ng, "tcp port 80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.filter != "" {
				needLibpcap(t)
			}
			r, err := OpenFiles([]string{tc.file}, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var p Packet
			for range 100 { // warm up: buffers grow to their size
				if err := r.Next(&p); err != nil {
					t.Fatal(err)
				}
			}
			n := testing.AllocsPerRun(5000, func() {
				if err := r.Next(&p); err != nil {
					t.Fatal(err)
				}
			})
			if n != 0 {
				t.Errorf("Next allocates %.2f times per packet", n)
			}
		})
	}
}

func ciFor(ts time.Time, data []byte) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)}
}

// TestFileNotLive: a file reader has no libpcap counters.
func TestFileNotLive(t *testing.T) {
	r := &Reader{}
	if _, ok := r.LiveStats(); ok || r.Live() {
		t.Error("a file reader reports live statistics")
	}
}

// TestGzipMembersAndZeroPadding: a gzip stream of several members is read
// as one capture, and zeros after its last member (padding to a block
// size) end it cleanly, as gzip(1) takes them.
func TestGzipMembersAndZeroPadding(t *testing.T) {
	one := pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}, rec{ts: t0.Add(1), data: ethData})
	more := pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0.Add(2), data: ethData})[24:] // records only
	for _, tc := range []struct {
		name    string
		data    []byte
		packets int
	}{
		{"one member", gz(t, one), 2},
		{"padded with zeros", cat(gz(t, one), make([]byte, 512)), 2},
		{"two members", cat(gz(t, one), gz(t, more)), 3},
		{"two members, padded", cat(gz(t, one), gz(t, more), make([]byte, 10240)), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pkts, _, err := readAll(t, []string{writeFile(t, "x.pcap.gz", tc.data)}, "")
			if err != nil || len(pkts) != tc.packets {
				t.Errorf("%d packets, %v; want %d and no error", len(pkts), err, tc.packets)
			}
		})
	}
}
