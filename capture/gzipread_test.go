package capture

import (
	"bufio"
	"errors"
	"io"
	"syscall"
	"testing"
)

// failAfter returns its data, then err.
type failAfter struct {
	data []byte
	err  error
}

func (f *failAfter) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestGzipReadErrorBetweenMembersIsKept: an I/O error from the file while
// the next member's header is read (here: after its first byte) is that
// error, not "data after the end of the gzip stream is not gzip".
func TestGzipReadErrorBetweenMembersIsKept(t *testing.T) {
	second := gz(t, []byte("more"))
	src := &failAfter{data: cat(gz(t, []byte("first")), second[:1]), err: syscall.EIO}
	var m members
	if err := m.reset(bufio.NewReaderSize(src, 16)); err != nil {
		t.Fatal(err)
	}
	_, err := io.ReadAll(&m)
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("read error %v, want %v", err, syscall.EIO)
	}
}
