package tracker

import (
	"testing"
	"time"
)

func TestFormatDurationRoundsToWhatMatters(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{183 * time.Microsecond, "183µs"},
		{183*time.Microsecond + 400, "183µs"},
		{44566123 * time.Nanosecond, "44.566ms"},
		{3207390 * time.Microsecond, "3.207s"},
		{2*time.Minute + 49875*time.Millisecond + 400*time.Microsecond, "2m49.875s"},
		{time.Hour + 2*time.Minute + 3400*time.Millisecond, "1h2m3s"},
		{23*time.Hour + 59*time.Minute + 59600*time.Millisecond, "1d"},
		{58651*time.Hour + 14*time.Minute + 59*time.Second, "2443d19h14m59s"},
		{-1500 * time.Millisecond, "-1.5s"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
