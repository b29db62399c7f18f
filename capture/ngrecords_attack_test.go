package capture

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// gzipLikeSection is content compressed with gzip, its deflate data stored
// as it is, behind a gzip header whose bytes 8 to 15 (XFL, OS, XLEN and the
// first bytes of the extra field) read as a section header's byte order
// magic and version 1.0, in order o.
func gzipLikeSection(t *testing.T, o order, content []byte) []byte {
	t.Helper()
	h := []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0} // deflate, an extra field
	h = o.AppendUint32(h, ngByteOrderMagic)
	extra := make([]byte, binary.LittleEndian.Uint16(h[10:]))
	o.PutUint16(extra, 1)
	h = append(h, extra...)
	var body bytes.Buffer
	w, err := flate.NewWriter(&body, flate.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(content)
	w.Close()
	h = append(h, body.Bytes()...)
	h = binary.LittleEndian.AppendUint32(h, crc32.ChecksumIEEE(content))
	return binary.LittleEndian.AppendUint32(h, uint32(len(content)))
}

// TestNgRecordsReadGzipAsNgReader: NgReader decompresses a gzip stream
// itself, through a reader of its own; the compressed bytes br holds, whose
// stored deflate blocks hold the packet blocks as they are, are not read as
// blocks, even when the gzip header's bytes read as a section header's.
func TestNgRecordsReadGzipAsNgReader(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    order
	}{
		{"little-endian", binary.LittleEndian},
		{"big-endian", binary.BigEndian},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := (&ngBuilder{order: tc.o}).section().iface(layers.LinkTypeEthernet, 9)
			for i := range 3000 {
				n.packet(rec{ts: t0.Add(time.Duration(i)), data: []byte{byte(i), byte(i >> 8), 1, 2}})
			}
			file := gzipLikeSection(t, tc.o, n.bytes())
			if got := readAsNgReader(t, file, readBufferSize); got != 3000 {
				t.Errorf("%d packets, want 3000", got)
			}
		})
	}
}

var errInjected = errors.New("injected read error")

// failOnceAt reads b, but its first read at offset at fails; the reads
// before it stop there.
type failOnceAt struct {
	b       []byte
	off, at int
	failed  bool
}

func (r *failOnceAt) Read(p []byte) (int, error) {
	if r.off == r.at && !r.failed {
		r.failed = true
		return 0, errInjected
	}
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	end := min(len(r.b), r.off+len(p))
	if !r.failed && r.off < r.at {
		end = min(end, r.at)
	}
	n := copy(p, r.b[r.off:end])
	r.off += n
	return n, nil
}

// TestNgRecordsReadStreamsAsNgReader: whatever the reads of the stream
// below the read buffer give, ngRecords gives what NgReader does: short
// reads, data and io.EOF together, and a read that fails once, at any
// offset (a look-up that read from the stream would clear its error from
// the buffer, and NgReader would read on past it).
func TestNgRecordsReadStreamsAsNgReader(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	b := (&ngBuilder{order: le}).section().iface(layers.LinkTypeEthernet, 9)
	for i := range 5 {
		b.packet(rec{ts: t0.Add(time.Duration(i)), data: make([]byte, 20+i)})
	}
	b.order = be
	b.section().iface(layers.LinkTypeRaw, 6)
	for i := range 5 {
		b.packet(rec{ts: t0.Add(time.Duration(i) * time.Microsecond), data: make([]byte, 20+i)})
	}
	file := b.bytes()
	type stream struct {
		name string
		open func() io.Reader
	}
	var streams []stream
	for i, seed := range append(ngSeeds(), file) {
		for _, s := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"one byte a read", iotest.OneByteReader},
			{"half of each read", iotest.HalfReader},
			{"data and EOF together", iotest.DataErrReader},
		} {
			streams = append(streams, stream{fmt.Sprintf("%s/file %d", s.name, i),
				func() io.Reader { return s.wrap(bytes.NewReader(seed)) }})
		}
	}
	for at := 0; at <= len(file); at++ {
		streams = append(streams, stream{fmt.Sprintf("read error/at %d", at),
			func() io.Reader { return &failOnceAt{b: file, at: at} }})
	}
	for _, s := range streams {
		t.Run(s.name, func(t *testing.T) { readStreamAsNgReader(t, s.open, 4096) })
	}
}

