package capture

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"github.com/gopacket/gopacket/pcapgo"
)

// source is where packets come from: a file today, a live interface later.
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

// ErrNotCapture is wrapped by the error for a file that is neither pcap nor
// pcapng (nor a gzip-compressed one).
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// ErrEmpty is wrapped by the error for a zero-length input.
var ErrEmpty = errors.New("empty file")

// ErrTruncated is wrapped by the error for an input that ends inside a
// record: the file was cut short, typically by a capture that was killed.
var ErrTruncated = errors.New("truncated")

// ErrLinkType is wrapped by the error for a link type the decoder does not
// understand.
var ErrLinkType = errors.New("not supported")

// fileSource reads a pcap or pcapng file.
type fileSource struct {
	label string    // the name as errors show it: "x.pcap" quoted, or standard input
	c     io.Closer // nil for standard input
	gz    *gzip.Reader
	pcap  *pcapgo.Reader
	ng    *pcapgo.NgReader
	lt    layers.LinkType // for pcap
}

// buffers are the bufio.Readers a Reader reuses from file to file.
type buffers struct {
	file, gunzip *bufio.Reader
	gz           *gzip.Reader
}

// quoteName is how errors name an input.
func quoteName(name string) string {
	if name == "-" {
		return "standard input"
	}
	return strconv.Quote(name)
}

// openFile opens a capture file ("-" is standard input) and reads its header.
func openFile(name string, bufs *buffers) (*fileSource, error) {
	label := quoteName(name)
	if name == "-" {
		return openStream(label, os.Stdin, nil, bufs)
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("open %s: %w", label, err)
	}
	src, err := openStream(label, f, f, bufs)
	if err != nil {
		f.Close()
		return nil, err
	}
	return src, nil
}

// openStream reads the header of a capture from rd. closer, if not nil, is
// closed with the source.
func openStream(label string, rd io.Reader, closer io.Closer, bufs *buffers) (src *fileSource, err error) {
	s := &fileSource{label: label, c: closer}
	if bufs.file == nil {
		bufs.file = bufio.NewReaderSize(rd, readBufferSize)
	} else {
		bufs.file.Reset(rd)
	}
	br := bufs.file
	head, err := br.Peek(4)
	if len(head) == 0 {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: %w", s.label, ErrEmpty)
		}
		return nil, fmt.Errorf("read %s: %w", s.label, err)
	}
	if len(head) >= 2 && binary.BigEndian.Uint16(head) == magicGzip {
		if bufs.gz == nil {
			bufs.gz, err = gzip.NewReader(br)
		} else {
			err = bufs.gz.Reset(br)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", s.label, noEOF(err))
		}
		s.gz = bufs.gz
		if bufs.gunzip == nil {
			bufs.gunzip = bufio.NewReaderSize(s.gz, readBufferSize)
		} else {
			bufs.gunzip.Reset(s.gz)
		}
		br = bufs.gunzip
		head, err = br.Peek(4)
		if len(head) == 0 && err == io.EOF {
			return nil, fmt.Errorf("%s: %w (after gzip decompression)", s.label, ErrEmpty)
		}
	}
	if len(head) < 4 {
		if err != nil && err != io.EOF {
			if s.gz != nil {
				return nil, fmt.Errorf("%s: gzip: %w", s.label, err)
			}
			return nil, fmt.Errorf("read %s: %w", s.label, err)
		}
		return nil, fmt.Errorf("%s: %w (only %d bytes)", s.label, ErrNotCapture, len(head))
	}
	switch magic := binary.BigEndian.Uint32(head); magic {
	case magicPcapMicro, magicPcapMicroLE, magicPcapNano, magicPcapNanoLE:
		s.pcap, err = pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: pcap file header: %w", s.label, noEOF(err))
		}
		s.lt = s.pcap.LinkType()
		if !Supported(s.lt) {
			return nil, linkTypeError(s.label, s.lt)
		}
	case magicPcapng:
		s.ng, err = pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("%s: corrupt pcapng section header: %w", s.label, noEOF(err))
		}
	default:
		return nil, fmt.Errorf("%s: %w (magic %#08x)", s.label, ErrNotCapture, magic)
	}
	return s, nil
}

// noEOF turns a plain EOF inside a header into the unexpected EOF it is.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func linkTypeError(label string, lt layers.LinkType) error {
	return fmt.Errorf("%s: link type %s (%d) %w", label, LinkTypeName(lt), uint16(lt), ErrLinkType)
}

func (s *fileSource) readPacket() (data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, err error) {
	if s.pcap != nil {
		data, ci, err = s.pcap.ZeroCopyReadPacketData()
		return data, ci, s.lt, err
	}
	data, ci, err = s.ng.ZeroCopyReadPacketData()
	if err == nil {
		// WantMixedLinkType puts the interface's link type here.
		if len(ci.AncillaryData) > 0 {
			lt, _ = ci.AncillaryData[0].(layers.LinkType)
		}
	}
	return data, ci, lt, err
}

func (s *fileSource) close() error {
	if s.c == nil {
		return nil
	}
	return s.c.Close()
}

// LinkTypeName returns libpcap's name for a link type (LINKTYPE_ without the
// prefix), or "UNKNOWN".
func LinkTypeName(lt layers.LinkType) string {
	if n, ok := linkTypeNames[lt]; ok {
		return n
	}
	if lt >= 104 { // libpcap's DLT_ and LINKTYPE_ values agree from 104 on
		if n := pcap.DatalinkValToName(int(lt)); n != "" {
			return n
		}
	}
	return "UNKNOWN"
}

// linkTypeNames names the link types whose LINKTYPE_ value is not the DLT_
// value libpcap knows them by.
var linkTypeNames = map[layers.LinkType]string{
	0: "NULL", 1: "ETHERNET", 3: "AX25", 6: "IEEE802_5", 7: "ARCNET_BSD", 8: "SLIP",
	9: "PPP", 10: "FDDI", 12: "RAW", 14: "RAW", 50: "PPP_HDLC", 51: "PPP_ETHER",
	100: "ATM_RFC1483", 101: "RAW",
}
