// Package testenv decides what a test does when its environment lacks
// something it needs: the shared public captures beside the repository, or
// root for network namespaces.
//
// On a developer's machine such a test skips, saying what is missing. In CI
// (the environment variable CI is "true", as CI services set it) the
// environment is known to provide everything, so a missing piece is a broken
// setup and the test fails instead of passing silently.
//
// Skips for other reasons (testing.Short) are ordinary t.Skip calls.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// InCI reports whether the tests run in CI: the environment variable CI is
// "true".
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail stops the test because the environment lacks something it
// needs: with t.Skipf, or in CI with t.Fatalf. The message says what is
// missing and how to provide it.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: required in CI)", fmt.Sprintf(format, args...))
		return
	}
	t.Skipf(format, args...)
}