// fromStalledPipe reads the records of a pipe that gives prefix and then
// nothing more until the test ends, with NgReader alone (ref) or
// ngRecords, up to the first error: how many, and the error's text or
// "blocked" if a read did not return within a few seconds.
func fromStalledPipe(prefix []byte, ref bool) string {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(prefix)
	got := make(chan string, 1)
	go func() {
		if ref {
			r, err := newRef(pr)
			n := 0
			for ; err == nil; n++ {
				_, _, err = r.next()
			}
			got <- fmt.Sprint(n, err)
			return
		}
		recs, err := newNgRecords(bufio.NewReaderSize(pr, readBufferSize), ngOptions)
		n := 0
		for ; err == nil; n++ {
			_, _, _, err = recs.next()
		}
		got <- fmt.Sprint(n, err)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(3 * time.Second):
		return "blocked"
	}
}

// TestNgRecordsDoNotWaitOnAPipeForABlockNgReaderRefuses: a pipe that
// stalls inside an enhanced packet block that NgReader refuses before its
// end gets NgReader's error at once, not when the rest of the block comes.
func TestNgRecordsDoNotWaitOnAPipeForABlockNgReaderRefuses(t *testing.T) {
	le := binary.LittleEndian
	head := (&ngBuilder{order: le}).section().iface(layers.LinkTypeEthernet, 6).packet(rec{ts: t0, data: v4Data}).bytes()
	epb := func(l, id uint32, rest ...byte) []byte {
		b := le.AppendUint32(nil, 6)
		b = le.AppendUint32(b, l)
		b = le.AppendUint32(b, id)
		b = append(b, make([]byte, 16)...) // time, caplen 0, length 0
		return append(b, rest...)
	}
	for _, tc := range []struct {
		name   string
		prefix []byte
	}{
		{"unknown interface", cat(head, epb(1000, 7))},
		{"end of options with a length", cat(head, epb(1000, 0, 0, 0, 4, 0))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := fromStalledPipe(tc.prefix, true)
			if got := fromStalledPipe(tc.prefix, false); got != want {
				t.Errorf("%s, pcapgo's %s", got, want)
			}
		})
	}
}

// ngIfaceWith appends an interface of the given if_tsresol and if_tsoffset
// options (one not given if 0).
func ngIfaceWith(n *ngBuilder, tsresol uint8, tsoffset uint64) {
	body := n.order.AppendUint16(nil, uint16(layers.LinkTypeEthernet))
	body = n.order.AppendUint16(body, 0)
	body = n.order.AppendUint32(body, 0)
	if tsresol != 0 {
		body = n.order.AppendUint16(body, 9)
		body = n.order.AppendUint16(body, 1)
		body = append(body, tsresol, 0, 0, 0)
	}
	if tsoffset != 0 {
		body = n.order.AppendUint16(body, 14)
		body = n.order.AppendUint16(body, 8)
		body = n.order.AppendUint64(body, tsoffset)
	}
	body = n.order.AppendUint32(body, 0)
	n.block(1, body)
}

// ngEnhanced appends an enhanced packet block of interface 0: its time
// in the interface's units, its data and then rest, the options (l, if
// not 0, is the block's length, and caplen, if not -1, its capture
// length).
func ngEnhanced(n *ngBuilder, ts uint64, data, rest []byte, l uint32, caplen int) {
	if caplen < 0 {
		caplen = len(data)
	}
	b := n.order.AppendUint32(nil, 6)
	b = n.order.AppendUint32(b, 0) // the length, below
	b = n.order.AppendUint32(b, 0)
	b = n.order.AppendUint32(b, uint32(ts>>32))
	b = n.order.AppendUint32(b, uint32(ts))
	b = n.order.AppendUint32(b, uint32(caplen))
	b = n.order.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, rest...)
	if l == 0 {
		l = uint32(len(b) + 4)
	}
	n.order.PutUint32(b[4:], l)
	n.b = n.order.AppendUint32(append(n.b, b...), l)
}

