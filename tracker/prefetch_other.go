//go:build !amd64 && !arm64

package tracker

import "unsafe"

// prefetch does nothing where the tracker has no prefetch instruction.
func prefetch(p unsafe.Pointer, lines int) {}
