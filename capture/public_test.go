package capture

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/internal/testenv"
)

// publicDir is where the project keeps the public captures with third-party
// labels, beside the repository (see its README). TCPWATCH_PUBLIC_PCAPS
// overrides it.
func publicDir(t *testing.T) string {
	dir := os.Getenv("TCPWATCH_PUBLIC_PCAPS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "pcaps", "public")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		testenv.SkipOrFail(t, "public captures not found (%v); set TCPWATCH_PUBLIC_PCAPS to their directory", err)
	}
	return dir
}

// Captures that must not be read to the end, with the start of the error.
// None of the public set is invalid as it stands; a file added here is
// checked to fail cleanly.
var invalid = map[string]string{}

// TestPublicCaptures reads every public capture and compares what it finds
// with the MANIFEST's packet count and tshark's TCP packet count.
func TestPublicCaptures(t *testing.T) {
	dir := publicDir(t)
	manifest := readTSV(t, filepath.Join(dir, "MANIFEST.tsv"))
	if len(manifest) < 90 {
		t.Fatalf("MANIFEST.tsv lists %d captures", len(manifest))
	}
	for _, row := range manifest {
		local := row["local"]
		base := filepath.Base(local)
		t.Run(base, func(t *testing.T) {
			pkts, st, err := readAll(t, []string{filepath.Join(dir, local)}, "")
			if want, ok := invalid[base]; ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n, err := strconv.ParseUint(row["packets"], 10, 64); err == nil && st.Packets != n {
				t.Errorf("%d packets, MANIFEST says %d", st.Packets, n)
			}
			if st.Malformed != 0 {
				t.Errorf("%d malformed packets", st.Malformed)
			}
			for _, p := range pkts {
				if p.Kind == TCP && (p.Seg.Time != p.Time || p.Seg.Packet != p.Num) {
					t.Fatalf("packet %d: segment time or number not filled", p.Num)
				}
				if p.Time < 0 { // a timestamp of 0 is the epoch, as tcpdump prints it
					t.Fatalf("packet %d: time %d, before 1970", p.Num, p.Time)
				}
			}
			tshark, ok := tsharkTCPPackets(t, filepath.Join(dir, "labels", base+".tshark.txt"))
			if !ok {
				return
			}
			// tshark counts a TCP header cut by the snaplen as TCP; we
			// count it as Truncated. Both open tunnels and count a
			// fragmented segment once, in the packet that completes it.
			if got := st.TCP + st.Truncated; got != tshark {
				t.Errorf("%d TCP (+ truncated) packets, tshark sees %d", got, tshark)
			}
		})
	}
}

// readTSV reads a tab-separated file with a header line into rows.
func readTSV(t *testing.T, name string) []map[string]string {
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header []string
	var rows []map[string]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Split(s.Text(), "\t")
		if header == nil {
			header = fields
			continue
		}
		row := map[string]string{}
		for i, h := range header {
			if i < len(fields) {
				row[h] = fields[i]
			}
		}
		rows = append(rows, row)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// tsharkTCPPackets counts the rows of section 3 of a tshark label file: one
// per packet tshark decoded as TCP.
func tsharkTCPPackets(t *testing.T, name string) (uint64, bool) {
	f, err := os.Open(name)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var n uint64
	in := false
	s := bufio.NewScanner(f)
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		line := s.Text()
		if strings.HasPrefix(line, "# section 3") {
			in = true
			continue
		}
		if in && line != "" && line[0] >= '0' && line[0] <= '9' {
			n++
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return n, in
}