// TestNgRecordsConvertTimesAsNgReader: the enhanced packet blocks that
// ngRecords reads itself get the time NgReader gives them, whatever the
// interface's resolution (powers of 10 and of 2, up to the largest NgReader
// takes, 10^-20 and beyond overflowing as NgReader's do) and offset, and
// whatever the timestamp.
func TestNgRecordsConvertTimesAsNgReader(t *testing.T) {
	stamps := []uint64{0, 1, 999_999_999, 1 << 32, 1<<32 - 1, 1 << 62, 1 << 63, ^uint64(0)}
	for _, res := range []uint8{0, 3, 6, 9, 10, 12, 19, 20, 33, 63, 64, 0x80, 0x81, 0x8a, 0x9e, 0x9f, 0xa0, 0xbf, 0xc0, 0xff} {
		for _, off := range []uint64{0, 1, 1 << 33, 1 << 63, ^uint64(0)} {
			t.Run(fmt.Sprintf("resolution %#x/offset %d", res, off), func(t *testing.T) {
				for _, o := range []order{binary.LittleEndian, binary.BigEndian} {
					n := (&ngBuilder{order: o}).section()
					ngIfaceWith(n, res, off)
					for _, ts := range stamps {
						ngEnhanced(n, ts, v4Data, nil, 0, -1)
					}
					got := readAsNgReader(t, n.bytes(), readBufferSize)
					if valid := res&0x7f <= 63; valid && got != len(stamps) || !valid && got != 0 {
						t.Errorf("%d packets", got)
					}
					if d := delegations(t, n.bytes()); d > 2 {
						t.Errorf("NgReader read %d records", d)
					}
				}
			})
		}
	}
}

// delegations is how many times ngRecords called NgReader to read file.
func delegations(t *testing.T, file []byte) int {
	t.Helper()
	recs, err := newNgRecords(bufio.NewReaderSize(bytes.NewReader(file), readBufferSize), ngOptions)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, _, err := recs.next(); err != nil {
			return recs.delegated
		}
	}
}

