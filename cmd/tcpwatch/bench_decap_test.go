package main

import (
	"testing"

	"github.com/tcpwatch/tcpwatch/capture"
)

// BenchmarkDecodeOnlyNoChecksums is BenchmarkDecodeOnly with checksums not
// verified (--no-checksums): the synthetic capture holds whole packets, so
// the difference is the cost of summing every byte.
func BenchmarkDecodeOnlyNoChecksums(b *testing.B) {
	name := benchCapture(b)
	b.ReportAllocs()
	var pkts uint64
	var sink uint32
	noChecksums := func(rd *capture.Reader) { rd.Decoder().NoChecksums = true }
	for b.Loop() {
		pkts += readAllWith(b, name, noChecksums, func(p *capture.Packet) { sink += p.Seg.Payload })
	}
	reportRate(b, pkts)
}
