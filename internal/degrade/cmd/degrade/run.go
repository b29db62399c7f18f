package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/tcpwatch/tcpwatch/internal/degrade"
)

const usage = `usage: degrade -r IN -w OUT [-loss P] [-seed N] [-only c2s|s2c [-client ADDR[:PORT] | -states FILE]] [-late N] [-swap P]

Writes a degraded copy of a capture (pcap or pcapng, gzip allowed) as pcap.

options:
`

type config struct {
	in, out, only, client, states string
	plan                          degrade.Plan
}

func parseArgs(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("degrade", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(stderr)
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.in, "r", "", "read the capture `FILE`")
	fs.StringVar(&c.out, "w", "", "write the degraded capture to `FILE` (pcap)")
	fs.Float64Var(&c.plan.Loss, "loss", 0, "drop this fraction of TCP packets at random (0.05: 5%)")
	fs.Uint64Var(&c.plan.Seed, "seed", 1, "seed of -loss and -swap: the same seed gives the same copy")
	fs.StringVar(&c.only, "only", "", "keep one direction: c2s (client to server) or s2c")
	fs.StringVar(&c.client, "client", "", "with -only: the client's `ADDR[:PORT]`")
	fs.StringVar(&c.states, "states", "", "with -only: take each connection's client from this .states `FILE` (default: the one beside -r)")
	fs.IntVar(&c.plan.Late, "late", 0, "drop the first `N` packets of each connection")
	fs.Float64Var(&c.plan.Swap, "swap", 0, "swap this fraction of adjacent TCP packet pairs at random")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (degrade -h for help)", fs.Arg(0))
	case c.in == "" || c.out == "":
		return nil, errors.New("give -r IN and -w OUT (degrade -h for help)")
	case c.in == "-":
		return nil, errors.New("-r -: standard input cannot be read twice; give a file")
	case c.plan.Loss < 0 || c.plan.Loss > 1:
		return nil, fmt.Errorf("-loss %v: must be between 0 and 1", c.plan.Loss)
	case c.plan.Swap < 0 || c.plan.Swap > 1:
		return nil, fmt.Errorf("-swap %v: must be between 0 and 1", c.plan.Swap)
	case c.plan.Late < 0:
		return nil, fmt.Errorf("-late %d: must not be negative", c.plan.Late)
	case c.only == "" && (c.client != "" || c.states != ""):
		return nil, errors.New("-client and -states need -only")
	case c.client != "" && c.states != "":
		return nil, errors.New("give -client or -states, not both")
	}
	if c.only != "" {
		d, err := degrade.ParseDirection(c.only)
		if err != nil {
			return nil, fmt.Errorf("-only: %w", err)
		}
		c.plan.Only = d
	}
	return c, nil
}

// roles returns who the client is, for -only.
func (c *config) roles() (degrade.Roles, error) {
	if c.plan.Only == degrade.Both {
		return nil, nil
	}
	if c.client != "" {
		if ap, err := netip.ParseAddrPort(c.client); err == nil {
			return degrade.ClientEndpoint(ap.Addr(), ap.Port()), nil
		}
		a, err := netip.ParseAddr(c.client)
		if err != nil {
			return nil, fmt.Errorf("-client %q: not an address or address:port", c.client)
		}
		return degrade.ClientEndpoint(a, 0), nil
	}
	path := c.states
	if path == "" {
		path = statesBeside(c.in)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("-only needs the client: no %s beside %q; give -client ADDR[:PORT] or -states FILE", path, c.in)
		}
	}
	rows, err := degrade.ReadStates(path)
	if err != nil {
		return nil, err
	}
	return degrade.RolesOf(rows), nil
}

// statesBeside is the .states file a recording comes with.
func statesBeside(pcap string) string {
	base := strings.TrimSuffix(pcap, ".gz")
	for _, ext := range []string{".pcap", ".pcapng"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base + ".states"
}

// run is degrade with its arguments; it returns the exit code: 0 written,
// 2 a usage, input or output error (one line on stderr).
func run(args []string, stderr io.Writer) int {
	c, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = c.degrade(stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "degrade: %v\n", err)
		return 2
	}
	return 0
}

// degrade reads the input, degrades it and writes the output.
func (c *config) degrade(stderr io.Writer) error {
	roles, err := c.roles()
	if err != nil {
		return err
	}
	pkts, err := degrade.Load(c.in)
	if err != nil {
		return err
	}
	raw, err := readRaw(c.in)
	if err != nil {
		return err
	}
	if len(raw.recs) != len(pkts) {
		return fmt.Errorf("%q: read %d packets raw but %d decoded", c.in, len(raw.recs), len(pkts))
	}
	out := c.plan.Apply(pkts, roles)
	if err := writePcap(c.out, raw, out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%s: %d of %d packets kept (%s)\n", c.out, len(out), len(pkts), c.plan.Flags())
	return nil
}
