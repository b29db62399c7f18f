package capture

// File returns which of the files given to OpenFiles the last packet came
// from: its index and its name as given; -1 and "" for a live capture.
func (r *Reader) File() (index int, name string) {
	if r.live != nil || len(r.names) == 0 {
		return -1, ""
	}
	return r.next - 1, r.name
}
