package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket"
)

// pcapRecords reads the records of a pcap file, after pcapgo read its file
// header, straight out of the file's read buffer: a packet's bytes are not
// copied, and most records are sliced out of win, the bytes the buffer held
// after its last look-up, without calling the buffer at all (pcapgo makes
// two io.ReadFull calls through it; on the medium benchmark capture that
// reading was about half of decode-only's time). A record not whole in win,
// or whose lengths are wrong, takes two look-ups (slow). It gives what
// pcapgo's Reader.ZeroCopyReadPacketData gives, errors included, which
// FuzzPcapRecords checks against pcapgo itself. The data it returns is
// valid until its next call.
type pcapRecords struct {
	br      *bufio.Reader
	win     []byte // what br held after its last look-up, from the record it returned on
	used    int    // the bytes of win read since, not yet discarded from br
	le      bool   // the file is little-endian
	nanos   uint32 // nanoseconds in a unit of the timestamps' fraction: 1000 or 1
	maxLen  int    // the longest record accepted: the snaplen, or pcapgo's eager-read limit if larger
	snaplen uint32
}

// pcapEagerMax is pcapgo's eagerReadMax, libpcap's MAXIMUM_SNAPLEN: pcapgo
// accepts records up to it whatever the file's snaplen.
const pcapEagerMax = 262144

// newPcapRecords reads the records behind a pcap file header whose magic
// (read big-endian) and snaplen are given.
func newPcapRecords(br *bufio.Reader, magic, snaplen uint32) *pcapRecords {
	p := &pcapRecords{br: br, nanos: 1000, snaplen: snaplen}
	p.le = magic == magicPcapMicroLE || magic == magicPcapNanoLE
	if magic == magicPcapNano || magic == magicPcapNanoLE {
		p.nanos = 1
	}
	p.maxLen = max(int(snaplen), pcapEagerMax)
	return p
}

// pcapRecord is a record header's fields: the capture time in nanoseconds
// since the epoch, the captured and the original length, and (pcapng) the
// interface.
type pcapRecord struct {
	time           int64
	caplen, length int
	iface          int
}

// info is the record's capture info as pcapgo gives it (but for pcapng's
// link type, which Raw gives beside it).
func (r pcapRecord) info() gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, r.time).UTC(), CaptureLength: r.caplen, Length: r.length,
		InterfaceIndex: r.iface}
}

// header reads a 16-byte record header.
func (p *pcapRecords) header(h []byte) pcapRecord {
	_ = h[15]
	sec, frac := binary.LittleEndian.Uint32(h), binary.LittleEndian.Uint32(h[4:])
	caplen, length := binary.LittleEndian.Uint32(h[8:]), binary.LittleEndian.Uint32(h[12:])
	if !p.le {
		sec, frac = bits.ReverseBytes32(sec), bits.ReverseBytes32(frac)
		caplen, length = bits.ReverseBytes32(caplen), bits.ReverseBytes32(length)
	}
	// The fraction is scaled in 32 bits, as pcapgo does; time.Unix would
	// carry whole seconds of it into the seconds, as this sum does.
	return pcapRecord{time: int64(sec)*1e9 + int64(frac*p.nanos), caplen: int(caplen), length: int(length)}
}

// next returns the next record's data and header.
func (p *pcapRecords) next() ([]byte, pcapRecord, error) {
	if w := p.win[p.used:]; len(w) >= 16 {
		rec := p.header(w)
		if n := rec.caplen; n <= p.maxLen && n <= rec.length && n <= len(w)-16 {
			p.used += 16 + n
			return w[16 : 16+n : 16+n], rec, nil
		}
	}
	return p.slow()
}

// slow is next for a record not whole in win, or one whose lengths are
// wrong: it reads it through br's look-ups. A panic below it (the stream
// under the buffer may be any reader) is turned into an error, as
// fileSource.readPacket does for the format readers.
func (p *pcapRecords) slow() (data []byte, rec pcapRecord, err error) {
	defer func() {
		if e := recover(); e != nil {
			data, err = nil, fmt.Errorf("the format reader failed: %v", e)
		}
	}()
	p.br.Discard(p.used)
	p.win, p.used = nil, 0
	h, err := p.br.Peek(16)
	if len(h) < 16 {
		p.br.Discard(len(h))
		return nil, rec, fullError(len(h), err)
	}
	rec = p.header(h)
	p.br.Discard(16)
	switch n := rec.caplen; {
	case n > p.maxLen:
		return nil, rec, fmt.Errorf("capture length exceeds snap length: %d > %d", n, p.snaplen)
	case n > rec.length:
		return nil, rec, fmt.Errorf("capture length exceeds original packet length: %d > %d", n, rec.length)
	case n > p.br.Size():
		if data, err = p.readLong(n); err == nil {
			rec.caplen = len(data) // (cut at pcapEagerMax)
		}
	default:
		data, err = p.br.Peek(n)
		data = data[:len(data):len(data)]
		p.br.Discard(len(data))
		if len(data) < n {
			return nil, rec, fullError(len(data), err)
		}
	}
	if err == nil {
		// Looking at what is buffered reads nothing: data stays valid.
		p.win, _ = p.br.Peek(p.br.Buffered())
	}
	return data, rec, err
}

// readLong reads a record longer than the read buffer into a slice that
// grows with the bytes actually read, as pcapgo does: a short file cannot
// make it allocate what a corrupt length says. Of a record longer than
// libpcap's MAXIMUM_SNAPLEN (a file whose snaplen says any length is
// fine), only that much is kept, as a snaplen would have cut it, and the
// rest is read past: the headers tcpwatch reads are at its start, and a
// record of a gigabyte would otherwise be held whole (pcapgo holds it:
// this is where the two differ).
func (p *pcapRecords) readLong(n int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(pcapEagerMax)
	kept := min(n, pcapEagerMax)
	m, err := io.CopyN(&buf, p.br, int64(kept))
	if err == nil && n > kept {
		var past int64
		past, err = io.CopyN(io.Discard, p.br, int64(n-kept))
		m += past
	}
	if err == io.EOF && m > 0 {
		err = io.ErrUnexpectedEOF
	}
	return buf.Bytes(), err
}

// fullError is io.ReadFull's error when n bytes could be read before err.
func fullError(n int, err error) error {
	if n > 0 && err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
