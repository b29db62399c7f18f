package capture

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"testing"
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
