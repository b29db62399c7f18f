package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// FuzzPcapRecords checks that pcapRecords reads any pcap file as pcapgo's
// ZeroCopyReadPacketData does: the same records, capture info and errors,
// in the same order, whatever the read buffer's size (records longer than
// it take the slow path).
func FuzzPcapRecords(f *testing.F) {
	le, be := binary.LittleEndian, binary.BigEndian
	f.Add(pcapFile(le, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}, rec{ts: t0, data: ethData}), uint16(0))
	f.Add(pcapFile(be, true, layers.LinkTypeRaw, rec{ts: t0, data: v6SYN}), uint16(40))
	f.Add(pcapFile(le, true, layers.LinkTypeEthernet, rec{ts: t0, data: ethData, wireLen: 3}), uint16(0))
	whole := pcapFile(le, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethData})
	f.Add(whole[:len(whole)-5], uint16(1))
	f.Add(whole[:30], uint16(1))
	f.Add(append(pcapFile(le, false, layers.LinkTypeEthernet), le.AppendUint32(make([]byte, 8), 1<<20)...), uint16(2))
	// Many records of many sizes, so that buffers of these sizes end inside
	// headers and inside data: records taken from what is buffered, and
	// the look-ups at each refill.
	var many []rec
	for i := range 40 {
		many = append(many, rec{ts: t0.Add(time.Duration(i) * 999_999), data: make([]byte, i*7%61), wireLen: 100})
	}
	for _, size := range []uint16{60, 100, 177, 1000, 4000} {
		f.Add(pcapFile(be, size%2 == 0, layers.LinkTypeEthernet, many...), size)
	}
	f.Fuzz(func(t *testing.T, file []byte, size uint16) {
		ref, err := pcapgo.NewReader(bytes.NewReader(file))
		if err != nil {
			return
		}
		br := bufio.NewReaderSize(bytes.NewReader(file), 16+int(size)%4096)
		br.Discard(24)
		recs := newPcapRecords(br, be.Uint32(file), ref.Snaplen())
		for i := 0; ; i++ {
			want, wantCI, wantErr := ref.ZeroCopyReadPacketData()
			got, gotRec, gotErr := recs.next()
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("record %d: error %v, pcapgo's %v", i, gotErr, wantErr)
			}
			// pcapgo's capture info is empty when no record header
			// could be read, and its time never zero when one was.
			if wantCI.Timestamp.IsZero() && gotRec != (pcapRecord{}) ||
				!wantCI.Timestamp.IsZero() && !sameInfo(gotRec.info(), wantCI) {
				t.Fatalf("record %d: %+v, pcapgo's %+v", i, gotRec, wantCI)
			}
			if wantErr != nil {
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("record %d: % x, pcapgo's % x", i, got, want)
			}
		}
	})
}

func sameInfo(a, b gopacket.CaptureInfo) bool {
	return a.Timestamp.Equal(b.Timestamp) && a.Timestamp.Location() == b.Timestamp.Location() &&
		a.CaptureLength == b.CaptureLength && a.Length == b.Length
}

// TestHugeRecordIsCut: in a file whose snaplen allows any length, a record
// of 1 MiB keeps its first 262,144 bytes (libpcap's MAXIMUM_SNAPLEN), as a
// snaplen would have cut it, and the record after it is read as it is: the
// reader never holds what a record's length says beyond that.
func TestHugeRecordIsCut(t *testing.T) {
	le := binary.LittleEndian
	huge := append(bytes.Clone(ethSYN), make([]byte, 1<<20)...)
	file := pcapFile(le, false, layers.LinkTypeEthernet, rec{ts: t0, data: huge}, rec{ts: t0, data: ethData})
	le.PutUint32(file[16:], 0xFFFFFFFF)
	br := bufio.NewReaderSize(bytes.NewReader(file), 1<<16)
	br.Discard(24)
	recs := newPcapRecords(br, binary.BigEndian.Uint32(file), 0xFFFFFFFF)
	data, r, err := recs.next()
	if err != nil || len(data) != pcapEagerMax || r.caplen != pcapEagerMax || r.length != len(huge) || !bytes.Equal(data, huge[:pcapEagerMax]) {
		t.Fatalf("first record: %d bytes, %+v, %v; want its first %d of %d", len(data), r, err, pcapEagerMax, len(huge))
	}
	if data, _, err := recs.next(); err != nil || !bytes.Equal(data, ethData) {
		t.Fatalf("second record: % x, %v; want % x", data, err, ethData)
	}
}
