// Command tcpwatch follows every TCP connection in a capture and infers each
// side's RFC 793 state. See README.md and SPEC.md for usage.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(tcpwatch(os.Args[1:], os.Stdout, os.Stderr))
}

// tcpwatch is run with the process's signals. SIGINT and SIGTERM end the
// context: the input stops, even a read that waits for a writer that
// stalled, and the report of what was read is printed; a second signal
// kills the process as it would without tcpwatch's handler. SIGPIPE is
// ignored, so a standard output whose reader went away is a write error
// (one line on stderr, exit 2), not a silent death.
func tcpwatch(args []string, stdout, stderr io.Writer) int {
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	return run(ctx, args, stdout, stderr)
}
