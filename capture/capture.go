package capture

import (
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Packet is one packet read from the input, whatever it turned out to be.
type Packet struct {
	Time int64  // capture time, nanoseconds since the Unix epoch (every packet, whatever its Kind)
	Num  uint64 // 1-based packet number across all inputs
	Kind Kind
	Seg  tracker.Segment // valid when Kind == TCP; Seg.Time and Seg.Packet are filled too
}

// Stats counts the packets read so far, by Kind.
type Stats struct {
	Packets, TCP, NotTCP, Fragments, Truncated, Malformed, Filtered uint64
	First, Last                                                     int64 // capture time of the first and last packet, ns; 0 if none
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("capture: reader closed")

// Reader reads packets from one or more capture files in order, as one
// capture, or from a live interface ([OpenLive]), and decodes them. It is not
// safe for concurrent use.
type Reader struct {
	names  []string
	next   int         // index in names of the next file to open
	src    source      // the file being read, or the interface; nil between files
	label  string      // how errors name src
	live   *liveSource // set for a live capture, also after Close (statistics)
	filter *Filter
	dec    Decoder
	bufs   buffers
	stats  Stats
	err    error  // final: returned by every Next once set
	inFile uint64 // packets read from the current file

	// The last link type seen and whether it is supported, so the check
	// runs once per change of link type.
	lastType layers.LinkType
	lastOK   bool
}

// OpenFiles opens files to be read in order as one capture. "-" is standard
// input. Each file may be pcap (microsecond or nanosecond timestamps, either
// byte order) or pcapng (several sections and interfaces, each interface with
// its own link type and timestamp resolution), and gzip-compressed or not.
//
// filter is a BPF expression exactly as tcpdump takes it, or "" for none;
// packets it rejects are returned with Kind Filtered, so that time still
// advances with them.
//
// The first file is opened, and the filter compiled, before OpenFiles
// returns, and their errors are returned here. Errors from later files are
// returned by Next when it reaches them.
func OpenFiles(names []string, filter string) (*Reader, error) {
	if len(names) == 0 {
		return nil, errors.New("no capture files to read")
	}
	r := &Reader{names: names}
	if err := r.openNext(); err != nil {
		return nil, err
	}
	// Compile the filter for the first file's link type when the header
	// gives it (pcap); pcapng gives it per interface, so check the syntax
	// against Ethernet and compile for the real link types as they come.
	lt := layers.LinkTypeEthernet
	if fs := r.src.(*fileSource); fs.pcap != nil {
		lt = fs.lt
	}
	f, err := NewFilter(filter, lt)
	if err != nil {
		r.src.close()
		return nil, err
	}
	r.filter = f
	return r, nil
}

// openNext opens the next file in the list.
func (r *Reader) openNext() error {
	name := r.names[r.next]
	r.next++
	src, err := openFile(name, &r.bufs)
	if err != nil {
		return err
	}
	r.src, r.label = src, src.label
	r.inFile = 0
	return nil
}

// Next reads the next packet into p. It returns io.EOF after the last packet
// of the last file. Any other error is final (every later call returns it)
// and names the file and the problem; every packet returned before it stays
// valid.
//
// Next does not allocate in the steady state: p is filled in place, and
// nothing in it refers to the reader's buffers.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	for {
		if r.src == nil {
			if r.next == len(r.names) {
				r.err = io.EOF
				return r.err
			}
			if err := r.openNext(); err != nil {
				r.err = err
				return err
			}
		}
		data, ci, lt, err := r.read()
		if err != nil {
			if err == io.EOF {
				r.src.close()
				r.src = nil
				continue
			}
			if err == ErrTimeout { // live: nothing arrived; not final
				return err
			}
			r.err = r.readError(err)
			return r.err
		}
		if lt != r.lastType || !r.lastOK {
			if !Supported(lt) {
				r.err = linkTypeError(r.label, lt)
				return r.err
			}
			r.lastType, r.lastOK = lt, true
		}
		r.inFile++
		r.stats.Packets++
		p.Num = r.stats.Packets
		p.Time = ci.Timestamp.UnixNano()
		if r.stats.First == 0 {
			r.stats.First = p.Time
		}
		r.stats.Last = p.Time

		if r.filter != nil {
			ok, err := r.filter.Match(lt, data, ci.Length)
			if err != nil {
				r.err = fmt.Errorf("%s: %w", r.label, err)
				return r.err
			}
			if !ok {
				p.Kind = Filtered
				r.stats.Filtered++
				return nil
			}
		}
		p.Kind = r.dec.Decode(lt, data, ci.Length, &p.Seg)
		switch p.Kind {
		case TCP:
			p.Seg.Time = p.Time
			p.Seg.Packet = p.Num
			r.stats.TCP++
		case NotTCP:
			r.stats.NotTCP++
		case Fragment:
			r.stats.Fragments++
		case Truncated:
			r.stats.Truncated++
		case Malformed:
			r.stats.Malformed++
		}
		return nil
	}
}

// read reads from the current source and turns a panic in the format
// readers, which parse untrusted bytes, into an error.
func (r *Reader) read() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, err error) {
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("%w: the format reader failed: %v", errCorrupt, e)
		}
	}()
	return r.src.readPacket()
}

var errCorrupt = errors.New("corrupt")

// readError turns a read error into the one-line error Next returns, and
// closes the source.
func (r *Reader) readError(err error) error {
	fs, ok := r.src.(*fileSource)
	if !ok {
		r.src.close()
		r.src = nil
		return fmt.Errorf("%s: %w", r.label, err)
	}
	label, ng := r.label, fs.ng != nil
	r.src.close()
	r.src = nil
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: %w after packet %d: %w", label, ErrTruncated, r.inFile, err)
	}
	what := "corrupt pcap record"
	if ng {
		what = "corrupt pcapng block"
	}
	return fmt.Errorf("%s: %s after packet %d: %w", label, what, r.inFile, err)
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Close closes the file being read. Next returns ErrClosed after it.
func (r *Reader) Close() error {
	var err error
	if r.src != nil {
		err = r.src.close()
		r.src = nil
	}
	if r.err == nil || r.err == io.EOF {
		r.err = ErrClosed
	}
	return err
}
