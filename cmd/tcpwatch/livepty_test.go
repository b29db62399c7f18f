package main

import (
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/mattn/go-runewidth"

	"github.com/tcpwatch/tcpwatch/internal/netlab"
)

// csi matches the terminal control sequences the live view writes.
var csi = regexp.MustCompile(`\x1b\[\??[0-9;]*[a-zA-Z]`)

// ptyFrames splits what the live view wrote to a terminal into frames (at
// each cursor-home), each as its visible lines.
func ptyFrames(out string) [][]string {
	var frames [][]string
	for _, f := range strings.Split(out, "\x1b[H")[1:] {
		f = strings.ReplaceAll(csi.ReplaceAllString(f, ""), "\r", "")
		frames = append(frames, strings.Split(f, "\n"))
	}
	return frames
}

// fits reports whether every line of a frame fits in cols columns and the
// frame in rows rows, and how wide its widest line is.
func fits(frame []string, cols, rows int) (bool, int) {
	widest := 0
	for _, l := range frame {
		widest = max(widest, runewidth.StringWidth(l))
	}
	return widest <= cols && len(frame) <= rows, widest
}

// TestLiveViewOnATerminal runs tcpwatch -i on a pseudo-terminal of 60×20
// while eight connections stay open, then makes the window 120×40 and,
// once a frame reflowed, stops it with SIGTERM: the frames are drawn in
// the alternate screen with no clear-screen, each fits the window it was
// drawn for, they reflow (wider lines) after the resize (SIGWINCH), and
// the final report follows on the normal screen.
func TestLiveViewOnATerminal(t *testing.T) {
	l := netlab.New(t)
	server(t, l, "198.18.0.2:8083", neverClose)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := l.Server.Command(ctx, exe, "-test.run=^TestHelperProcess$", "--", "-i", l.Server.Link, "--interval", "100ms", "--duration", "15s")
	cmd.Env = append(os.Environ(), helperEnv)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: 60, Rows: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	var out syncBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&out, tty); close(copied) }() // ends with EIO when tcpwatch exits
	waitOutput(t, &out, "the first frame", func(s string) bool { return strings.Contains(s, "\x1b[H") })
	for range 8 {
		if c, err := dial(t, l, "198.18.0.2:8083"); err != nil {
			t.Fatal(err)
		} else {
			c.Write([]byte("hello\n"))
		}
	}
	waitOutput(t, &out, "a frame with the connections", func(s string) bool { return strings.Count(s, "ESTABLISHED") > 8 })
	before := out.String()
	if err := pty.Setsize(tty, &pty.Winsize{Cols: 120, Rows: 40}); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, &out, "a frame wider than 60 columns", func(s string) bool {
		fs := ptyFrames(s[len(before):])
		for _, f := range fs[:max(0, len(fs)-1)] { // whole frames only
			if _, w := fits(f, 0, 0); w > 60 {
				return true
			}
		}
		return false
	})
	// SIGTERM ends the live view as Ctrl-C does; ip netns exec may have forked.
	if err := signalChild(cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tcpwatch: %v", err)
	}
	<-copied
	all := out.String()
	live, final, ok := strings.Cut(all, "\x1b[?25h\x1b[?1049l")
	if !strings.HasPrefix(all, "\x1b[?1049h") || !ok || strings.Contains(all, "\x1b[2J") {
		t.Fatalf("want the frames in the alternate screen, left before the final report, no clear-screen: %q", all)
	}
	if !strings.Contains(final, "Connections: 8") {
		t.Errorf("final report after the live view:\n%s", final)
	}
	small := len(ptyFrames(before)) - 1 // the last may be cut short
	wide := false
	for i, f := range ptyFrames(live) {
		cols, rows := 120, 40
		if i < small {
			cols, rows = 60, 20
		}
		ok, widest := fits(f, cols, rows)
		if !ok {
			t.Errorf("frame %d: %d lines, %d columns; want at most %d × %d:\n%s", i+1, len(f), widest, cols, rows, strings.Join(f, "\n"))
		}
		wide = wide || widest > 60
	}
	if small < 1 || !wide {
		t.Errorf("%d frames at 60×20 before the resize, a wider one after: %v", small, wide)
	}
}

// waitOutput waits until out satisfies ok.
func waitOutput(t *testing.T, out *syncBuffer, what string, ok func(string) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok(out.String()) {
			return
		}
	}
	t.Fatalf("no %s in 10 s:\n%q", what, out.String())
}
