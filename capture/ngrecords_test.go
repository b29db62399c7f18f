package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ngOptions are the options tcpwatch opens a pcapng file with.
var ngOptions = pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true}

// withOptions appends an enhanced packet block with options (a comment
// and epb_flags, then an end of options) to n.
func (n *ngBuilder) withOptions(r rec) *ngBuilder {
	body := n.packetBody(r)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	body = n.order.AppendUint16(body, 1)
	body = n.order.AppendUint16(body, 5)
	body = append(body, "hello\x00\x00\x00"...)
	body = n.order.AppendUint16(body, 2)
	body = n.order.AppendUint16(body, 4)
	body = n.order.AppendUint32(body, 1)
	body = n.order.AppendUint32(body, 0)
	n.block(6, body)
	return n
}

// ngSeeds are pcapng files that take every way through ngRecords.
func ngSeeds() [][]byte {
	le, be := binary.LittleEndian, binary.BigEndian
	var many []rec
	for i := range 300 {
		many = append(many, rec{ts: t0.Add(time.Duration(i) * 999_999), data: make([]byte, i*37%1500), wireLen: 1600, iface: uint32(i % 2)})
	}
	two := func(o order) *ngBuilder {
		return (&ngBuilder{order: o}).section().iface(layers.LinkTypeEthernet, 9).iface(layers.LinkTypeRaw, 0)
	}
	a := two(le)
	for _, r := range many {
		a.packet(r)
	}
	// Sections of both byte orders, with statistics and options between.
	b := two(le).packet(many[1]).withOptions(many[2])
	b.block(5, le.AppendUint32(make([]byte, 12), 0)) // interface statistics, no options
	b.order = be
	b.section().iface(layers.LinkTypeNull, 3).packet(rec{ts: t0, data: cat(le32(2), v4Data)}).withOptions(rec{ts: t0, data: cat(le32(2), v4Data)})
	b.block(0x0bad, make([]byte, 20)) // a block of an unknown type
	for _, r := range many[:50] {
		b.packet(rec{ts: r.ts, data: r.data})
	}
	b.order = le
	b.section().iface(layers.LinkTypeEthernet, 6).packet(many[10])
	// A section of another version, which NgReader skips.
	c := two(be).packet(many[4])
	skipped := (&ngBuilder{order: le}).section()
	le.PutUint16(skipped.b[12:], 2)
	c.b = append(c.b, skipped.b...)
	c.order = le
	c.iface(layers.LinkTypeEthernet, 0).packet(many[5]).section().iface(layers.LinkTypeEthernet, 0).packet(many[6])
	// A packet longer than the read buffer, and a file cut inside a block.
	d := two(le).packet(many[7]).packet(rec{ts: t0, data: make([]byte, 70000)}).packet(many[8])
	cut := a.bytes()[:len(a.bytes())/2+3]
	return [][]byte{a.bytes(), b.bytes(), c.bytes(), d.bytes(), cut}
}

// FuzzNgRecords checks that ngRecords reads any pcapng file as pcapgo's
// NgReader.ZeroCopyReadPacketData does: the same records, capture info,
// link types and errors, in the same order, whatever the read buffer's
// size (a block not whole in it is looked up again, or read by NgReader).
func FuzzNgRecords(f *testing.F) {
	for i, s := range ngSeeds() {
		f.Add(s, uint16(i*977))
	}
	dir := os.Getenv("TCPWATCH_PUBLIC_PCAPS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "pcaps", "public")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*.pcapng"))
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil && len(b) < 1<<16 {
			f.Add(b, uint16(len(b)))
		}
	}
	f.Fuzz(func(t *testing.T, file []byte, size uint16) {
		// NgReader reads through a bufio.Reader of at least 4096 bytes
		// without wrapping it in another.
		readAsNgReader(t, file, 4096+int(size)%8192)
	})
}

