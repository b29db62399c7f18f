package report

import "github.com/tcpwatch/tcpwatch/tracker"

// Summarize counts the tracker's connections by side and state and its
// findings by kind, exactly as the report's summary does.
func Summarize(tr *tracker.Tracker) Summary { return summarize(tr, tr.Conns()) }
