package capture

import (
	"bufio"
	"compress/gzip"
	"io"
)

// members reads the members of a gzip stream one after another, as
// gzip's multistream mode does, and also takes zero bytes after the last
// member for the end of the stream, as gzip(1) does ("trailing zero
// ignored"): a file padded to a block size with zeros decompresses to the
// capture it holds. Its final error (io.EOF included) is repeated.
type members struct {
	gz  *gzip.Reader
	src *bufio.Reader // the compressed stream; gz reads it byte-exactly (it is an io.ByteReader)
	err error
}

// reset starts reading the gzip stream src, reading its first header.
func (m *members) reset(src *bufio.Reader) error {
	m.src, m.err = src, nil
	var err error
	if m.gz == nil {
		m.gz, err = gzip.NewReader(src)
	} else {
		err = m.gz.Reset(src)
	}
	if err == nil {
		m.gz.Multistream(false)
	}
	return err
}

func (m *members) Read(p []byte) (int, error) {
	for m.err == nil {
		n, err := m.gz.Read(p)
		switch {
		case err == io.EOF:
			m.err = m.next()
		case err != nil:
			m.err = err
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
	return 0, m.err
}

// next starts the next member, once one has ended: io.EOF if only zeros
// (or nothing) follow, errTrailing if what follows is not a member, or the
// next member's header error.
func (m *members) next() error {
	zeros := false
	for {
		b, err := m.src.ReadByte()
		switch {
		case err != nil:
			return err // io.EOF: the stream ended after its last member
		case b == 0:
			zeros = true
			continue
		case zeros:
			return errTrailing
		}
		m.src.UnreadByte()
		magic, err := m.src.Peek(2)
		if err != nil && err != io.EOF {
			return err // the file's own error, not what it holds
		}
		if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
			return errTrailing
		}
		if err := m.gz.Reset(m.src); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		m.gz.Multistream(false)
		return nil
	}
}

// errTrailing: what follows a gzip stream's last member is neither zeros
// nor another member. It is a bad gzip header (errors.Is), said as what it
// is: data after the stream, which gzip(1) ignores as trailing garbage.
var errTrailing error = trailingError{}

type trailingError struct{}

func (trailingError) Error() string {
	return "data after the end of the gzip stream is not gzip (gzip -d ignores it as trailing garbage)"
}

func (trailingError) Is(target error) bool { return target == gzip.ErrHeader }
