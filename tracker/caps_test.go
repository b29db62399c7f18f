package tracker

import "testing"

// TestCapsStayWithinWhatCompactRecordsCanName: caps asked beyond MaxCap
// are taken as the most, so that the table of full records, with its
// holes, never holds more than a compact record's index can name.
func TestCapsStayWithinWhatCompactRecordsCanName(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		cfg                   Config
		conns, kept, fullMost int
	}{
		{"defaults", Config{}, DefaultMaxConns, DefaultMaxKept, DefaultMaxFull},
		{"all beyond", Config{MaxConns: 1 << 30, MaxKept: 1 << 30, MaxFull: 1 << 30}, MaxCap, MaxCap, DefaultMaxFull},
		{"whole ones beyond, few open", Config{MaxConns: 1000, MaxFull: 1 << 30}, 1000, DefaultMaxKept, MaxCap - 1000},
		{"under the cap", Config{MaxConns: 5_000_000, MaxKept: 7_000_000, MaxFull: 2_000_000}, 5_000_000, 7_000_000, 2_000_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(tc.cfg)
			if tr.maxConns != tc.conns || tr.maxKept != tc.kept || tr.maxFull != tc.fullMost {
				t.Errorf("caps %d, %d, %d; want %d, %d, %d", tr.maxConns, tr.maxKept, tr.maxFull, tc.conns, tc.kept, tc.fullMost)
			}
			if most := 2*(tr.maxConns+tr.maxFull) + 1024; most > twIdxMask {
				t.Errorf("up to %d full records with their holes, more than the %d a compact record names", most, twIdxMask)
			}
		})
	}
}
