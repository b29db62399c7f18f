package main

import (
	"io"
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
	for b.Loop() {
		rd, err := capture.OpenFiles([]string{name}, "")
		if err != nil {
			b.Fatal(err)
		}
		rd.Decoder().NoChecksums = true
		var p capture.Packet
		for {
			if err := rd.Next(&p); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		pkts += rd.Stats().Packets
		rd.Close()
	}
	reportRate(b, pkts)
}