// TestNgRecordsReadEnhancedBlockLayoutsAsNgReader: an enhanced packet
// block of any layout of its data, options and lengths is read as NgReader
// reads it, by ngRecords itself (self) if NgReader reads it as laid out,
// and otherwise by NgReader; the blocks after it too.
func TestNgRecordsReadEnhancedBlockLayoutsAsNgReader(t *testing.T) {
	le := binary.LittleEndian
	opt := func(code, l uint16, value ...byte) []byte {
		b := le.AppendUint16(le.AppendUint16(nil, code), l)
		b = append(b, value...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	end := opt(0, 0)
	comment := opt(1, 5, []byte("hello")...)
	data := v4Data[:21] // padded to 24
	for _, tc := range []struct {
		name   string
		data   []byte
		rest   []byte
		l      uint32 // 0: the length of what is laid out
		caplen int    // -1: len(data)
		self   bool
	}{
		{"no options", data, nil, 0, -1, true},
		{"an end of options", data, end, 0, -1, true},
		{"a comment, then the end of options", data, cat(comment, end), 0, -1, true},
		{"a comment, the block's end for the end of options", data, comment, 0, -1, true},
		{"an option of length 0", data, cat(opt(1, 0), end), 0, -1, true},
		{"an end of options, then bytes", data, cat(end, make([]byte, 8)), 0, -1, true},
		{"an end of options, then 1 byte: the block's length not a multiple of 4", data, cat(end, []byte{0xee}), 0, -1, true},
		{"no options, 3 bytes: the block's length not a multiple of 4", data, []byte{1, 2, 3}, 0, -1, false},
		{"an end of options with a length", data, opt(0, 4, 1, 2, 3, 4), 0, -1, false},
		{"an option running into the trailing length", data, opt(1, 8, []byte("12345678")...)[:8], 0, -1, false},
		{"an option running past the block", data, opt(1, 200, []byte("12345678")...), 0, -1, false},
		{"the block's length past its end of options, into the next block", data, end, 60 + 24, -1, true},
		{"the block's length short of its data", data, nil, 40, -1, false},
		{"a block of 28 bytes", nil, nil, 28, 0, false},
		{"no data", nil, end, 0, -1, true},
		{"a capture length past the block", data, end, 0, 100, false},
		{"a capture length of 2^32-1", data, end, 0, 1<<32 - 1, false},
		{"a capture length short of the data, the rest read as options", make([]byte, 8), nil, 0, 4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := (&ngBuilder{order: le}).section().iface(layers.LinkTypeEthernet, 9).packet(rec{ts: t0, data: v4Data})
			ngEnhanced(n, 1<<40, tc.data, tc.rest, tc.l, tc.caplen)
			for i := range 3 {
				n.packet(rec{ts: t0.Add(time.Duration(i)), data: v4Data[:20+i]})
			}
			readAsNgReader(t, n.bytes(), readBufferSize)
			recs, err := newNgRecords(bufio.NewReaderSize(bytes.NewReader(n.bytes()), readBufferSize), ngOptions)
			if err != nil {
				t.Fatal(err)
			}
			recs.next()
			if recs.next(); recs.delegated == 1 != tc.self {
				t.Errorf("NgReader read it: %v, want %v", recs.delegated > 1, !tc.self)
			}
		})
	}
}

// TestNgRecordsFollowSectionsAsNgReader: sections of either byte order,
// their headers after other blocks, with interface tables of the same size
// but other link types and resolutions, one without an interface, one of
// another version that NgReader skips, are read as NgReader reads them
// wherever the read buffer's end falls among their blocks (where the walk
// ahead of NgReader runs out of buffered bytes).
func TestNgRecordsFollowSectionsAsNgReader(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	type part func(n *ngBuilder)
	pkt := func(i int) part {
		return func(n *ngBuilder) {
			n.packet(rec{ts: t0.Add(time.Duration(i) * time.Millisecond), data: v4Data[:20+i%8]})
		}
	}
	section := func(o order, version uint16) part {
		return func(n *ngBuilder) {
			n.order = o
			n.section()
			o.PutUint16(n.b[len(n.b)-16:], version)
		}
	}
	other := func(n *ngBuilder) {
		n.block(5, n.order.AppendUint32(make([]byte, 12), 0)) // statistics of interface 0
		n.block(4, n.order.AppendUint32(nil, 0))              // name records, none
		// A block of an unknown type, its length not a multiple of 4:
		// the blocks after it are not aligned.
		n.b = n.order.AppendUint32(n.order.AppendUint32(n.b, 0x0bad), 21)
		n.b = n.order.AppendUint32(append(n.b, make([]byte, 9)...), 21)
	}
	layouts := []struct {
		name  string
		parts []part
	}{
		{"orders switched after other blocks", []part{
			other, section(be, 1), func(n *ngBuilder) { n.iface(layers.LinkTypeRaw, 3) }, pkt(1), pkt(2),
			other, section(le, 1), func(n *ngBuilder) { n.iface(layers.LinkTypeEthernet, 9) }, pkt(3), pkt(4),
			section(be, 1), func(n *ngBuilder) { n.iface(layers.LinkTypeNull, 6) }, other, pkt(5), pkt(6)}},
		{"a section with no interface", []part{section(be, 1), func(n *ngBuilder) { ngEnhanced(n, 1, v4Data, nil, 0, -1) }}},
		{"a section skipped, then one of the other order", []part{
			section(be, 2), func(n *ngBuilder) { n.iface(layers.LinkTypeRaw, 3) }, pkt(1),
			section(le, 1), func(n *ngBuilder) { n.iface(layers.LinkTypeRaw, 3) }, pkt(2), pkt(3)}},
	}
	for _, lay := range layouts {
		for pad := 0; pad < 600; pad += 4 {
			n := (&ngBuilder{order: le}).section().iface(layers.LinkTypeEthernet, 6)
			// Packets up to about 3500 bytes, and then pad more.
			for len(n.b) < 3500 {
				n.packet(rec{ts: t0, data: make([]byte, 100)})
			}
			n.block(0x0bad, make([]byte, pad))
			n.packet(rec{ts: t0, data: v4Data})
			for _, p := range lay.parts {
				p(n)
			}
			t.Run(fmt.Sprintf("%s/pad %d", lay.name, pad), func(t *testing.T) { readAsNgReader(t, n.bytes(), 4096) })
		}
	}
}
