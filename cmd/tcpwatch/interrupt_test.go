package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalStopsStalledRead runs tcpwatch as a process on inputs whose
// writer stalls, and signals it: SIGINT and SIGTERM stop the read that
// waits, and the report of what was read is printed, marked interrupted.
func TestSignalStopsStalledRead(t *testing.T) {
	data, n := stalledSample(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, input := range []struct {
			name    string
			packets uint64
			prepare func(t *testing.T) (args []string, stdin *os.File)
		}{
			{"FIFO", n, func(t *testing.T) ([]string, *os.File) { return []string{"-r", stalledFIFO(t, data)}, nil }},
			{"FIFO without writer", 0, func(t *testing.T) ([]string, *os.File) { return []string{"-r", stalledFIFO(t, nil)}, nil }},
			{"standard input", n, func(t *testing.T) ([]string, *os.File) { return []string{"-r", "-"}, stalledPipe(t, data) }},
		} {
			t.Run(sig.String()+", "+input.name, func(t *testing.T) {
				args, stdin := input.prepare(t)
				cmd := helper(t, append(args, "-F", "json")...)
				var out, errb bytes.Buffer
				cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, &out, &errb
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				waitCaught(t, cmd.Process.Pid, sig)
				time.Sleep(300 * time.Millisecond) // the data is read; the next read waits
				cmd.Process.Signal(sig)
				err := cmd.Wait()
				if code := cmd.ProcessState.ExitCode(); code != exitOK || errb.Len() > 0 {
					t.Fatalf("after %v: %v (exit %d), stderr %q; want exit 0 and the report", sig, err, code, errb.String())
				}
				checkInterruptedJSON(t, out.Bytes(), input.packets)
			})
		}
	}
}

// waitCaught waits until process pid catches sig (its handler is
// installed: SigCgt in /proc/PID/status), so that a loaded machine's slow
// start does not meet the signal's default action.
func waitCaught(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil {
			t.Skipf("cannot read the process's status: %v", err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if mask, ok := strings.CutPrefix(line, "SigCgt:\t"); ok {
				if m, err := strconv.ParseUint(mask, 16, 64); err == nil && m&(1<<(sig-1)) != 0 {
					return
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d never installed a handler for %v", pid, sig)
}

// stalledPipe is the read end of a pipe holding data whose writer stalls:
// blocking, as a shell hands it over.
func stalledPipe(t *testing.T, data []byte) *os.File {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	rd, wr := os.NewFile(uintptr(fds[0]), "|0"), os.NewFile(uintptr(fds[1]), "|1")
	t.Cleanup(func() { rd.Close(); wr.Close() })
	if _, err := wr.Write(data); err != nil {
		t.Fatal(err)
	}
	return rd
}

// TestInterruptedReport: the report of a run stopped by its context says
// so, in a line of the table's header and in the JSON input.
func TestInterruptedReport(t *testing.T) {
	data, n := stalledSample(t)
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, []string{"-r", stalledFIFO(t, data), "-F", format}, &out, &errb) }()
			time.Sleep(200 * time.Millisecond)
			cancel()
			var code int
			select {
			case code = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("tcpwatch did not stop when its context ended")
			}
			if code != exitOK || errb.Len() > 0 {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
			if format == "json" {
				checkInterruptedJSON(t, out.Bytes(), n)
				return
			}
			lines := strings.SplitN(out.String(), "\n", 3)
			if len(lines) < 3 || lines[1] != "interrupted by a signal: the report covers what was read before it" {
				t.Errorf("the table's header does not say the run was interrupted:\n%s", out.String())
			}
		})
	}
}
