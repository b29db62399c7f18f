package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/report"
)

// zeekLog is a Zeek ASCII log read as zeek-cut reads it: the header lines
// by name, the rows as maps from the #fields names to values.
type zeekLog struct {
	header map[string]string // "#path" -> "conn", ...
	fields []string
	types  []string
	rows   []map[string]string
	closed bool
}

// parseZeekLog reads a Zeek TSV log: the "#separator \xHH" line first,
// then "#key<sep>value" header lines, rows split at the separator, "#close"
// last. It fails on anything else.
func parseZeekLog(text string) (*zeekLog, error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "#separator ") {
		return nil, fmt.Errorf("first line %q is not #separator", sc.Text())
	}
	sep, err := strconv.Unquote(`"` + strings.TrimPrefix(sc.Text(), "#separator ") + `"`)
	if err != nil || len(sep) != 1 {
		return nil, fmt.Errorf("bad separator in %q", sc.Text())
	}
	l := &zeekLog{header: map[string]string{}}
	for n := 2; sc.Scan(); n++ {
		line := sc.Text()
		if l.closed {
			return nil, fmt.Errorf("line %d after #close: %q", n, line)
		}
		if strings.HasPrefix(line, "#") {
			k, v, ok := strings.Cut(line, sep)
			if !ok {
				return nil, fmt.Errorf("line %d: header without a value: %q", n, line)
			}
			l.header[k] = v
			switch k {
			case "#fields":
				l.fields = strings.Split(v, sep)
			case "#types":
				l.types = strings.Split(v, sep)
			case "#close":
				l.closed = true
			}
			continue
		}
		vals := strings.Split(line, sep)
		if l.fields == nil || len(vals) != len(l.fields) {
			return nil, fmt.Errorf("line %d: %d values for %d fields", n, len(vals), len(l.fields))
		}
		row := map[string]string{}
		for i, f := range l.fields {
			row[f] = vals[i]
		}
		l.rows = append(l.rows, row)
	}
	return l, nil
}

// checkZeekValue checks that v is a value of Zeek type typ, or unset.
func checkZeekValue(typ, v, unset string) error {
	if v == unset {
		return nil
	}
	var err error
	switch typ {
	case "time", "interval":
		if _, err = strconv.ParseFloat(v, 64); err == nil && !strings.Contains(v, ".") || len(v)-strings.Index(v, ".") != 7 {
			err = fmt.Errorf("want six decimals")
		}
	case "port":
		_, err = strconv.ParseUint(v, 10, 16)
	case "count":
		_, err = strconv.ParseUint(v, 10, 64)
	case "addr":
		_, err = netip.ParseAddr(v)
	case "bool":
		if v != "T" && v != "F" {
			err = fmt.Errorf("want T or F")
		}
	}
	if err != nil {
		return fmt.Errorf("%s %q: %v", typ, v, err)
	}
	return nil
}

// TestZeekLogReadsAsZeekCut: -F zeek on every recording is a conn.log that
// a zeek-cut style reader parses, with Zeek's header lines and types, and
// whose rows agree with the JSON document's connections.
func TestZeekLogReadsAsZeekCut(t *testing.T) {
	want := strings.Fields("ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes " +
		"conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents")
	for _, p := range recordings(t) {
		t.Run(filepath.Base(p), func(t *testing.T) {
			_, out, _ := runCLI("-r", p, "-F", "zeek")
			l, err := parseZeekLog(out)
			if err != nil {
				t.Fatalf("%v:\n%s", err, out)
			}
			if !slices.Equal(l.fields, want) || len(l.types) != len(want) || l.header["#path"] != "conn" ||
				l.header["#set_separator"] != "," || l.header["#empty_field"] != "(empty)" || !l.closed {
				t.Fatalf("header %v, fields %v, types %v", l.header, l.fields, l.types)
			}
			_, js, _ := runCLI("-r", p, "-F", "json")
			var rep report.Report
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			if len(l.rows) != len(rep.Connections) {
				t.Fatalf("%d rows, %d connections", len(l.rows), len(rep.Connections))
			}
			uids := map[string]bool{}
			for i, row := range l.rows {
				for j, f := range l.fields {
					if err := checkZeekValue(l.types[j], row[f], l.header["#unset_field"]); err != nil {
						t.Errorf("row %d %s: %v", i+1, f, err)
					}
				}
				checkZeekRow(t, row, &rep.Connections[i])
				uids[row["uid"]] = true
			}
			if len(uids) != len(l.rows) {
				t.Errorf("%d distinct uids for %d rows", len(uids), len(l.rows))
			}
		})
	}
}

