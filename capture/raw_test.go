package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestRawIsThePcapRecord: Raw gives each packet of a pcap file as pcapgo
// reads it, bytes and capture info, whatever the byte order, timestamp
// resolution, so that -w writes what was read. (FuzzPcapRecords reads
// records across the read buffer's refills.)
func TestRawIsThePcapRecord(t *testing.T) {
	long := make([]byte, 200_000)
	copy(long, ethData)
	recs := []rec{
		{ts: t0, data: ethSYN},
		{ts: t0.Add(999_999_999), data: ethData, wireLen: len(ethData) + 1000},
		{ts: t0.Add(3e9), data: long},
		{ts: t0.Add(4e9), data: ethSYN},
	}
	for _, tc := range []struct {
		name  string
		order order
		nano  bool
	}{
		{"µs little-endian", binary.LittleEndian, false},
		{"µs big-endian", binary.BigEndian, false},
		{"ns little-endian", binary.LittleEndian, true},
		{"ns big-endian", binary.BigEndian, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := pcapFile(tc.order, tc.nano, layers.LinkTypeEthernet, recs...)
			ref, err := pcapgo.NewReader(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := OpenFiles([]string{writeFile(t, "x.pcap", file)}, "")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var p Packet
			for i := 0; ; i++ {
				want, wantCI, wantErr := ref.ReadPacketData()
				err := r.Next(&p)
				if err != nil || wantErr != nil {
					if err != io.EOF || wantErr != io.EOF {
						t.Fatalf("packet %d: %v; pcapgo: %v", i+1, err, wantErr)
					}
					return
				}
				data, ci, lt := r.Raw()
				if !bytes.Equal(data, want) || ci.Timestamp != wantCI.Timestamp ||
					ci.CaptureLength != wantCI.CaptureLength || ci.Length != wantCI.Length ||
					ci.InterfaceIndex != 0 || ci.AncillaryData != nil || lt != layers.LinkTypeEthernet {
					t.Fatalf("packet %d: %d bytes, %+v, %v; pcapgo: %d bytes, %+v", i+1, len(data), ci, lt, len(want), wantCI)
				}
				if p.Time != wantCI.Timestamp.UnixNano() {
					t.Errorf("packet %d: time %d, pcapgo's %d", i+1, p.Time, wantCI.Timestamp.UnixNano())
				}
			}
		})
	}
}

// TestRawAfterPcapIsTheNextFormats: a pcapng file read after a pcap file
// gives its own capture info (interface, link type), not the last pcap
// record's.
func TestRawAfterPcapIsTheNextFormats(t *testing.T) {
	pcap := writeFile(t, "a.pcap", pcapFile(binary.LittleEndian, true, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}))
	ng := (&ngBuilder{order: binary.LittleEndian}).section().iface(layers.LinkTypeEthernet, 9).iface(layers.LinkTypeRaw, 9).
		packet(rec{ts: t0.Add(1), data: v4Data, iface: 1})
	r, err := OpenFiles([]string{pcap, writeFile(t, "b.pcapng", ng.bytes())}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p Packet
	for i, want := range []struct {
		iface int
		lt    layers.LinkType
		data  []byte
	}{{0, layers.LinkTypeEthernet, ethSYN}, {1, layers.LinkTypeRaw, v4Data}} {
		if err := r.Next(&p); err != nil {
			t.Fatal(err)
		}
		data, ci, lt := r.Raw()
		if ci.InterfaceIndex != want.iface || lt != want.lt || !bytes.Equal(data, want.data) ||
			ci.Timestamp.UnixNano() != p.Time || ci.CaptureLength != len(want.data) {
			t.Errorf("packet %d: %d bytes, %+v, %v; want interface %d, %v", i+1, len(data), ci, lt, want.iface, want.lt)
		}
	}
}

// panicReader gives its bytes, then panics.
type panicReader struct{ b []byte }

func (r *panicReader) Read(b []byte) (int, error) {
	if len(r.b) == 0 {
		panic("the stream broke")
	}
	n := copy(b, r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestPcapStreamPanicIsAnError: a panic in the stream under a pcap file's
// records ends the read with one error, after the packets before it.
func TestPcapStreamPanicIsAnError(t *testing.T) {
	file := pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN})
	r := &Reader{names: []string{"x"}, next: 1, name: "x"}
	src, err := openStream(&panicReader{file}, &buffers{})
	if err != nil {
		t.Fatal(err)
	}
	r.use(src)
	var p Packet
	if err := r.Next(&p); err != nil {
		t.Fatal(err)
	}
	err = r.Next(&p)
	const want = `read "x": packet 2: corrupt pcap record: the format reader failed: the stream broke`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

// TestRawDataEndsWithItsPacket: the bytes Raw gives of a packet read out
// of the file's buffer have no room beyond the packet, so that appending to
// them cannot overwrite the packets after it; pcap and pcapng, from what is
// buffered and past a refill.
func TestRawDataEndsWithItsPacket(t *testing.T) {
	var recs []rec
	for i := range 200 {
		recs = append(recs, rec{ts: t0.Add(time.Duration(i)), data: cat(ethSYN, make([]byte, i*53%1400))})
	}
	ng := (&ngBuilder{order: binary.LittleEndian}).section().iface(layers.LinkTypeEthernet, 9)
	for _, r := range recs {
		ng.packet(r)
	}
	for _, f := range []struct{ name, file string }{
		{"pcap", writeFile(t, "a.pcap", pcapFile(binary.LittleEndian, true, layers.LinkTypeEthernet, recs...))},
		{"pcapng", writeFile(t, "a.pcapng", ng.bytes())},
	} {
		r, err := OpenFiles([]string{f.file}, "")
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for n := 0; r.Next(&p) == nil; n++ {
			if data, _, _ := r.Raw(); cap(data) != len(data) {
				t.Fatalf("%s packet %d: %d bytes with room for %d", f.name, n+1, len(data), cap(data))
			}
		}
		r.Close()
	}
}
