package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapng block types read here, or counted (ngguard.go).
const (
	ngSectionHeader               = magicPcapng
	ngInterfaceDescription        = 1
	ngPacketOld                   = 2
	ngSimplePacket                = 3
	ngNameResolution              = 4
	ngEnhancedPacket              = 6
	ngByteOrderMagic       uint32 = 0x1a2b3c4d
)

// ngRecords reads the records of a pcapng file. Its enhanced packet
// blocks, nearly all of a file's blocks, are sliced out of the file's read
// buffer, as pcapRecords slices pcap records (pcapgo copies each packet and
// reads its block in six calls through the buffer: about three times pcap's
// cost). Every other block — section headers, interfaces, statistics, name
// records — and any enhanced packet block that is not whole in the buffer
// or not well formed is read by pcapgo's NgReader, which keeps the sections
// and their interfaces; ngRecords follows the byte order of the sections it
// crosses. It gives what NgReader.ZeroCopyReadPacketData gives, errors
// included, which FuzzNgRecords checks against pcapgo itself. The data it
// returns is valid until its next call.
type ngRecords struct {
	br   *bufio.Reader
	ng   *pcapgo.NgReader
	win  []byte // what br held after its last look-up, from the record it returned on
	used int    // the bytes of win read since, not yet discarded from br
	// be is the current section's byte order. known is false once the
	// sections crossed could not be followed: every block is then pcapgo's.
	be, known bool
	sections  int // section headers NgReader read after the first (SectionEndCallback)
	ifaces    []ngIface
	delegated int // records NgReader read (for tests)
}

// ngIface is what an enhanced packet block needs of its interface: the
// link type and how its timestamps convert, as NgReader converts them.
type ngIface struct {
	lt                     layers.LinkType
	mask, up, down, offset uint64
}

// newNgRecords reads the records of the pcapng file that br holds from its
// first section header on, opening NgReader with opts. Its blocks are read
// here only if br holds a section header: not a gzip stream, which NgReader
// decompresses through a reader of its own.
func newNgRecords(br *bufio.Reader, opts pcapgo.NgReaderOptions) (*ngRecords, error) {
	p := &ngRecords{br: br}
	// What br holds is looked at, and nothing read for it: a look-up of one
	// byte reads if br holds none, but leaves the stream's error to NgReader
	// unless it gets no byte, when NgReader would return that error at once.
	if h, err := br.Peek(1); len(h) == 0 {
		return nil, err
	}
	if br.Buffered() >= 16 {
		h, _ := br.Peek(16)
		if binary.BigEndian.Uint32(h) == ngSectionHeader {
			p.be, p.known = sectionOrder(h)
		}
	}
	opts.SectionEndCallback = func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { p.sections++ }
	var err error
	if p.ng, err = pcapgo.NewNgReader(br, opts); err != nil {
		return nil, err
	}
	p.refresh()
	p.win, _ = br.Peek(br.Buffered())
	return p, nil
}

// sectionOrder reads the byte order of the section header block that h (16
// bytes) begins; ok is false unless it is one NgReader reads as it is
// (version 1.0; others it skips, with the section behind them).
func sectionOrder(h []byte) (be, ok bool) {
	if be, ok = byteOrder(h); !ok {
		return false, false
	}
	return be, u16(be, h[12:]) == 1 && u16(be, h[14:]) == 0
}

// byteOrder reads the byte-order magic of the section header block that
// h (12 bytes at least) begins: ok is false if it is neither order's.
func byteOrder(h []byte) (be, ok bool) {
	switch ngByteOrderMagic {
	case binary.BigEndian.Uint32(h[8:]):
		return true, true
	case binary.LittleEndian.Uint32(h[8:]):
		return false, true
	}
	return false, false
}

