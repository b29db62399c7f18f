//go:build amd64 || arm64

package tracker

import "unsafe"

// prefetch asks the processor to bring lines cache lines from p on into
// its cache. It reads nothing and cannot fault: a prefetch of an address
// that is not mapped is dropped.
//
//go:noescape
func prefetch(p unsafe.Pointer, lines int)
