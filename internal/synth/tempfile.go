package synth

import (
	"os"
	"path/filepath"
	"testing"
)

// TempFile writes cfg's capture to a file in tb's temporary directory and
// returns its name; for tests and benchmarks.
func TempFile(tb testing.TB, cfg Config) string {
	tb.Helper()
	name := filepath.Join(tb.TempDir(), "synth.pcap")
	f, err := os.Create(name)
	if err != nil {
		tb.Fatal(err)
	}
	if err := Write(f, cfg); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return name
}
