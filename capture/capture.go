package capture

import (
	"errors"
	"io"

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

// Reader reads packets from one or more capture files in order, as one
// capture, or from a live interface ([OpenLive]), and decodes them. It is not
// safe for concurrent use.
type Reader struct {
	names  []string
	next   int         // index in names of the next file to open
	src    source      // the file being read, or the interface; nil between files
	name   string      // the input src reads, as errors name it (Error.Input)
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

// OpenFiles opens files to be read in order as one capture. "-" is
// standard input. Each file may be pcap (microsecond or nanosecond
// timestamps, either byte order) or pcapng (several sections and
// interfaces, each interface with its own link type and timestamp
// resolution), and gzip-compressed or not.
//
// filter is a BPF expression exactly as tcpdump takes it, or "" for none;
// packets it rejects are returned with Kind Filtered, so that time still
// advances with them.
//
// The first file is opened, and the filter compiled, before OpenFiles
// returns, and their errors are returned here: an [*Error] for the file, or
// the filter's own error for an expression that compiles for no link type.
// Errors from later files are returned by Next when it reaches them.
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
		r.Close()
		if forLinkType(err) {
			err = r.inputError("open", 0, err)
		}
		return nil, err
	}
	r.filter = f
	return r, nil
}

// openNext opens the next file in the list.
func (r *Reader) openNext() error {
	r.name = r.names[r.next]
	r.next++
	r.inFile = 0
	f, own, err := openInput(r.name)
	if err == nil {
		var src *fileSource
		if src, err = openStream(f, &r.bufs); err == nil {
			if own {
				src.f = f
			}
			r.src = src
			return nil
		}
		if own {
			f.Close()
		}
	}
	return r.inputError("open", 0, err)
}

// inputError is the *Error for the input being read.
func (r *Reader) inputError(op string, packet uint64, cause error) error {
	if r.live != nil {
		packet = 0
	}
	return &Error{Op: op, Input: r.name, Live: r.live != nil, Packet: packet, Err: cause}
}

// Next reads the next packet into p. It returns io.EOF after the last packet
// of the last file. Any other error is an [*Error] naming the input,
// the packet and the problem. Every error is final (every later call
// returns it); every packet returned before it stays valid.
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
				return r.fail(err)
			}
		}
		data, ci, lt, err := r.src.readPacket()
		if err != nil {
			if err == io.EOF {
				r.closeSource()
				continue
			}
			if err == ErrTimeout { // live: nothing arrived; not final
				return err
			}
			return r.fail(r.inputError("read", r.inFile+1, err))
		}
		if lt != r.lastType || !r.lastOK {
			if !Supported(lt) {
				return r.fail(r.inputError("read", r.inFile+1, linkTypeError(lt)))
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
				return r.fail(r.inputError("read", r.inFile, err))
			}
			if !ok {
				p.Kind = Filtered
				r.stats.Filtered++
				return nil
			}
		}
		r.decode(p, lt, data, ci.Length)
		return nil
	}
}

// decode decodes a packet that passed the filter into p and counts it.
func (r *Reader) decode(p *Packet, lt layers.LinkType, data []byte, wireLen int) {
	p.Kind = r.dec.Decode(lt, data, wireLen, &p.Seg)
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
}

// fail makes err final and closes the source.
func (r *Reader) fail(err error) error {
	r.err = err
	r.closeSource()
	return err
}

// closeSource closes the source being read, if any.
func (r *Reader) closeSource() error {
	if r.src == nil {
		return nil
	}
	err := r.src.close()
	r.src = nil
	return err
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Close closes the file being read. Next returns ErrClosed after it.
func (r *Reader) Close() error {
	err := r.closeSource()
	if r.err == nil || r.err == io.EOF {
		r.err = ErrClosed
	}
	return err
}
