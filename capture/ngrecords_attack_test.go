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
