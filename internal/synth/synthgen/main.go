// Command synthgen writes a synthetic capture to standard output, for
// measurements: e.g. `go run ./internal/synth/synthgen -flood 1000000
// -target '[fd00::2]:80' > flood.pcap`.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"

	"github.com/tcpwatch/tcpwatch/internal/synth"
)

func main() {
	var cfg synth.Config
	var target string
	flag.IntVar(&cfg.Conns, "conns", 0, "complete connections")
	flag.IntVar(&cfg.Concurrency, "concurrency", 100, "connections open at once")
	flag.IntVar(&cfg.DataRounds, "rounds", 2, "request/response rounds per connection")
	flag.IntVar(&cfg.Flood, "flood", 0, "SYNs from distinct spoofed sources")
	flag.IntVar(&cfg.Lone, "lone", 0, "lone segments of the -kind flood to random 4-tuples (the connections spread over it)")
	kind := flag.String("kind", "ack", "lone flood: ack, rst, synack, finack, mixed or syn")
	flag.BoolVar(&cfg.LoneRefused, "refused", false, "the lone flood's target answers each segment with an RST")
	flag.IntVar(&cfg.LoneSources, "sources", 0, "distinct senders of the lone flood (default: one per segment)")
	flag.StringVar(&target, "target", "198.18.0.2:80", "flood target (an IPv6 target allows more than 131070 sources)")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed")
	flag.IntVar(&cfg.Faults, "faults", 0, "one connection in N ends badly: refused, reset or left in CLOSE_WAIT (0: none)")
	flag.DurationVar(&cfg.Interval, "interval", 0, "mean gap between packets (default 50µs)")
	flag.Parse()
	var err error
	cfg.LoneKind, err = synth.ParseLoneKind(*kind)
	if err == nil {
		cfg.FloodTarget, err = netip.ParseAddrPort(target)
	}
	if err == nil {
		err = synth.Write(os.Stdout, cfg)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "synthgen:", err)
		os.Exit(1)
	}
}
