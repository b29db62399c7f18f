// Package html writes the report as one self-contained HTML file: the
// input summary, connections by service, findings, charts of connections
// by state and of SYNs per second over the capture, and for each listed
// connection its ladder diagram and timeline. Styles and SVG drawings are
// inline; the page loads nothing and runs no script, so it opens offline
// in any browser.
package html
