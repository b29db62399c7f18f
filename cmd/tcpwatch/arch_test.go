package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// deps lists a package's transitive dependencies with go list, built with
// cgo as set in env ("CGO_ENABLED=0" or "": the default).
func deps(t *testing.T, pkg, env string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", pkg)
	if env != "" {
		cmd.Env = append(os.Environ(), env)
	}
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list -deps %s (%s): %s", pkg, env, ee.Stderr)
		}
		t.Skipf("go list not available: %v", err)
	}
	return strings.Fields(string(out))
}

// TestArchitecture guards the one-way data flow: the tracker knows nothing
// of packets, gopacket or output; neither the tracker nor the report
// package needs cgo; capture needs it only for libpcap (filters, live
// capture), so reading files works in a build without cgo.
func TestArchitecture(t *testing.T) {
	const mod = "github.com/tcpwatch/tcpwatch/"
	for _, d := range deps(t, mod+"tracker", "") {
		first := strings.SplitN(d, "/", 2)[0]
		if strings.Contains(first, ".") && !strings.HasPrefix(d, mod+"tracker") {
			t.Errorf("tracker depends on %s; it may use only the standard library", d)
		}
		if d == "runtime/cgo" {
			t.Errorf("tracker depends on %s; it must not need cgo", d)
		}
	}
	for _, d := range deps(t, mod+"report", "") {
		if d == "runtime/cgo" || strings.HasPrefix(d, "github.com/gopacket/") || strings.HasPrefix(d, mod+"capture") {
			t.Errorf("report depends on %s; it must not need cgo or the capture layer", d)
		}
	}
	for _, d := range deps(t, mod+"capture", "") {
		if strings.HasPrefix(d, mod+"report") {
			t.Errorf("capture depends on %s; data flows one way", d)
		}
	}
	for _, d := range deps(t, mod+"cmd/tcpwatch", "CGO_ENABLED=0") {
		if d == "runtime/cgo" || d == "github.com/gopacket/gopacket/pcap" {
			t.Errorf("tcpwatch built without cgo depends on %s; only libpcap's filters and live capture may need cgo", d)
		}
	}
}
