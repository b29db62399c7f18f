package testenv

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records how a test was stopped, instead of
// stopping.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}

func (r *recorder) Skipf(format string, args ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(format, args...)
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func TestSkipOrFail(t *testing.T) {
	for _, tc := range []struct {
		ci         string
		skip, fail bool
		msg        string
	}{
		{"", true, false, "no captures at /x"},
		{"false", true, false, "no captures at /x"},
		{"1", true, false, "no captures at /x"}, // only "true" means CI
		{"true", false, true, "no captures at /x (CI=true: required in CI)"},
	} {
		t.Run("CI="+tc.ci, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			SkipOrFail(r, "no captures at %s", "/x")
			if r.skipped != tc.skip || r.failed != tc.fail || r.msg != tc.msg {
				t.Errorf("skipped %v, failed %v, %q; want %v, %v, %q", r.skipped, r.failed, r.msg, tc.skip, tc.fail, tc.msg)
			}
		})
	}
}
