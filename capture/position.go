package capture

import "io"

// Position says how far reading has come, for a progress display: the
// index (in the names given to [OpenFilesContext]) of the file being read
// and the bytes of it read so far, as stored (compressed or not), read-ahead
// included. Once every file was read, file is len(names) and offset 0. ok
// is false when the position cannot be known: standard input or a pipe, a
// live capture. It makes one system call; call it now and then, not for
// every packet.
func (r *Reader) Position() (file int, offset int64, ok bool) {
	if r.live != nil {
		return 0, 0, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		return r.next, 0, r.src == nil
	}
	off, err := r.cur.Seek(0, io.SeekCurrent)
	return r.next - 1, off, err == nil
}
