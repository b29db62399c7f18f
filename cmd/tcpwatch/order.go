package main

import (
	"fmt"
	"time"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// fileOrder notices files given out of time order (-r b.pcap -r a.pcap):
// a file whose first packet is older than the latest packet of the files
// before it. The capture's clock does not go back, so what such a file
// shows is judged late; the report says so.
//
// It notices too, once, a file whose clock steps back by more than
// clockStepBack: a packet stamped that far ahead of those after it (a
// corrupt or forged time stamp, or a clock set back) ran the tracker's
// clock ahead with it, and durations that span it are measured from it.
type fileOrder struct {
	file     int    // index of the file of the last packet seen
	latest   int64  // the latest packet time of the files before it and of it so far
	lastFile string // the file of the latest packet
	// The latest packet time of this file alone, and its number: a clock
	// step back is within one file (a file begun out of order is the
	// other warning's).
	fileLatest    int64
	fileLatestNum uint64
	steppedBack   bool // a clock step back was reported
	warnings      []string
}

// clockStepBack is how far a file's clock must step back to be reported:
// more than packets captured on several interfaces or CPUs are out of
// order by.
const clockStepBack = time.Minute

// see looks at one packet read from rd.
func (o *fileOrder) see(rd *capture.Reader, p *capture.Packet) {
	i, name := rd.File()
	if i != o.file && o.latest != 0 && p.Time < o.latest {
		o.warnings = append(o.warnings, fmt.Sprintf("files out of time order: %q begins at %s, %s before the end of %q; give the files in time order",
			name, report.DateClock(report.Time(p.Time)), tracker.FormatDuration(time.Duration(o.latest-p.Time)), o.lastFile))
	}
	if i != o.file {
		o.fileLatest, o.fileLatestNum = 0, 0
	}
	if !o.steppedBack && o.fileLatest-p.Time > int64(clockStepBack) {
		o.steppedBack = true
		o.warnings = append(o.warnings, fmt.Sprintf("the capture's clock steps back: packet %d is stamped %s before packet %d (%s); the clock does not go back, so durations that span it (stuck connections, TIME_WAIT) are measured from packet %d's time",
			p.Num, tracker.FormatDuration(time.Duration(o.fileLatest-p.Time)), o.fileLatestNum, report.DateClock(report.Time(o.fileLatest)), o.fileLatestNum))
	}
	if p.Time > o.fileLatest {
		o.fileLatest, o.fileLatestNum = p.Time, p.Num
	}
	o.file = i
	if p.Time > o.latest {
		o.latest, o.lastFile = p.Time, name
	}
}
