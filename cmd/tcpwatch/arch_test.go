package main

import (
	"os/exec"
	"strings"
	"testing"
)

// deps lists a package's transitive dependencies with go list.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Skipf("go list not available: %v", err)
	}
	return strings.Fields(string(out))
}

// TestArchitecture guards the one-way data flow: the tracker knows nothing
// of packets, gopacket or output; the report package needs no cgo.
func TestArchitecture(t *testing.T) {
	const mod = "github.com/tcpwatch/tcpwatch/"
	for _, d := range deps(t, mod+"tracker") {
		first := strings.SplitN(d, "/", 2)[0]
		if strings.Contains(first, ".") && !strings.HasPrefix(d, mod+"tracker") {
			t.Errorf("tracker depends on %s; it may use only the standard library", d)
		}
	}
	for _, d := range deps(t, mod+"report") {
		if d == "runtime/cgo" || strings.HasPrefix(d, "github.com/gopacket/") || strings.HasPrefix(d, mod+"capture") {
			t.Errorf("report depends on %s; it must not need cgo or the capture layer", d)
		}
	}
	for _, d := range deps(t, mod+"capture") {
		if strings.HasPrefix(d, mod+"report") {
			t.Errorf("capture depends on %s; data flows one way", d)
		}
	}
}