func u16(be bool, b []byte) uint16 {
	if be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func u32(be bool, b []byte) uint32 {
	if be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// next returns the next packet's data, header and link type.
func (p *ngRecords) next() ([]byte, pcapRecord, layers.LinkType, error) {
	if p.known {
		if n, data, rec, lt := p.enhanced(p.win[p.used:]); n > 0 {
			p.used += n
			return data, rec, lt, nil
		}
	}
	return p.slow()
}

// enhanced reads the well-formed enhanced packet block of a known
// interface that w begins, if w holds it whole: n is its length, 0 if not.
func (p *ngRecords) enhanced(w []byte) (n int, data []byte, rec pcapRecord, lt layers.LinkType) {
	if len(w) < 32 || u32(p.be, w) != ngEnhancedPacket {
		return 0, nil, rec, 0
	}
	l, id, caplen := u32(p.be, w[4:]), u32(p.be, w[8:]), u32(p.be, w[20:])
	if l < 32 || uint64(l) > uint64(len(w)) || uint64(id) >= uint64(len(p.ifaces)) {
		return 0, nil, rec, 0
	}
	// The data, padded to four bytes, then options, then the length again.
	end := 28 + (uint64(caplen)+3)&^3
	if end > uint64(l)-4 || !optionsEnd(p.be, w[end:l]) {
		return 0, nil, rec, 0
	}
	in := &p.ifaces[id]
	ts := uint64(u32(p.be, w[12:]))<<32 | uint64(u32(p.be, w[16:]))
	t := time.Unix(int64(ts/in.mask+in.offset), int64(ts%in.mask*in.up/in.down))
	rec = pcapRecord{time: unixNano(t), caplen: int(caplen), length: int(u32(p.be, w[24:])), iface: int(id)}
	return int(l), w[28 : 28+caplen : 28+caplen], rec, in.lt
}

// optionsEnd reports whether the options that o holds (to the end of their
// block, its trailing length included) are read by NgReader as they are
// laid out: each within the block, up to an end of options or the block's
// last four bytes.
func optionsEnd(be bool, o []byte) bool {
	for len(o) != 4 {
		if len(o) < 8 {
			return false
		}
		code, olen := u16(be, o), int(u16(be, o[2:]))
		if code == 0 {
			return olen == 0
		}
		next := 4 + (olen+3)&^3
		if next > len(o)-4 {
			return false
		}
		o = o[next:]
	}
	return true
}

// slow is next for a block that enhanced does not read out of win, which
// is all that br holds: one not whole in it, or not an enhanced packet
// block that enhanced reads. NgReader reads it. ngRecords itself never
// reads the stream below br: a look-up past what br holds would wait on a
// pipe for bytes NgReader may not need, and bufio.Reader.Peek would take
// the stream's error for itself, which NgReader would then not see.
func (p *ngRecords) slow() ([]byte, pcapRecord, layers.LinkType, error) {
	p.br.Discard(p.used)
	p.win, p.used = nil, 0
	return p.delegate()
}

// delegate has NgReader read up to and including the next packet block,
// then follows the byte order of any section it crossed. A panic in
// NgReader, which parses untrusted bytes, is turned into an error.
func (p *ngRecords) delegate() (data []byte, rec pcapRecord, lt layers.LinkType, err error) {
	defer func() {
		if e := recover(); e != nil {
			data, err = nil, fmt.Errorf("the format reader failed: %v", e)
		}
	}()
	p.delegated++
	var be, ok bool
	var headers int
	if p.known {
		be, headers, ok = p.ahead()
	}
	before := p.sections
	data, ci, err := p.ng.ZeroCopyReadPacketData()
	switch crossed := p.sections - before; {
	case crossed != headers || crossed > 0 && !ok:
		p.known = false
	case crossed > 0:
		p.be = be
	}
	// A section's interfaces are only ever added to; a new section's
	// replace them.
	if p.sections != before || p.ng.NInterfaces() != len(p.ifaces) {
		p.refresh()
	}
	if err == nil && len(ci.AncillaryData) > 0 { // WantMixedLinkType puts it here
		lt, _ = ci.AncillaryData[0].(layers.LinkType)
	}
	rec = pcapRecord{time: unixNano(ci.Timestamp), caplen: ci.CaptureLength, length: ci.Length, iface: ci.InterfaceIndex}
	if err == nil {
		p.win, _ = p.br.Peek(p.br.Buffered())
	}
	return data, rec, lt, err
}

// ahead walks the blocks that br holds up to the first packet block, which
// is where NgReader stops: the byte order then, and how many section
// headers are crossed on the way. If br ends first, those are the headers
// NgReader crosses first, and delegate checks that it crossed no more. ok
// is false if the walk met a block NgReader does not read as a whole, or
// crossed a section NgReader skips.
func (p *ngRecords) ahead() (be bool, headers int, ok bool) {
	w, _ := p.br.Peek(p.br.Buffered())
	be = p.be
	for len(w) >= 16 {
		if binary.BigEndian.Uint32(w) == ngSectionHeader {
			if be, ok = sectionOrder(w); !ok {
				return be, headers + 1, false
			}
			headers++
		} else if t := u32(be, w); t == ngEnhancedPacket || t == ngSimplePacket || t == ngPacketOld {
			return be, headers, true
		}
		l := u32(be, w[4:])
		if l < 12 {
			return be, headers, false
		}
		if uint64(l) > uint64(len(w)) {
			break
		}
		w = w[l:]
	}
	return be, headers, true
}

// refresh takes the current section's interfaces from NgReader, and how
// their timestamps convert: whole units of 10^-k or 2^-k seconds, scaled to
// nanoseconds, as NgReader scales them.
func (p *ngRecords) refresh() {
	p.ifaces = p.ifaces[:0]
	for i := range p.ng.NInterfaces() {
		in, err := p.ng.Interface(i)
		if err != nil {
			break
		}
		res := in.TimestampResolution
		mask := uint64(1)
		if res.Binary() {
			mask <<= res.Exponent()
		} else {
			for range res.Exponent() {
				mask *= 10
			}
		}
		up, down := uint64(1), uint64(1)
		if mask < 1e9 {
			up = 1e9 / mask
		} else {
			down = mask / 1e9
		}
		p.ifaces = append(p.ifaces, ngIface{lt: in.LinkType, mask: mask, up: up, down: down, offset: in.TimestampOffset})
	}
}
