package degrade

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// Row is one line of a recording's .states file: the states the Linux kernel
// held for one connection (ss -tan in both namespaces) when the capture
// stopped. Rows come in order of the connection's first packet.
type Row struct {
	Client, Server netip.AddrPort
	State          [2]tracker.State // indexed by tracker.Client and tracker.Server
}

// ReadStates reads a .states file: a header line, then one tab-separated
// line per connection (client, server, client state, server state). Blank
// lines and lines starting with # are skipped.
func ReadStates(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	header := true
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if header {
			header = false
			continue
		}
		r, err := parseRow(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return rows, nil
}

func parseRow(line string) (Row, error) {
	f := strings.Split(line, "\t")
	if len(f) != 4 {
		return Row{}, fmt.Errorf("%q: want 4 tab-separated fields, have %d", line, len(f))
	}
	var r Row
	var err error
	if r.Client, err = netip.ParseAddrPort(f[0]); err != nil {
		return Row{}, fmt.Errorf("client %q: %w", f[0], err)
	}
	if r.Server, err = netip.ParseAddrPort(f[1]); err != nil {
		return Row{}, fmt.Errorf("server %q: %w", f[1], err)
	}
	for i, name := range f[2:] {
		st, ok := tracker.ParseState(name)
		if !ok {
			return Row{}, fmt.Errorf("state %q: not an RFC 793 state name", name)
		}
		r.State[i] = st
	}
	return r, nil
}

// CaptureOf returns the capture beside a recording's .states file, named
// base without the extension: base.pcap, base.pcap.gz or base.pcapng,
// the first that exists (base.pcap when none does).
func CaptureOf(base string) string {
	for _, ext := range []string{".pcap", ".pcap.gz", ".pcapng"} {
		if _, err := os.Stat(base + ext); err == nil {
			return base + ext
		}
	}
	return base + ".pcap"
}
