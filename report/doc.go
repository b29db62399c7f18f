// Package report turns a tracker's results into what people and programs
// read: the [Report] model, whose JSON encoding is the `--format json`
// document of SPEC.md; the tables (one printer in print.go builds every
// table, for the report and the live view alike); the ndjson event stream
// ([Events]); and the live view ([LiveView]). One [Format] enum, one [Print] that switches on it.
package report
