package capture

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// source is where packets come from: a file or a live interface.
// The data a source returns is valid until its next call.
type source interface {
	// readPacket returns the next packet: its captured bytes, its capture
	// info (time, captured and wire length) and its link type. It returns
	// io.EOF at the clean end of the input and any other error when the input
	// cannot be read further.
	readPacket() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, err error)
	close() error
}

// File magics, as the first four bytes read big-endian.
const (
	magicPcapMicro   = 0xa1b2c3d4
	magicPcapMicroLE = 0xd4c3b2a1
	magicPcapNano    = 0xa1b23c4d
	magicPcapNanoLE  = 0x4d3cb2a1
	magicPcapng      = 0x0a0d0d0a // section header block type, a palindrome
	magicGzip        = 0x1f8b     // first two bytes
)

// readBufferSize is the buffer between the file and the format readers.
// Large reads keep system calls rare; 1 MiB is where the gain levels off.
const readBufferSize = 1 << 20

// fileSource reads a pcap or pcapng file.
type fileSource struct {
	f    *os.File // closed with the source; nil for standard input and for streams
	gz   *members // the gzip stream's members, when the file is compressed
	pcap *pcapgo.Reader
	recs *pcapRecords    // pcap's records, read past pcap (pcaprecords.go)
	ng   *ngRecords      // pcapng's records (ngrecords.go)
	lt   layers.LinkType // for pcap
	// From pcapng's interface statistics blocks (written by dumpcap when
	// it stops): when capture stopped (isb_endtime, ns; 0: not said), and
	// the packets each interface dropped (isb_ifdrop, the latest count).
	end       int64
	ifDropped []uint64
}

// interfaceStatistics takes one interface statistics block.
func (s *fileSource) interfaceStatistics(id int, st pcapgo.NgInterfaceStatistics) {
	if !st.EndTime.IsZero() {
		s.end = max(s.end, st.EndTime.UnixNano())
	}
	if st.PacketsDropped != pcapgo.NgNoValue64 && id >= 0 && id < 1<<16 {
		for len(s.ifDropped) <= id {
			s.ifDropped = append(s.ifDropped, 0)
		}
		s.ifDropped[id] = st.PacketsDropped
	}
}

// ended returns when capture stopped and how many packets the interfaces
// dropped, as the file's statistics blocks say.
func (s *fileSource) ended() (end int64, dropped uint64) {
	for _, n := range s.ifDropped {
		dropped += n
	}
	return s.end, dropped
}

// buffers are the bufio.Readers a Reader reuses from file to file.
type buffers struct {
	file, gunzip     *bufio.Reader
	gz               *members
	fileNg, gunzipNg ngGuard // below file and gunzip (ngguard.go)
}

// openInput opens a capture file for reading ("-" is standard input) in a
// way an interruption can stop: own says whether to close f after it.
//
// Reads from a regular file do not block. A pipe, FIFO or terminal is read
// through Go's poller, whose read deadline interrupt sets: os.Open puts
// FIFOs there, and standard input is reopened through /proc (stdinFile).
// Opening a FIFO blocks until a writer opens it, so it is opened aside and
// abandoned when intr is closed first.
func openInput(name string, intr <-chan struct{}) (f *os.File, own bool, err error) {
	if name == "-" {
		f, own = stdinFile()
		return f, own, nil
	}
	if fi, err := os.Stat(name); err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
		f, err = openFIFO(name, intr)
		return f, true, err
	}
	f, err = os.Open(name)
	return f, true, osCause(err)
}

// openFIFO opens a FIFO unless intr is closed before a writer opens it.
func openFIFO(name string, intr <-chan struct{}) (*os.File, error) {
	type opened struct {
		f   *os.File
		err error
	}
	done := make(chan opened, 1)
	go func() {
		f, err := os.Open(name)
		done <- opened{f, err}
	}()
	select {
	case o := <-done:
		return o.f, osCause(o.err)
	case <-intr:
		go func() {
			if o := <-done; o.f != nil {
				o.f.Close()
			}
		}()
		return nil, ErrInterrupted
	}
}

