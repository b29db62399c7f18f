// Command degrade writes a degraded copy of a packet capture: packets lost
// at random, one direction only, each connection's first packets missing,
// adjacent packets swapped — the captures internal/degrade scores tcpwatch
// on, so that one of them can be read with tcpwatch -v.
//
//	degrade -loss 0.05 -seed 3 -r in.pcap -w out.pcap
//	degrade -only c2s -r testdata/pcaps/ipv6.pcap -w c2s.pcap
//
// The degradations are applied in this order: -only, -late, -loss, -swap.
// The output is a pcap file with nanosecond timestamps and the input's link
// type; each packet keeps its bytes, and a swapped packet takes the
// timestamp of the one it changed places with.
package main

import (
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }
