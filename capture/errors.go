package capture

import (
	"errors"
	"io"
	"os"
	"strconv"
)

// Error is the error for an input that could not be opened or read further:
// a capture file, standard input or an interface. Its message is one line:
// the operation, the input, the packet at which reading failed (when it
// did) and the cause,
//
//	open "x.pcap": not a pcap or pcapng file (magic 0x7f454c46)
//	read "x.pcap": packet 3: truncated: the capture ends inside this packet's record
//	open interface "eth9": no such interface; available: eth0, lo
//
// Every packet that [Reader.Next] returned before the error stays valid.
// The cause is wrapped: errors.Is finds [ErrTruncated], [ErrNotCapture],
// fs.ErrNotExist, ... through it.
type Error struct {
	Op    string // "open" (the input, its header, a filter for its link type) or "read" (a packet)
	Input string // the file name as given ("-" is standard input), or the interface's name
	Live  bool   // Input is an interface
	// Packet is the number, counted from 1 in this input, of the packet that
	// could not be read: the packets before it were. 0 when the input could
	// not be opened, and for interfaces.
	Packet uint64
	Err    error // the cause
}

func (e *Error) Error() string {
	b := make([]byte, 0, 64)
	b = append(b, e.Op...)
	b = append(b, ' ')
	b = append(b, e.input()...)
	if e.Packet > 0 {
		b = append(b, ": packet "...)
		b = strconv.AppendUint(b, e.Packet, 10)
	}
	b = append(b, ": "...)
	b = append(b, e.Err.Error()...)
	return string(b)
}

// input is how the message names the input.
func (e *Error) input() string {
	switch {
	case e.Live:
		return "interface " + strconv.Quote(e.Input)
	case e.Input == "-":
		return "standard input"
	}
	return strconv.Quote(e.Input)
}

func (e *Error) Unwrap() error { return e.Err }

// Causes wrapped by [Error], for errors.Is.
var (
	// ErrNotCapture: the input is neither pcap nor pcapng (nor a
	// gzip-compressed one).
	ErrNotCapture = errors.New("not a pcap or pcapng file")
	// ErrEmpty: the input has no bytes at all.
	ErrEmpty = errors.New("empty file")
	// ErrTruncated: the input ends inside a header or a record, typically
	// because the capture that wrote it was killed or the copy was cut.
	ErrTruncated = errors.New("truncated")
	// ErrLinkType: a link type the decoder does not understand.
	ErrLinkType = errors.New("not supported")
	// ErrBadFilter: libpcap could not compile the filter expression.
	ErrBadFilter = errors.New("bad filter")
	// ErrNoLibpcap: this tcpwatch was built without cgo, so it has no
	// libpcap to compile filters or capture live.
	ErrNoLibpcap = errors.New("this tcpwatch was built without cgo (libpcap); rebuild with CGO_ENABLED=1")
)

// ErrInterrupted is returned by [Reader.Next] once the context given to
// [OpenFilesContext] is done: the packets read before stay valid, and the
// read that was waiting for more is abandoned.
var ErrInterrupted = errors.New("capture: reading interrupted")

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("capture: reader closed")

// truncation is the cause for an input that ends inside something: it says
// where, and is both ErrTruncated and io.ErrUnexpectedEOF.
type truncation string

func (t truncation) Error() string   { return "truncated: the capture ends " + string(t) }
func (t truncation) Unwrap() []error { return []error{ErrTruncated, io.ErrUnexpectedEOF} }

// osCause strips the *os.PathError from an error of the os package: the
// Error around it names the input already.
func osCause(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
