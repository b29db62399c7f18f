package report

import (
	"runtime"
	"sync"
)

// Encoding the connections of a large report (hundreds of thousands) is
// most of what tcpwatch does once the input has ended. Each connection
// encodes alone, so a streamed report's are encoded on every core, a
// chunk at a time, and written in their order: the output is the same
// bytes a single loop writes.

// renderChunk is how many connections a worker encodes at a time.
const renderChunk = 256

// renderParallelMin is the fewest connections worth starting workers for.
const renderParallelMin = 4 * renderChunk

// encodeWorkers is how many workers encode connections; 0: one per core
// (GOMAXPROCS), up to 8. Tests set it.
var encodeWorkers = 0

// eachEncoded calls write, in order, with the encodings render appends
// for every connection of r: connection i of a streamed report is made
// (connSource.conn) and encoded by one of several workers. render is
// called concurrently, for different connections; write only from the
// caller's goroutine. The first error of either stops it and is returned.
func (r *Report) eachEncoded(render func(dst []byte, i int, c *Connection) ([]byte, error), write func([]byte) error) error {
	workers := encodeWorkers
	if workers == 0 {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	if r.source == nil || r.NumConnections() < renderParallelMin || workers < 2 {
		var buf []byte
		var err error
		i := 0
		r.each(func(c *Connection) bool {
			if buf, err = render(buf[:0], i, c); err == nil {
				err = write(buf)
			}
			i++
			return err == nil
		})
		return err
	}
	return encodeChunks(r.source, workers, render, write)
}

// chunkSlot holds one chunk's encoding between a worker and the writer.
type chunkSlot struct {
	buf   []byte
	err   error
	ready chan struct{}
}

// encodeChunks is eachEncoded's parallel half: chunk k is encoded into
// slot k mod len(slots), and handed to the writer through its ready
// channel; a slot is given its next chunk once written.
func encodeChunks(src *connSource, workers int, render func([]byte, int, *Connection) ([]byte, error), write func([]byte) error) error {
	n := len(src.recs)
	chunks := (n + renderChunk - 1) / renderChunk
	slots := make([]chunkSlot, 2*workers)
	for i := range slots {
		slots[i].ready = make(chan struct{}, 1)
	}
	jobs := make(chan int, len(slots))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for k := range jobs {
				s := &slots[k%len(slots)]
				s.buf, s.err = encodeChunk(src, s.buf[:0], k, render)
				s.ready <- struct{}{}
			}
		})
	}
	next := 0
	for ; next < min(len(slots), chunks); next++ {
		jobs <- next
	}
	var err error
	for k := 0; k < chunks && err == nil; k++ {
		s := &slots[k%len(slots)]
		<-s.ready
		if err = s.err; err == nil {
			err = write(s.buf)
		}
		if next < chunks && err == nil {
			jobs <- next
			next++
		}
	}
	close(jobs)
	wg.Wait()
	return err
}

// encodeChunk appends the encodings of chunk k's connections to dst.
func encodeChunk(src *connSource, dst []byte, k int, render func([]byte, int, *Connection) ([]byte, error)) ([]byte, error) {
	var err error
	for i := k * renderChunk; i < min(len(src.recs), (k+1)*renderChunk) && err == nil; i++ {
		c := src.conn(i)
		dst, err = render(dst, i, &c)
	}
	return dst, err
}