// stdinFile returns standard input as a file an interruption can stop, and
// whether it is a new file to close after reading. A regular file is read
// as it is (its reads do not block), and so is a descriptor already in
// Go's poller. A pipe, FIFO or terminal is reopened through /proc/self/fd:
// a new open file description, which Go makes non-blocking and polls,
// without changing the mode of the one the shell and other processes share.
// Where that is impossible (a socket, no /proc), standard input is read as
// it is and an interruption waits for its read to return.
func stdinFile() (*os.File, bool) {
	in := os.Stdin
	if fi, err := in.Stat(); err == nil && fi.Mode().IsRegular() {
		return in, false
	}
	if in.SetReadDeadline(time.Time{}) == nil {
		return in, false
	}
	rc, err := in.SyscallConn()
	if err != nil {
		return in, false
	}
	var name string
	rc.Control(func(fd uintptr) { name = "/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10) })
	// O_NONBLOCK: opening a pipe for reading must not wait for a writer
	// (the one that filled it may be gone).
	f, err := os.OpenFile(name, os.O_RDONLY|nonblock, 0)
	if err != nil {
		return in, false
	}
	return f, true
}

// openStream reads the header of a capture from rd. Its errors are the
// causes an *Error wraps.
func openStream(rd io.Reader, bufs *buffers) (*fileSource, error) {
	s := &fileSource{}
	bufs.fileNg.reset(rd)
	if bufs.file == nil {
		bufs.file = bufio.NewReaderSize(&bufs.fileNg, readBufferSize)
	} else {
		bufs.file.Reset(&bufs.fileNg)
	}
	br := bufs.file
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == io.EOF {
			return nil, ErrEmpty
		}
		return nil, osCause(err)
	}
	if len(head) >= 2 && binary.BigEndian.Uint16(head) == magicGzip {
		if br, err = s.gunzip(br, bufs); err != nil {
			return nil, err
		}
		head, err = br.Peek(4)
		if len(head) == 0 && err == io.EOF {
			return nil, fmt.Errorf("%w (%s)", ErrEmpty, gunzipped)
		}
	}
	if len(head) < 4 {
		if err != nil && err != io.EOF {
			return nil, s.streamError(err, "inside its first four bytes", "corrupt capture")
		}
		if len(head) == 1 {
			return nil, fmt.Errorf("%w (only 1 byte%s)", ErrNotCapture, s.afterGzip())
		}
		return nil, fmt.Errorf("%w (only %d bytes%s)", ErrNotCapture, len(head), s.afterGzip())
	}
	return s, s.openFormat(br, binary.BigEndian.Uint32(head))
}

// gunzipped is what an error about a file's first bytes says when they
// are those of its gzip stream's contents.
const gunzipped = "after gzip decompression"

// afterGzip is gunzipped after a space if s is gzip-compressed, else "".
func (s *fileSource) afterGzip() string {
	if s.gz != nil {
		return " " + gunzipped
	}
	return ""
}

// gunzip starts decompressing br and returns the reader of what it holds.
func (s *fileSource) gunzip(br *bufio.Reader, bufs *buffers) (*bufio.Reader, error) {
	var err error
	if bufs.gz == nil {
		bufs.gz = new(members)
	}
	err = bufs.gz.reset(br)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, truncation("inside its gzip header")
		}
		return nil, osCause(err)
	}
	s.gz = bufs.gz
	bufs.gunzipNg.reset(s.gz)
	if bufs.gunzip == nil {
		bufs.gunzip = bufio.NewReaderSize(&bufs.gunzipNg, readBufferSize)
	} else {
		bufs.gunzip.Reset(&bufs.gunzipNg)
	}
	return bufs.gunzip, nil
}

// openFormat reads the pcap file header or the first pcapng section header
// from br, whose first four bytes are magic.
func (s *fileSource) openFormat(br *bufio.Reader, magic uint32) error {
	var err error
	switch magic {
	case magicPcapMicro, magicPcapMicroLE, magicPcapNano, magicPcapNanoLE:
		if s.pcap, err = pcapgo.NewReader(br); err != nil {
			return s.streamError(err, "inside the pcap file header", "corrupt pcap file header")
		}
		s.lt = s.pcap.LinkType()
		s.recs = newPcapRecords(br, magic, s.pcap.Snaplen())
		if !Supported(s.lt) {
			return linkTypeError(s.lt)
		}
	case magicPcapng:
		opts := pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true,
			StatisticsCallback: s.interfaceStatistics}
		if s.ng, err = newNgRecords(br, opts); err != nil {
			return s.streamError(err, "inside the pcapng section header", "corrupt pcapng section header")
		}
	default:
		return fmt.Errorf("%w (magic %#08x%s)", ErrNotCapture, magic, s.afterGzip())
	}
	return nil
}

