package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// pcapgo's NgReader keeps every interface description of a section (about
// 800 bytes each) and every name resolution record, and reads a block
// whole into memory before looking at it: a 146 KB gzip of a million
// interface descriptions would hold 2.4 GB, a 4 MB one of a 1 GB packet
// block 2 GB. ngGuard sits below the read buffer and walks the pcapng
// blocks as their bytes go by, so it sees each block's header before any
// reader takes the block, and stops the stream there with an ngLimitError
// when a block or a section goes past what any capture tool writes (and
// with an ngCorruptError at a length no block can have, or a first
// section of another version than 1.0, which pcapgo would misname). The
// limits bound what a hostile file can make tcpwatch hold to tens of
// megabytes. A stream that is not pcapng passes through untouched.
type ngGuard struct {
	r   io.Reader
	err error // the limit passed: returned once the bytes before its block are read

	started, off bool  // the first block was seen; off: not pcapng, or no longer followed
	be           bool  // the current section's byte order
	skip         int64 // bytes of the current block still to pass
	head         [16]byte
	headN        int    // bytes of the next block's header in head
	held         []byte // of those, the bytes not passed yet
	ifaces       int    // interface descriptions in the current section
	names        int64  // bytes of name resolution blocks so far
}

// reset makes g guard the stream r from its start.
func (g *ngGuard) reset(r io.Reader) { *g = ngGuard{r: r, held: g.held[:0]} }

// Limits on what a pcapng file may hold (ngGuard).
const (
	// maxNgBlock: tcpdump and Wireshark write packets of at most 262,144
	// bytes (libpcap's MAXIMUM_SNAPLEN); this leaves room for options.
	maxNgBlock = 16 << 20
	// maxNgInterfaces per section: a capture of every interface of a
	// large router has a few thousand.
	maxNgInterfaces = 65536
	// maxNgNames: bytes of name resolution blocks in a file.
	maxNgNames = 4 << 20
)

// ngCorruptError: a pcapng block's length is not one a block can have.
// pcapgo would read on and say the capture ends inside the block.
type ngCorruptError string

func (e ngCorruptError) Error() string { return string(e) }

// ngLimitError: the pcapng file goes past a limit of ngGuard.
type ngLimitError struct{ what string }

func (e ngLimitError) Error() string {
	return e.what + ", more than any capture tool writes: not read, so that memory stays bounded"
}

func (g *ngGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.off && len(g.held) == 0 {
		return g.r.Read(p)
	}
	// Bytes of a block header held back, already walked, go first: no byte
	// of a block passes before its header is checked, so the stream stops
	// at the same byte however it is read.
	c := copy(p, g.held)
	g.held = g.held[:copy(g.held, g.held[c:])]
	if len(g.held) > 0 {
		return c, nil // (p is smaller than a block header)
	}
	n, err := g.r.Read(p[c:])
	if g.off {
		return c + n, err
	}
	if stop := g.walk(p[c : c+n]); stop > math.MinInt {
		// The bytes before the block that passed the limit are read;
		// the reader gets the error where that block begins.
		if stop += c; stop > 0 {
			return stop, nil
		}
		return 0, g.err
	}
	if k := g.headN; k > 0 && err == nil {
		g.held = append(g.held, p[c+n-k:c+n]...) // (k ≤ c+n: the header's bytes came in this read or were held)
		return c + n - k, nil
	}
	return c + n, err
}

// walk follows the block headers in b; it returns the offset in b of a
// block that passes a limit (setting err; negative if its header began
// before b), or math.MinInt.
func (g *ngGuard) walk(b []byte) int {
	i := 0
	for i < len(b) && !g.off {
		if g.skip > 0 {
			k := min(g.skip, int64(len(b)-i))
			g.skip -= k
			i += int(k)
			continue
		}
		start := i - g.headN // (may be negative: the header began in an earlier read)
		h, used := g.header(b[i:])
		if h == nil {
			return math.MinInt // (the rest of it comes in the next read)
		}
		i += used
		if err := g.block(h); err != nil {
			g.err = err
			return start
		}
		if !g.off {
			g.skip = int64(u32(g.be, h[4:])) - int64(len(h))
		}
	}
	return math.MinInt
}

// header returns the header of the block that starts at b (or began in
// an earlier read, its bytes so far in head): 16 bytes for a section
// header (its byte-order magic and version), 8 for any other; and how
// many bytes of b it took. It is nil when b ends first: what b held of it
// is kept in head.
func (g *ngGuard) header(b []byte) (h []byte, used int) {
	if g.headN == 0 && len(b) >= 16 {
		n := headerLen(b) // (nearly every block: its header is whole in b)
		return b[:n], n
	}
	k := copy(g.head[g.headN:], b)
	n := headerLen(g.head[:g.headN+k])
	if g.headN+k < n {
		g.headN += k
		return nil, len(b)
	}
	used, g.headN = n-g.headN, 0
	return g.head[:n], used
}

// headerLen is how long the header of the block h begins is: 16 bytes for
// a section header, 8 for any other (as far as h tells).
func headerLen(h []byte) int {
	if len(h) >= 4 && binary.BigEndian.Uint32(h) == ngSectionHeader {
		return 16
	}
	return 8
}

// block checks the block whose header is h.
func (g *ngGuard) block(h []byte) error {
	typ := binary.BigEndian.Uint32(h)
	first := !g.started
	if first {
		g.started = true
		if typ != ngSectionHeader {
			g.off = true // not pcapng (pcap, gzip, ...)
			return nil
		}
	}
	if typ == ngSectionHeader {
		be, ok := byteOrder(h)
		if !ok {
			g.off = true // the reader says what is wrong
			return nil
		}
		g.be = be
		if major, minor := u16(g.be, h[12:]), u16(g.be, h[14:]); first && major != 1 {
			return ngCorruptError(fmt.Sprintf("pcapng version %d.%d, not 1.0: not read", major, minor))
		}
		g.ifaces = 0
	} else {
		typ = u32(g.be, h)
	}
	l := u32(g.be, h[4:])
	switch {
	case l < 12:
		return ngCorruptError(fmt.Sprintf("block length %d (type %d) is below 12, the least a block takes", l, typ))
	case l%4 != 0:
		return ngCorruptError(fmt.Sprintf("block length %d (type %d) is not a multiple of 4", l, typ))
	case l > maxNgBlock:
		return ngLimitError{fmt.Sprintf("a block of %d bytes (type %d)", l, typ)}
	case typ == ngInterfaceDescription:
		if g.ifaces++; g.ifaces > maxNgInterfaces {
			return ngLimitError{fmt.Sprintf("more than %d interfaces in one section", maxNgInterfaces)}
		}
	case typ == ngNameResolution:
		if g.names += int64(l); g.names > maxNgNames {
			return ngLimitError{fmt.Sprintf("more than %d bytes of name resolution blocks", maxNgNames)}
		}
	}
	return nil
}
