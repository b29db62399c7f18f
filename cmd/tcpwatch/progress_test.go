package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"
)

// runWithStderr runs tcpwatch (this test binary) with args, standard
// output into a buffer and standard error on errw; it returns the exit
// code and standard output.
func runWithStderr(t *testing.T, errw *os.File, args ...string) (int, string) {
	t.Helper()
	cmd := helper(t, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, errw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return cmd.ProcessState.ExitCode(), out.String()
}

// onTerminal runs tcpwatch with standard error on a pseudo-terminal of
// 120 columns, and returns what it wrote there, and its standard output.
func onTerminal(t *testing.T, args ...string) (code int, terminal, stdout string) {
	return onTerminalOf(t, 120, args...)
}

// onTerminalOf is onTerminal with a terminal cols columns wide.
func onTerminalOf(t *testing.T, cols uint16, args ...string) (code int, terminal, stdout string) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: cols}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string)
	go func() {
		b, _ := io.ReadAll(master) // ends with EIO once the terminal's last user closed it
		got <- string(b)
	}()
	code, stdout = runWithStderr(t, tty, args...)
	tty.Close()
	return code, <-got, stdout
}

// TestProgressOnATerminalOnly: with standard error on a terminal the
// reading's progress (packets, bytes, percentage) is drawn there and
// erased at the end, and standard output has the report alone, the same
// as without it; with standard error on a pipe, nothing is drawn.
func TestProgressOnATerminalOnly(t *testing.T) {
	_, want, _ := runCLI("-r", lostAck, "-v")

	code, term, out := onTerminal(t, "-r", lostAck, "-v", "--progress", "on")
	if code != 0 || out != want {
		t.Errorf("exit %d; stdout is not the report alone:\n%s", code, out)
	}
	fi, err := os.Stat(lostAck)
	if err != nil {
		t.Fatal(err)
	}
	// The first frame and the last, bytes read of the size and the rate.
	for _, re := range []string{`0 packets +0% \|`, fmt.Sprintf(`7 packets 100%% \|█+\| \(%d/%d B, [0-9.]+ [kMG]?B/s\)`, fi.Size(), fi.Size())} {
		if !regexp.MustCompile(re).MatchString(term) {
			t.Errorf("terminal: no %s in %q", re, term)
		}
	}
	if last := term[strings.LastIndex(term, "\r")+1:]; strings.TrimSpace(last) != "" || !strings.HasSuffix(strings.TrimRight(term, "\r"), " ") {
		t.Errorf("the bar is not erased at the end: %q", term)
	}

	// -w's second pass shows its own.
	_, term, _ = onTerminal(t, "-r", lostAck, "--progress", "on", "-w", filepath.Join(t.TempDir(), "x.pcap"))
	if !strings.Contains(term, "-w: 7 packets 100% |") {
		t.Errorf("terminal: no progress of -w's pass in %q", term)
	}

	// The bar narrows to fit the terminal, and is left out of one too
	// narrow for it.
	_, term, _ = onTerminalOf(t, 80, "-r", lostAck, "--progress", "on")
	if !strings.Contains(term, "7 packets 100% |"+strings.Repeat("█", 80-progressText)+"|") {
		t.Errorf("80 columns: the bar is not %d wide: %q", 80-progressText, term)
	}
	if _, term, _ = onTerminalOf(t, 60, "-r", lostAck, "--progress", "on"); term != "" {
		t.Errorf("60 columns: %q, want nothing", term)
	}

	// A small file is read before --progress auto shows anything.
	if _, term, out := onTerminal(t, "-r", lostAck, "-v"); term != "" || out != want {
		t.Errorf("--progress auto on a file read at once: terminal %q", term)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	code, out = runWithStderr(t, w, "-r", lostAck, "-v", "--progress", "on")
	w.Close()
	piped, _ := io.ReadAll(r)
	if code != 0 || len(piped) != 0 || out != want {
		t.Errorf("stderr on a pipe: exit %d, stderr %q, report as without: %v", code, piped, out == want)
	}
}

// TestProgressShowsTheLatestCounts: the bar's last frame after an update
// has both the packets and the bytes of that update, not the byte count of
// the one before, and no frame drawn shows the packets of one update with
// the bytes of another.
func TestProgressShowsTheLatestCounts(t *testing.T) {
	var buf bytes.Buffer
	p := &progress{out: &gate{w: &buf}}
	p.bar = newBar(p.out, 100<<20, "", 30)
	p.show(1000, 10<<20)
	p.show(2000, 50<<20)
	frames := strings.Split(buf.String(), "\r")
	last := frames[len(frames)-1]
	if !strings.Contains(last, "2,000 packets") || !strings.Contains(last, "50%") || !strings.Contains(last, "(52/105 MB") {
		t.Errorf("last frame %q, want 2,000 packets, 50%% and 52 of 105 MB", last)
	}
	for _, f := range frames {
		if strings.TrimSpace(f) == "" {
			continue // clearing the line
		}
		if ok := strings.Contains(f, "0 packets") && strings.Contains(f, " 0%") ||
			strings.Contains(f, "1,000 packets") && strings.Contains(f, "10%") ||
			strings.Contains(f, "2,000 packets") && strings.Contains(f, "50%"); !ok {
			t.Errorf("frame %q mixes the counts of two updates", f)
		}
	}
}