// streamError is the cause for err, which stopped the reading of a header
// or a record: where the capture ends if the stream below the format
// reader ended, the gzip stream's or the file's own error, or else what
// is corrupt (what) and how.
func (s *fileSource) streamError(err error, where truncation, what string) error {
	switch {
	case isGzipError(err):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF || endsUnexpectedly(err):
		if s.gz != nil {
			if gzErr := gzipEnd(s.gz); gzErr != io.EOF {
				return gzErr // the format reader only saw the stream stop
			}
		}
		return where
	}
	if _, ok := err.(*os.PathError); ok {
		return osCause(err)
	}
	return fmt.Errorf("%s: %w", what, lowerFirst{err})
}

// lowerFirst is an error whose message starts lower case, as every other
// part of tcpwatch's one-line errors does ("Unknown major version 3", from
// pcapgo, reads "unknown major version 3"); a word in capitals (EOF) stays.
type lowerFirst struct{ error }

func (e lowerFirst) Error() string {
	m := e.error.Error()
	if len(m) > 1 && 'A' <= m[0] && m[0] <= 'Z' && 'a' <= m[1] && m[1] <= 'z' {
		return string(m[0]+'a'-'A') + m[1:]
	}
	return m
}

func (e lowerFirst) Unwrap() error { return e.error }

// endsUnexpectedly reports whether err is one of pcapgo's errors around
// io.ErrUnexpectedEOF that keep only its text (those of a name resolution
// block: "could not read name: unexpected EOF").
func endsUnexpectedly(err error) bool {
	return strings.HasSuffix(err.Error(), ": "+io.ErrUnexpectedEOF.Error())
}

// gzipEnd returns io.EOF if gz ended cleanly (its trailer read and its
// checksum right), and otherwise the reason it stopped. The format readers
// return io.EOF when the stream below them stops at a record boundary, even
// when it stopped because it was cut short.
func gzipEnd(gz io.Reader) error {
	var b [1]byte
	n, err := gz.Read(b[:]) // a gzip.Reader repeats its final error
	switch {
	case n == 0 && err == io.EOF:
		return io.EOF
	case err == io.EOF || err == nil:
		return errors.New("gzip stream goes on after the capture's end")
	case err == io.ErrUnexpectedEOF:
		return truncation("before the end of its gzip stream")
	}
	return osCause(err)
}

// isGzipError reports whether err is the gzip stream's own (a bad header,
// checksum or deflate data).
func isGzipError(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &corrupt)
}

func linkTypeError(lt layers.LinkType) error {
	return fmt.Errorf("link type %s (%d) %w", LinkTypeName(lt), uint16(lt), ErrLinkType)
}

// readPacket reads the next record, with its capture info.
func (s *fileSource) readPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, rec, lt, err := s.record()
	return data, rec.info(), lt, err
}

// record reads the next record: its data, header and link type. The format
// readers turn a panic in what they call, which parses untrusted bytes,
// into an error.
func (s *fileSource) record() (data []byte, rec pcapRecord, lt layers.LinkType, err error) {
	if s.pcap != nil {
		data, rec, err = s.recs.next()
		lt = s.lt
	} else {
		data, rec, lt, err = s.ng.next()
	}
	if err != nil {
		err = s.endError(err, rec.caplen)
	}
	return data, rec, lt, err
}

// endError is io.EOF at the clean end of the capture, and otherwise the
// cause of err, the format reader's error for a record whose header gave
// caplen.
func (s *fileSource) endError(err error, caplen int) error {
	switch {
	case err == io.EOF && s.pcap != nil && caplen > 0:
		// pcapgo read the record header, then no byte of the packet:
		// io.ReadFull calls that io.EOF, not io.ErrUnexpectedEOF.
		return truncation("after this packet's record header")
	case err == io.EOF && s.gz != nil:
		// pcapgo's NgReader calls a stream that stops at a block boundary
		// io.EOF even when the stream was cut short.
		return gzipEnd(s.gz)
	case err == io.EOF:
		return io.EOF
	case s.pcap != nil:
		return s.streamError(err, "inside this packet's record", s.what())
	}
	return s.streamError(err, "inside a pcapng block", s.what())
}

// what names the records of the file's format, for errors.
func (s *fileSource) what() string {
	if s.pcap != nil {
		return "corrupt pcap record"
	}
	return "corrupt pcapng block"
}

func (s *fileSource) close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
