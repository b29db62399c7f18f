//go:build unix

package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// stalled is a capture of two packets and the start of a third: a writer
// that stopped in the middle of a record.
var stalled = func() []byte {
	b := pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}, rec{ts: t0, data: ethData}, rec{ts: t0, data: ethSYN})
	return b[:len(b)-10]
}()

// readUntilInterrupted reads r until Next fails, cancelling ctx once two
// packets came, and checks that Next returned ErrInterrupted soon after.
func readUntilInterrupted(t *testing.T, r *Reader, cancel func()) {
	t.Helper()
	// A Next that never returns would hang the test binary: stop it loudly.
	defer time.AfterFunc(10*time.Second, func() { panic("Next still blocked 10 s after the interruption") }).Stop()
	var p Packet
	n := 0
	var err error
	var cancelled time.Time
	for {
		if err = r.Next(&p); err != nil {
			break
		}
		if n++; n == 2 {
			go func() { time.Sleep(50 * time.Millisecond); cancel() }()
			cancelled = time.Now().Add(50 * time.Millisecond)
		}
	}
	if err != ErrInterrupted || n != 2 {
		t.Fatalf("after %d packets: %v, want 2 packets and %v", n, err, ErrInterrupted)
	}
	if d := time.Since(cancelled); d > time.Second {
		t.Errorf("Next returned %v after the context ended", d)
	}
	if r.Next(&p) != ErrInterrupted {
		t.Error("ErrInterrupted is not final")
	}
}

// openWithin runs OpenFilesContext and fails the test if it does not return
// within a few seconds (the test would otherwise hang).
func openWithin(t *testing.T, ctx context.Context, name string) (*Reader, error) {
	t.Helper()
	type opened struct {
		r   *Reader
		err error
	}
	done := make(chan opened, 1)
	go func() {
		r, err := OpenFilesContext(ctx, []string{name}, "")
		done <- opened{r, err}
	}()
	select {
	case o := <-done:
		if o.r != nil {
			t.Cleanup(func() { o.r.Close() })
		}
		return o.r, o.err
	case <-time.After(5 * time.Second):
		t.Fatal("OpenFilesContext did not return")
		return nil, nil
	}
}

// fifo makes a FIFO and writes data into it from another goroutine, then
// holds it open without writing more until the test ends.
func fifo(t *testing.T, data []byte) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		w, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer w.Close()
		w.Write(data)
		<-done
	}()
	return name
}

func TestInterruptStalledFIFO(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := openWithin(t, ctx, fifo(t, stalled))
	if err != nil {
		t.Fatal(err)
	}
	readUntilInterrupted(t, r, cancel)
}

// TestInterruptFIFOWithoutWriter: opening a FIFO waits for a writer; an
// interruption ends the wait.
func TestInterruptFIFOWithoutWriter(t *testing.T) {
	name := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, err := openWithin(t, ctx, name)
	if err != nil {
		t.Fatalf("OpenFilesContext: %v; an interruption is Next's to report", err)
	}
	var p Packet
	if err := r.Next(&p); err != ErrInterrupted {
		t.Fatalf("Next: %v, want %v", err, ErrInterrupted)
	}
}

// TestInterruptStalledStdin reads standard input from a pipe whose writer
// stalls, as `tcpdump -w - | tcpwatch -r -` whose tcpdump hangs: a pipe
// that Go created itself (already in its poller), and a blocking one
// inherited from the shell, which is reopened to be interruptible.
func TestInterruptStalledStdin(t *testing.T) {
	for _, tc := range []struct {
		name string
		pipe func() (rd, wr *os.File, err error)
	}{
		{"os.Pipe", os.Pipe},
		{"blocking pipe", blockingPipe},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rd, wr, err := tc.pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			defer wr.Close()
			if _, err := wr.Write(stalled); err != nil {
				t.Fatal(err)
			}
			old := os.Stdin
			os.Stdin = rd
			defer func() { os.Stdin = old }()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r, err := openWithin(t, ctx, "-")
			if err != nil {
				t.Fatal(err)
			}
			readUntilInterrupted(t, r, cancel)
		})
	}
}

// blockingPipe is a pipe whose ends are in blocking mode, outside Go's
// poller, like the standard input a shell hands over.
func blockingPipe() (rd, wr *os.File, err error) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1"), nil
}

// TestInterruptBlockingStdinKeepsItsMode: reopening standard input leaves
// the shell's descriptor as it was (blocking), and the whole input is read.
func TestInterruptBlockingStdinKeepsItsMode(t *testing.T) {
	rd, wr, err := blockingPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	go func() {
		wr.Write(goodPcap)
		wr.Close()
	}()
	old := os.Stdin
	os.Stdin = rd
	defer func() { os.Stdin = old }()
	pkts, _, err := readAll(t, []string{"-"}, "")
	if err != nil || len(pkts) != 2 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
	if fl, err := fcntlFlags(rd); err != nil || fl&syscall.O_NONBLOCK != 0 {
		t.Errorf("standard input's flags %#x (%v): reading it made it non-blocking", fl, err)
	}
}

func fcntlFlags(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fl uintptr
	var errno syscall.Errno
	rc.Control(func(fd uintptr) {
		fl, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	})
	if errno != 0 {
		return 0, errno
	}
	return int(fl), nil
}

// TestInterruptFile: a regular file never blocks, but an interruption stops
// its reading too, before the next packet.
func TestInterruptFile(t *testing.T) {
	recs := make([]rec, 1000)
	for i := range recs {
		recs[i] = rec{ts: t0, data: ethSYN}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := OpenFilesContext(ctx, []string{writeFile(t, "x.pcap", pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, recs...))}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var p Packet
	if err := r.Next(&p); err != nil {
		t.Fatal(err)
	}
	cancel()
	for range 100 { // context.AfterFunc runs in its own goroutine
		if err = r.Next(&p); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("after cancel: %v", err)
	}
	if r.Close(); r.Next(&p) != ErrClosed {
		t.Error("Next after Close is not ErrClosed")
	}
}
