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
type fileOrder struct {
	file     int    // index of the file of the last packet seen
	latest   int64  // the latest packet time of the files before it and of it so far
	lastFile string // the file of the latest packet
	warnings []string
}

// see looks at one packet read from rd.
func (o *fileOrder) see(rd *capture.Reader, p *capture.Packet) {
	i, name := rd.File()
	if i != o.file && o.latest != 0 && p.Time < o.latest {
		o.warnings = append(o.warnings, fmt.Sprintf("files out of time order: %q begins at %s, %s before the end of %q; give the files in time order",
			name, report.DateClock(report.Time(p.Time)), tracker.FormatDuration(time.Duration(o.latest-p.Time)), o.lastFile))
	}
	o.file = i
	if p.Time > o.latest {
		o.latest, o.lastFile = p.Time, name
	}
}
