package capture

import (
	"cmp"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

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
	// End is when capture stopped, as pcapng's interface statistics say
	// (isb_endtime, the latest of the files read), 0 if none says; Dropped
	// counts the packets their interfaces dropped (isb_ifdrop).
	End     int64
	Dropped uint64
}

// Reader reads packets from one or more capture files in order, as one
// capture, or from a live interface ([OpenLive]), and decodes them. It is not
// safe for concurrent use, except that the context given to
// [OpenFilesContext] may end at any time.
type Reader struct {
	names  []string
	next   int         // index in names of the next file to open
	src    source      // the file being read, or the interface; nil between files
	file   *fileSource // src when it is a file, whose records Next reads itself
	name   string      // the input src reads, as errors name it (Error.Input)
	live   *liveSource // set for a live capture, also after Close (statistics)
	filter *Filter
	dec    Decoder
	bufs   buffers
	stats  Stats
	err    error  // final: returned by every Next once set
	inFile uint64 // packets read from the current file

	raw rawPacket // the last packet read, for Raw

	// The last link type seen and whether it is supported, so the check
	// runs once per change of link type.
	lastType layers.LinkType
	lastOK   bool

	// Interruption: stop is set, and intr closed, when the context ends;
	// cur is the file being read, whose reads interrupt stops (mu guards it).
	stop      atomic.Bool
	intr      chan struct{}
	mu        sync.Mutex
	cur       *os.File
	stopAfter func() bool // unregisters interrupt from the context
}

// OpenFiles is [OpenFilesContext] with a context that never ends.
func OpenFiles(names []string, filter string) (*Reader, error) {
	return OpenFilesContext(context.Background(), names, filter)
}

// OpenFilesContext opens files to be read in order as one capture. "-" is
// standard input. Each file may be pcap (microsecond or nanosecond
// timestamps, either byte order) or pcapng (several sections and
// interfaces, each interface with its own link type and timestamp
// resolution), and gzip-compressed or not.
//
// filter is a BPF expression exactly as tcpdump takes it, or "" for none;
// packets it rejects are returned with Kind Filtered, so that time still
// advances with them.
//
// The first file is opened, and the filter compiled, before OpenFilesContext
// returns, and their errors are returned here: an [*Error] for the file, or
// the filter's own error for an expression that compiles for no link type.
// Every file named must exist and not be a directory before any is read
// (checkNames); other errors from later files are returned by Next when it
// reaches them.
//
// When ctx ends, reading stops: Next returns [ErrInterrupted], at once even
// when it was waiting for a pipe, FIFO or terminal (standard input among
// them) whose writer stalled. An interruption while the first file is
// being opened is not an error of OpenFilesContext: Next reports it.
func OpenFilesContext(ctx context.Context, names []string, filter string) (*Reader, error) {
	if len(names) == 0 {
		return nil, errors.New("no capture files to read")
	}
	if err := checkNames(names); err != nil {
		return nil, err
	}
	r := &Reader{names: names, intr: make(chan struct{}), stopAfter: func() bool { return false }}
	if ctx.Done() != nil {
		r.stopAfter = context.AfterFunc(ctx, r.interrupt)
	}
	if err := r.openNext(); err != nil {
		r.stopAfter()
		return nil, err
	}
	if r.src == nil {
		return r, nil // interrupted
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

// checkNames returns the error of the first of names that does not exist
// or is a directory, before anything is read: a mistyped last file is
// reported at once, not after the files before it were read. Standard
// input ("-") is not checked.
func checkNames(names []string) error {
	for _, name := range names {
		if name == "-" {
			continue
		}
		fi, err := os.Stat(name)
		switch {
		case err != nil:
			return &Error{Op: "open", Input: name, Err: osCause(err)}
		case fi.IsDir():
			return &Error{Op: "open", Input: name, Err: syscall.EISDIR}
		}
	}
	return nil
}

// openNext opens the next file in the list. When it is interrupted, it
// returns nil with r.err set to ErrInterrupted.
func (r *Reader) openNext() error {
	r.name = r.names[r.next]
	r.next++
	r.inFile = 0
	f, own, err := openInput(r.name, r.intr)
	if err == nil {
		r.setCur(f)
		var src *fileSource
		if src, err = openStream(f, &r.bufs); err == nil {
			if own {
				src.f = f
			}
			r.use(src)
			return nil
		}
		r.setCur(nil)
		if own {
			f.Close()
		}
	}
	if r.stop.Load() {
		r.err = ErrInterrupted
		return nil
	}
	return r.inputError("open", 0, err)
}

// use makes src the file being read.
func (r *Reader) use(src *fileSource) {
	r.src, r.file = src, src
}

// inputError is the *Error for the input being read.
func (r *Reader) inputError(op string, packet uint64, cause error) error {
	if r.live != nil {
		packet = 0
	}
	return &Error{Op: op, Input: r.name, Live: r.live != nil, Packet: packet, Err: cause}
}

// interrupt stops the reading (the context ended): Next returns
// ErrInterrupted from now on, and a read blocked on a pipe, FIFO or
// terminal returns at once. It may be called from any goroutine.
func (r *Reader) interrupt() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stop.Swap(true) {
		return
	}
	close(r.intr)
	if r.cur != nil {
		r.cur.SetReadDeadline(time.Unix(1, 0)) // not pollable (a regular file): ErrNoDeadline
	}
}

// setCur records the file being read, for interrupt.
func (r *Reader) setCur(f *os.File) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cur = f
	if f != nil && r.stop.Load() {
		f.SetReadDeadline(time.Unix(1, 0))
	}
}

