// Package report turns a tracker's results into what people and programs
// read. One typed model serves every output: the [Report] (whose JSON
// encoding is the `--format json` document of SPEC.md), its rows and
// findings, and the live view's [Snapshot] built of the same types. States,
// kinds, severities, sides and addresses stay typed up to the printer and
// encode as text only when written, so nothing parses a string tcpwatch
// printed.
//
// # Outputs
//
// One [Format] enum, one [Print] that switches on it: tables (one printer
// in print.go builds every table, for the report and the live view alike;
// a large capture is rolled up, [Rollup]), the JSON document (described by
// docs/tcpwatch.schema.json), the final ndjson line, CSV (csv.go) and
// Zeek's conn.log (zeeklog.go). [Events] writes the ndjson event stream as
// things happen; [LiveView] draws a frame every --interval, in a
// terminal's alternate screen sized to the window.
package report
