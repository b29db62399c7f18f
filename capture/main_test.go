package capture

import (
	"os"
	"testing"
)

// TestMain removes the benchmarks' generated captures (benchSetup) when
// the tests and benchmarks end.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchFiles.dir != "" {
		os.RemoveAll(benchFiles.dir)
	}
	os.Exit(code)
}
