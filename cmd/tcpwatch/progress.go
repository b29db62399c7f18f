package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// progressDelay is how long reading goes on before the progress bar
// appears (--progress auto). tcpwatch reads a capture at 1.5 to 2 M packets
// per second on this project's 2-CPU test machine (1.5 M packets, 312 MB,
// in 0.8 s), so most files are read before a bar would be worth its flash;
// the bar is there for the captures that keep the screen blank for
// seconds.
const progressDelay = time.Second

// progressEvery is how many packets pass between two looks at the clock;
// the bar is redrawn at most every progressRedraw.
const (
	progressEvery  = 4096
	progressRedraw = 150 * time.Millisecond
)

// progress draws, on standard error, how far the reading of the files
// has come: bytes and packets read, the rate and the time left.
type progress struct {
	label string // before the packet count: "" or "-w: "
	rd    *capture.Reader
	bar   *progressbar.ProgressBar
	out   *gate
	sizes []int64 // of each file, in order
	next  time.Time
}

// gate is the terminal once it is open, and discards what is written
// before: the bar keeps its counts (for the rate and time left) from the
// start, but shows only after progressDelay.
type gate struct {
	w    io.Writer
	open time.Time
	held bool // a frame another follows at once is being drawn: not written
}

func (g *gate) Write(b []byte) (int, error) {
	if g.held || time.Now().Before(g.open) {
		return len(b), nil
	}
	return g.w.Write(b)
}

// newProgress is the progress display for rd reading files, its packet
// count after label, or nil when none is wanted: --progress off, standard
// error not a terminal, or an input whose size is unknown (a pipe). With
// --progress auto it shows once the reading has taken progressDelay; with
// on, at once.
func newProgress(cfg *config, files []string, label string, rd *capture.Reader, stderr io.Writer) *progress {
	f, ok := stderr.(*os.File)
	if cfg.progress == "off" || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	sizes, total := inputSizes(files)
	width := progressWidth(f)
	if sizes == nil || width <= 0 {
		return nil
	}
	p := &progress{label: label, rd: rd, sizes: sizes, out: &gate{w: f}}
	if cfg.progress == "auto" {
		p.out.open = time.Now().Add(progressDelay)
	}
	p.bar = newBar(p.out, total, label, width)
	p.bar.RenderBlank()
	return p
}

// newBar is the bar drawn on w for total bytes. It is not throttled:
// tick draws it at most every progressRedraw, and the second of its two
// calls must be drawn (a throttled bar drew the new byte count only at the
// next tick); show holds back the first's frame.
func newBar(w io.Writer, total int64, label string, width int) *progressbar.ProgressBar {
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label+"0 packets"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(width),
	)
}

// progressText is the room the bar's text takes beside the bar itself:
// "-w: 12,345,678 packets 100% || (1.2/2.5 GB, 123 MB/s) [1m2s:3m4s]".
const progressText = 66

// progressWidth is the width of the bar that fits the terminal f, at most
// 30; 0 when the terminal is too narrow for one of 5.
func progressWidth(f *os.File) int {
	cols, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 30
	}
	if w := min(30, cols-progressText); w >= 5 {
		return w
	}
	return 0
}

// inputSizes is the size of each file, or nil if one is not a regular file.
func inputSizes(names []string) (sizes []int64, total int64) {
	for _, name := range names {
		var fi os.FileInfo
		var err error
		if name == "-" {
			fi, err = os.Stdin.Stat()
		} else {
			fi, err = os.Stat(name)
		}
		if err != nil || !fi.Mode().IsRegular() {
			return nil, 0
		}
		sizes = append(sizes, fi.Size())
		total += fi.Size()
	}
	return sizes, total
}

// tick is called every progressEvery packets, with the packets read.
func (p *progress) tick(packets uint64) {
	if p == nil {
		return
	}
	now := time.Now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressRedraw)
	file, off, ok := p.rd.Position()
	if !ok {
		return
	}
	var done int64
	for _, s := range p.sizes[:min(file, len(p.sizes))] {
		done += s
	}
	p.show(packets, done+off)
}

// show draws the packets read and the bytes read of all the input, pos.
func (p *progress) show(packets uint64, pos int64) {
	// The bar draws a frame for each call: the first, with the new bytes
	// and the old packet count, is not written.
	p.out.held = true
	p.bar.Set64(pos)
	p.out.held = false
	p.bar.Describe(p.label + tracker.Grouped(packets) + " packets")
}

// finish shows the final counts (full, if the input was read to its end)
// and erases the bar, so that nothing of it is left on the terminal.
func (p *progress) finish(packets uint64, ended bool) {
	if p == nil || time.Now().Before(p.out.open) {
		return // never shown
	}
	p.bar.Describe(p.label + tracker.Grouped(packets) + " packets")
	if ended {
		p.bar.Finish()
	}
	p.bar.Clear()
}
