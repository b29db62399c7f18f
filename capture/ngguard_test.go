package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// guarded reads all of data through an ngGuard whose source gives at most
// chunk bytes a read (0: as much as asked).
func guarded(data []byte, chunk int) ([]byte, error) {
	var src io.Reader = bytes.NewReader(data)
	if chunk > 0 {
		src = &chunked{r: src, n: chunk}
	}
	g := &ngGuard{}
	g.reset(src)
	return io.ReadAll(g)
}

type chunked struct {
	r io.Reader
	n int
}

func (c *chunked) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// FuzzNgGuard: whatever the stream, the guard passes a prefix of it, the
// same prefix and the same error however the stream comes in reads (its
// walk carries block headers split across them), and stops it only with
// its own errors: a limit passed, or a block length no block can have.
func FuzzNgGuard(f *testing.F) {
	f.Add(goodNg.b, uint8(1))
	f.Add(cat(goodNg.b, le32(6), le32(1<<30), make([]byte, 40)), uint8(3))
	f.Add(cat(goodNg.b, le32(ngNameResolution), le32(5<<20)), uint8(7))
	f.Add(goodPcap, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		whole, werr := guarded(data, 0)
		pieces, perr := guarded(data, int(chunk%16)+1)
		if !bytes.Equal(whole, pieces) || (werr == nil) != (perr == nil) {
			t.Fatalf("read whole: %d bytes, %v; in pieces: %d bytes, %v", len(whole), werr, len(pieces), perr)
		}
		if !bytes.HasPrefix(data, whole) {
			t.Fatal("the guard passed bytes the stream did not hold")
		}
		var limit ngLimitError
		var corrupt ngCorruptError
		if werr != nil && !errors.As(werr, &limit) && !errors.As(werr, &corrupt) {
			t.Fatalf("stopped with %v, not the guard's", werr)
		}
		if werr == nil && len(whole) != len(data) {
			t.Fatalf("passed %d of %d bytes without an error", len(whole), len(data))
		}
	})
}

// TestNgGuardPassesWhatToolsWrite: a capture of many interfaces and name
// records, each within the limits, passes whole.
func TestNgGuardPassesWhatToolsWrite(t *testing.T) {
	b := &ngBuilder{order: binary.BigEndian}
	b.section()
	for range 1000 {
		b.iface(layers.LinkTypeEthernet, 0)
	}
	b.packet(rec{ts: t0, data: ethSYN})
	data := cat(b.b, be32(ngNameResolution), be32(1<<20), make([]byte, 1<<20-12), be32(1<<20))
	got, err := guarded(data, 0)
	if err != nil || len(got) != len(data) {
		t.Fatalf("passed %d of %d bytes, %v", len(got), len(data), err)
	}
}
