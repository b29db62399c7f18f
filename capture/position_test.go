package capture

import (
	"os"
	"testing"
)

// TestPositionCountsBytesReadAcrossFiles: reading two files in order, the
// position never goes back and ends past the last file; a pipe has none.
func TestPositionCountsBytesReadAcrossFiles(t *testing.T) {
	const name = "../testdata/pcaps/close-client-first.pcap"
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := OpenFiles([]string{name, name}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	last := int64(-1)
	var p Packet
	for rd.Next(&p) == nil {
		file, off, ok := rd.Position()
		at := int64(file)*fi.Size() + off
		if !ok || off > fi.Size() || at < last {
			t.Fatalf("packet %d: position %d, %d, %v after %d", p.Num, file, off, ok, last)
		}
		last = at
	}
	if file, off, ok := rd.Position(); file != 2 || off != 0 || !ok {
		t.Errorf("at the end: position %d, %d, %v; want 2, 0, true", file, off, ok)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		b, _ := os.ReadFile(name)
		w.Write(b)
		w.Close()
	}()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old }()
	rd2, err := OpenFiles([]string{"-"}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer rd2.Close()
	if rd2.Next(&p) != nil {
		t.Fatal("no packet from the pipe")
	}
	if _, _, ok := rd2.Position(); ok {
		t.Error("a pipe has a position")
	}
}
