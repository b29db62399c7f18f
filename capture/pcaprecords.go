package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
)

// pcapRecords reads the records of a pcap file, after pcapgo read its file
// header, straight out of the file's read buffer: a packet's bytes are not
// copied, and a record takes two buffer look-ups instead of pcapgo's two
// io.ReadFull calls through the buffer (on the medium benchmark capture,
// reading was about half of decode-only's time). It gives what pcapgo's
// Reader.ZeroCopyReadPacketData gives, errors included, which
// FuzzPcapRecords checks against pcapgo itself. The data it returns is
// valid until its next call.
type pcapRecords struct {
	br      *bufio.Reader
	order   binary.ByteOrder
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
	p := &pcapRecords{br: br, order: binary.BigEndian, nanos: 1000, snaplen: snaplen}
	if magic == magicPcapMicroLE || magic == magicPcapNanoLE {
		p.order = binary.LittleEndian
	}
	if magic == magicPcapNano || magic == magicPcapNanoLE {
		p.nanos = 1
	}
	p.maxLen = max(int(snaplen), pcapEagerMax)
	return p
}

// next returns the next record's data and capture info.
func (p *pcapRecords) next() (data []byte, ci gopacket.CaptureInfo, err error) {
	h, err := p.br.Peek(16)
	if len(h) < 16 {
		p.br.Discard(len(h))
		return nil, ci, fullError(len(h), err)
	}
	// (The fraction is scaled in 32 bits, as pcapgo does.)
	ci.Timestamp = time.Unix(int64(p.order.Uint32(h)), int64(p.order.Uint32(h[4:])*p.nanos)).UTC()
	ci.CaptureLength = int(p.order.Uint32(h[8:]))
	ci.Length = int(p.order.Uint32(h[12:]))
	p.br.Discard(16)
	switch n := ci.CaptureLength; {
	case n > p.maxLen:
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", n, p.snaplen)
	case n > ci.Length:
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", n, ci.Length)
	case n > p.br.Size():
		data, err = p.readLong(n)
		return data, ci, err
	}
	data, err = p.br.Peek(ci.CaptureLength)
	p.br.Discard(len(data))
	if len(data) < ci.CaptureLength {
		return nil, ci, fullError(len(data), err)
	}
	return data, ci, nil
}

// readLong reads a record longer than the read buffer into a slice that
// grows with the bytes actually read, as pcapgo does: a short file cannot
// make it allocate what a corrupt length says.
func (p *pcapRecords) readLong(n int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(pcapEagerMax)
	m, err := io.CopyN(&buf, p.br, int64(n))
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