// TestPublicPcapngReadAsNgReaderReadsThem compares ngRecords with NgReader
// on every public pcapng capture, with the read buffer tcpwatch uses and a
// small one.
func TestPublicPcapngReadAsNgReaderReadsThem(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(publicDir(t), "*", "*.pcapng"))
	if len(files) == 0 {
		t.Fatal("no public pcapng capture")
	}
	packets := 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{readBufferSize, 4096} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(name), size), func(t *testing.T) {
				packets += readAsNgReader(t, b, size)
			})
		}
	}
	if packets == 0 {
		t.Error("no packet read")
	}
}

// readAsNgReader reads file with ngRecords through a read buffer of size
// bytes, and checks each record and the error at the end against NgReader's.
// It returns the number of packets read.
func readAsNgReader(t *testing.T, file []byte, size int) int {
	t.Helper()
	return readStreamAsNgReader(t, func() io.Reader { return bytes.NewReader(file) }, size)
}

// readStreamAsNgReader is readAsNgReader for the stream open returns, opened
// once for NgReader alone and once for ngRecords.
func readStreamAsNgReader(t *testing.T, open func() io.Reader, size int) int {
	t.Helper()
	ref, err := newRef(open())
	if err != nil {
		return 0
	}
	recs, err := newNgRecords(bufio.NewReaderSize(open(), size), ngOptions)
	if err != nil {
		t.Fatalf("NgReader opened the file, and then failed: %v", err)
	}
	for i := 0; ; i++ {
		want, wantCI, wantErr := ref.next()
		got, rec, lt, gotErr := recs.next()
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("record %d: error %v, pcapgo's %v", i, gotErr, wantErr)
		}
		if wantErr != nil {
			return i
		}
		wantLT, _ := wantCI.AncillaryData[0].(layers.LinkType)
		// The time as the Reader takes it: a simple packet block has none.
		if rec.time != unixNano(wantCI.Timestamp) || rec.caplen != wantCI.CaptureLength || rec.length != wantCI.Length ||
			rec.iface != wantCI.InterfaceIndex || lt != wantLT {
			t.Fatalf("record %d: %+v %v, pcapgo's %+v", i, rec, lt, wantCI)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d: % x, pcapgo's % x", i, got, want)
		}
	}
}

// ngRef is pcapgo's NgReader on its own, whose panics are errors.
type ngRef struct{ ng *pcapgo.NgReader }

func newRef(in io.Reader) (r ngRef, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("%v", e)
		}
	}()
	r.ng, err = pcapgo.NewNgReader(in, ngOptions)
	return r, err
}

func (r ngRef) next() (data []byte, ci gopacket.CaptureInfo, err error) {
	defer func() {
		if e := recover(); e != nil {
			data, err = nil, fmt.Errorf("the format reader failed: %v", e)
		}
	}()
	return r.ng.ZeroCopyReadPacketData()
}

// TestNgRecordsReadMostBlocksThemselves: NgReader is called only for the
// blocks ngRecords does not read (interfaces, statistics, sections, blocks
// of unknown types), to the next packet; in sections of either byte order.
func TestNgRecordsReadMostBlocksThemselves(t *testing.T) {
	for _, tc := range []struct {
		name     string
		file     []byte
		delegate int
	}{
		{"one section", ngSeeds()[0], 1},
		// The interfaces; statistics, then a section; an unknown block;
		// a section.
		{"three sections, both orders", ngSeeds()[1], 4},
		// The interfaces; the section skipped, after which NgReader
		// reads every block.
		{"a section NgReader skips", ngSeeds()[2], 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := newNgRecords(bufio.NewReaderSize(bytes.NewReader(tc.file), readBufferSize), ngOptions)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for ; ; n++ {
				if _, _, _, err := recs.next(); err != nil {
					break
				}
			}
			if recs.delegated-1 != tc.delegate { // and once more for the end
				t.Errorf("NgReader read %d of %d records, want %d", recs.delegated-1, n, tc.delegate)
			}
		})
	}
}
