package report

import (
	"fmt"
	"time"
)

// TimeFormat is how the table prints capture times: tcpdump's -t flags.
type TimeFormat uint8

const (
	TimeOfDay  TimeFormat = iota // 15:04:05.000000, UTC, with the date when the capture spans days (the default)
	NoTime                       // -t: no time at all
	EpochTime                    // -tt: seconds since 1970, 1763714542.339518
	DeltaTime                    // -ttt: since the time printed before it, 00:00:00.000025
	DateTime                     // -tttt: 2026-11-21 08:42:22.339518, UTC
	SinceFirst                   // -ttttt: since the first packet, 00:00:01.024125
)

// TimeFormatOf is the format tcpdump gives n -t flags (0: none).
func TimeFormatOf(n int) TimeFormat {
	if n > int(SinceFirst) {
		n = int(SinceFirst)
	}
	return TimeFormat(n)
}

// clock formats t in the printer's time format; p.prev is the time printed
// before it (DeltaTime), and is updated.
func (p *printer) clock(t Time) string {
	switch p.times {
	case NoTime:
		return ""
	case EpochTime:
		return epochClock(t)
	case DeltaTime:
		prev := p.prev
		if prev == 0 {
			prev = t
		}
		p.prev = t
		return sinceClock(time.Duration(t - prev))
	case DateTime:
		return dateClock(t)
	case SinceFirst:
		return sinceClock(time.Duration(t - p.first))
	}
	return p.dayClock(t)
}

// epochClock is t in seconds since 1970 with six decimals, as tcpdump -tt
// and Zeek's logs print it: 1763714542.339518 (before 1970, with a minus
// sign: -0.000001).
func epochClock(t Time) string {
	sign, n := "", int64(t)
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%06d", sign, n/1e9, n%1e9/1e3)
}

// sinceClock is a span as tcpdump prints it, hours:minutes:seconds.micros.
func sinceClock(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	us := d.Microseconds()
	return fmt.Sprintf("%s%02d:%02d:%02d.%06d", sign, us/3600e6, us/60e6%60, us/1e6%60, us%1e6)
}

// Clock formats a capture time as the tables' time of day:
// 15:04:05.000000, UTC.
func Clock(t Time) string { return clock(t) }

// DateClock formats a capture time with its date, as the tables' header
// does: 2006-01-02 15:04:05.000000, UTC.
func DateClock(t Time) string { return dateClock(t) }
