package tracker

import (
	"strconv"
	"time"
)

// FormatDuration formats d the one way tcpwatch prints a duration, in
// tables, the live view and findings' sentences alike: Go's syntax, rounded
// to what matters at that size, with days beyond 24 hours: 183µs,
// 44.566ms, 3.207s, 2m49.875s, 1h2m3s, 2d3h4m5s.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	switch {
	case d < time.Second:
		d = d.Round(time.Microsecond)
	case d < time.Hour:
		d = d.Round(time.Millisecond)
	default:
		d = d.Round(time.Second)
	}
	const day = 24 * time.Hour
	if d < day {
		return d.String()
	}
	s := strconv.FormatInt(int64(d/day), 10) + "d"
	if rest := d % day; rest > 0 {
		s += rest.String()
	}
	return s
}