// checkZeekRow compares a conn.log row with the connection it describes.
func checkZeekRow(t *testing.T, row map[string]string, c *report.Connection) {
	t.Helper()
	orig := netip.AddrPortFrom(netip.MustParseAddr(row["id.orig_h"]), uint16(atoi(row["id.orig_p"])))
	resp := netip.AddrPortFrom(netip.MustParseAddr(row["id.resp_h"]), uint16(atoi(row["id.resp_p"])))
	flipped := orig == c.Server
	if !(orig == c.Client && resp == c.Server) && !(flipped && resp == c.Client) {
		t.Errorf("#%d: %v → %v, want the connection's %v and %v", c.ID, orig, resp, c.Client, c.Server)
	}
	if strings.HasPrefix(row["history"], "S") && flipped {
		t.Errorf("#%d: the originator sent the first SYN (history %s) but is the server", c.ID, row["history"])
	}
	first := time.Unix(0, int64(c.FirstPacket))
	if wantTS := fmt.Sprintf("%d.%06d", first.Unix(), first.Nanosecond()/1000); row["ts"] != wantTS {
		t.Errorf("#%d: ts %s, want %s", c.ID, row["ts"], wantTS)
	}
	wantDur := "-"
	if d := c.Duration(); d > 0 {
		wantDur = fmt.Sprintf("%.6f", d.Seconds())
	}
	pk, by := c.Packets, c.PayloadBytes
	if flipped {
		pk, by = report.PerSide{Client: pk.Server, Server: pk.Client}, report.PerSide{Client: by.Server, Server: by.Client}
	}
	wantHist := c.History
	if wantHist == "" {
		wantHist = "-"
	}
	if row["duration"] != wantDur || row["conn_state"] != string(c.ConnState) || row["history"] != wantHist ||
		atoi(row["orig_pkts"]) != pk.Client || atoi(row["resp_pkts"]) != pk.Server || row["proto"] != "tcp" {
		t.Errorf("#%d: row %v; connection %+v", c.ID, row, *c)
	}
	// Zeek's byte counts are sequence spans: on a connection without
	// findings, retransmissions, gaps or RSTs (whose sequence numbers
	// count, wherever they fall), the payload sent.
	clean := len(c.Anomalies) == 0 && !strings.ContainsAny(c.History, "TtGgRr") && c.MissedBytes == nil && !c.Midstream
	if wantDur != "-" && clean && (atoi(row["orig_bytes"]) != by.Client || atoi(row["resp_bytes"]) != by.Server) {
		t.Errorf("#%d (%s): orig_bytes %s, resp_bytes %s; want the payload sent, %d and %d", c.ID, c.History, row["orig_bytes"], row["resp_bytes"], by.Client, by.Server)
	}
}

func atoi(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// TestCSVHasARowPerConnection: -F csv on every recording is RFC 4180 with
// a header row and one row per connection, agreeing with the JSON.
func TestCSVHasARowPerConnection(t *testing.T) {
	for _, p := range recordings(t) {
		_, out, _ := runCLI("-r", p, "-F", "csv")
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		_, js, _ := runCLI("-r", p, "-F", "json")
		var rep report.Report
		if err := json.Unmarshal([]byte(js), &rep); err != nil {
			t.Fatal(err)
		}
		if len(recs) != 1+len(rep.Connections) || recs[0][0] != "id" {
			t.Fatalf("%s: %d records for %d connections", p, len(recs), len(rep.Connections))
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for i, c := range rep.Connections {
			r := recs[i+1]
			kinds := make([]string, len(c.Anomalies))
			for j, k := range c.Anomalies {
				kinds[j] = k.String()
			}
			client := netip.AddrPortFrom(netip.MustParseAddr(r[col["client_addr"]]), uint16(atoi(r[col["client_port"]])))
			if atoi(r[col["id"]]) != c.ID || client != c.Client || r[col["server_state"]] != c.ServerState.String() ||
				r[col["history"]] != c.History || r[col["first_packet"]] != c.FirstPacket.String() ||
				r[col["anomalies"]] != strings.Join(kinds, ";") || atoi(r[col["client_packets"]]) != c.Packets.Client {
				t.Errorf("%s: row %v; connection %+v", filepath.Base(p), r, c)
			}
		}
	}
}

// TestFormatGolden: -F csv and -F zeek of one recording, byte for byte.
func TestFormatGolden(t *testing.T) {
	p := "../../testdata/pcaps/anomalies/half-open-silence.pcap"
	for _, f := range []string{"csv", "zeek"} {
		code, out, errs := runCLI("-r", p, "-F", f)
		if code != 0 {
			t.Fatalf("-F %s: exit %d: %s", f, code, errs)
		}
		checkGoldenFile(t, "half-open-silence."+f, out)
	}
}
