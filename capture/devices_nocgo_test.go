//go:build !cgo

package capture

import (
	"errors"
	"testing"
)

// TestInterfacesNeedLibpcap: without cgo, listing interfaces is an error
// that says to rebuild with cgo.
func TestInterfacesNeedLibpcap(t *testing.T) {
	if _, err := Interfaces(); !errors.Is(err, ErrNoLibpcap) {
		t.Errorf("Interfaces without cgo: %v, want %v", err, ErrNoLibpcap)
	}
}
