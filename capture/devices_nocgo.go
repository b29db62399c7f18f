//go:build !cgo

package capture

import "fmt"

// Interfaces needs libpcap: without cgo it is an error.
func Interfaces() ([]Interface, error) {
	return nil, fmt.Errorf("list interfaces: %w", ErrNoLibpcap)
}