// Next reads the next packet into p. It returns io.EOF after the last packet
// of the last file, and ErrInterrupted once the context given to
// OpenFilesContext ended. Any other error is an [*Error] naming the input,
// the packet and the problem. Every error is final (every later call
// returns it); every packet returned before it stays valid.
//
// Next does not allocate in the steady state: p is filled in place, and
// nothing in it refers to the reader's buffers.
func (r *Reader) Next(p *Packet) error {
	if r.err != nil {
		return r.err
	}
	if r.stop.Load() {
		return r.fail(ErrInterrupted)
	}
	for {
		if r.src == nil {
			if r.next == len(r.names) {
				r.err = io.EOF
				return r.err
			}
			if err := r.openNext(); err != nil || r.err != nil {
				return r.fail(cmp.Or(err, r.err))
			}
		}
		data, ts, wireLen, lt, err := r.read()
		if err != nil {
			if err == io.EOF {
				r.closeSource()
				continue
			}
			if err == ErrTimeout { // live: nothing arrived; not final
				return err
			}
			if r.stop.Load() {
				return r.fail(ErrInterrupted) // the read failed because it was stopped
			}
			return r.fail(r.inputError("read", r.inFile+1, err))
		}
		if lt != r.lastType || !r.lastOK {
			if !Supported(lt) {
				return r.fail(r.inputError("read", r.inFile+1, linkTypeError(lt)))
			}
			r.lastType, r.lastOK = lt, true
		}
		// The filter first: a packet it cannot be applied to (its link
		// type's filter does not compile) ends the input uncounted.
		pass := true
		if r.filter != nil {
			ok, err := r.filter.Match(lt, data, wireLen)
			if err != nil {
				return r.fail(r.inputError("read", r.inFile+1, err))
			}
			pass = ok
		}
		r.inFile++
		r.stats.Packets++
		p.Num = r.stats.Packets
		p.Time = ts
		if r.stats.First == 0 {
			r.stats.First = p.Time
		}
		r.stats.Last = p.Time
		if !pass {
			p.Kind = Filtered
			r.stats.Filtered++
			return nil
		}
		r.decode(p, lt, data, wireLen)
		return nil
	}
}

// read reads the next packet of the source and keeps it for Raw: its bytes,
// capture time (ns since the epoch), length on the wire and link type. A
// file's records are read here, and their header's fields kept as
// they are, rather than through the source's readPacket and its capture
// info: on the medium benchmark capture, moving the capture info from
// function to function cost more than decoding the headers.
func (r *Reader) read() (data []byte, ts int64, wireLen int, lt layers.LinkType, err error) {
	if s := r.file; s != nil {
		data, rec, lt, err := s.record()
		if err != nil {
			return nil, 0, 0, 0, err
		}
		r.raw.data, r.raw.rec, r.raw.file, r.raw.lt = data, rec, true, lt
		return data, rec.time, rec.length, lt, nil
	}
	data, ci, lt, err := r.src.readPacket()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	r.raw = rawPacket{data: data, ci: ci, lt: lt}
	return data, unixNano(ci.Timestamp), ci.Length, lt, nil
}

// decode decodes a packet that passed the filter into p and counts it.
func (r *Reader) decode(p *Packet, lt layers.LinkType, data []byte, wireLen int) {
	r.dec.now = p.Time
	p.Kind = r.dec.Decode(lt, data, wireLen, &p.Seg)
	if p.Kind == TCP || p.Kind == ICMPError {
		p.Seg.Time, p.Seg.Packet = p.Time, p.Num
	}
	switch p.Kind {
	case TCP:
		r.stats.TCP++
	case NotTCP, ICMPError: // (an ICMP error is not TCP, though about it)
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
	r.setCur(nil)
	if fs, ok := r.src.(*fileSource); ok {
		end, dropped := fs.ended()
		r.stats.End = max(r.stats.End, end)
		r.stats.Dropped += dropped
	}
	err := r.src.close()
	r.src, r.file = nil, nil
	return err
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Close closes the file being read. Next returns ErrClosed after it.
func (r *Reader) Close() error {
	if r.stopAfter != nil {
		r.stopAfter()
	}
	err := r.closeSource()
	if r.err == nil || r.err == io.EOF || r.err == ErrInterrupted {
		r.err = ErrClosed
	}
	return err
}

// unixNano is t in nanoseconds since the epoch. A timestamp of 0 in the
// file comes as Go's zero time from some readers, whose UnixNano is out of
// range (a date in 1754): it is the epoch, as tcpdump prints it.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
