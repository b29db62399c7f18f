//go:build unix

package capture

import "syscall"

// nonblock is the open flag that keeps opening a pipe from waiting for a
// writer.
const nonblock = syscall.O_NONBLOCK
