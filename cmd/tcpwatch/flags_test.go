package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/tcpwatch/tcpwatch/tracker"
)

// TestShortFlagsClusterAsTcpdumps: single-letter flags bundle and take
// attached values as getopt's do, long flags take -- and =, options may
// follow the filter, and -- ends them.
func TestShortFlagsClusterAsTcpdumps(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		files   []string
		count   uint64
		verbose int
		format  string
		filter  string
	}{
		{[]string{"-vr", "x.pcap"}, []string{"x.pcap"}, 0, 1, "table", ""},
		{[]string{"-rx.pcap", "-vv"}, []string{"x.pcap"}, 0, 2, "table", ""},
		{[]string{"-r", "x.pcap", "-c10"}, []string{"x.pcap"}, 10, 0, "table", ""},
		{[]string{"-r", "x.pcap", "-vc", "10"}, []string{"x.pcap"}, 10, 1, "table", ""},
		{[]string{"-r", "x.pcap", "-Fjson"}, []string{"x.pcap"}, 0, 0, "json", ""},
		{[]string{"-r", "x.pcap", "--format=ndjson"}, []string{"x.pcap"}, 0, 0, "ndjson", ""},
		{[]string{"-r", "x.pcap", "--format", "json", "--verbose"}, []string{"x.pcap"}, 0, 1, "json", ""},
		{[]string{"-r", "a", "-r", "b", "port", "80", "-F", "json", "and", "host", "h"}, []string{"a", "b"}, 0, 0, "json", "port 80 and host h"},
		{[]string{"-r", "-", "tcp", "--", "-v"}, []string{"-"}, 0, 0, "table", "tcp -v"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, err := parseArgs(tc.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.files, tc.files) || c.count != tc.count || c.verbose != tc.verbose || c.format != tc.format || c.filter != tc.filter {
				t.Errorf("files %q count %d verbose %d format %q filter %q; want %q %d %d %q %q",
					c.files, c.count, c.verbose, c.format, c.filter, tc.files, tc.count, tc.verbose, tc.format, tc.filter)
			}
		})
	}
}

// TestUsageErrorsSayWhereTheUsageIs: a command line that cannot run is one
// line on stderr that names the problem and points at --help, nothing on
// stdout, exit 2.
func TestUsageErrorsSayWhereTheUsageIs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", sample, "-c", "0"}, "tcpwatch: -c 0: invalid packet count, want 1 or more (tcpwatch --help for usage)\n"},
		{[]string{"-r", "-", "-r", sample, "-r", "-"}, "tcpwatch: -r - given more than once: standard input can be read only once (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--msl", "1281025h"}, "tcpwatch: --msl 1281025h0m0s: at most 24h0m0s (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-c0"}, "tcpwatch: -c 0: invalid packet count, want 1 or more (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-c", "-1"}, "tcpwatch: -c -1: invalid packet count, want 1 or more (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--fail-on="}, "tcpwatch: --fail-on \"\": give anomaly kinds, a severity (info, warning, critical) or any (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--fail-on", " "}, "tcpwatch: --fail-on \" \": give anomaly kinds, a severity (info, warning, critical) or any (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-w", "x.pcap", "--write="}, "tcpwatch: --write \"\": give anomaly kinds, a severity (info, warning, critical), any or all (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--write", "all"}, "tcpwatch: --write chooses what -w writes: give -w FILE too (tcpwatch --help for usage)\n"},
		{[]string{"-i", "lo", "--duration", "-1s"}, "tcpwatch: --duration -1s: must not be negative (tcpwatch --help for usage)\n"},
		{[]string{"-i", "lo", "--interval", "0"}, "tcpwatch: --interval 0s: must be positive (tcpwatch --help for usage)\n"},
		{[]string{"-i", "lo", "-s", "-5"}, "tcpwatch: -s -5: invalid snapshot length, want 0 (262144, as tcpdump) or more (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--bogus"}, "tcpwatch: unknown flag: --bogus (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-format", "json"}, "tcpwatch: -format: long flags take two dashes: --format (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-stuck=5s"}, "tcpwatch: -stuck=5s: long flags take two dashes: --stuck (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-c"}, "tcpwatch: flag needs an argument: 'c' in -c (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-c", "ten"}, `tcpwatch: -c ten: invalid packet count, want 1 or more (tcpwatch --help for usage)` + "\n"},
		{[]string{}, "tcpwatch: nothing to read: give -r FILE or -i IFACE (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-w", "-"}, "tcpwatch: -w -: standard output takes the report; give the name of the file to write (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-F", ""}, "tcpwatch: -F \"\": give a format: table, json, ndjson, csv or zeek (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-Z", ""}, "tcpwatch: -Z \"\": give the user to switch to (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--verbose=false"}, "tcpwatch: --verbose=false: -v takes no value; give it once, or twice (-vv) for more (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-c", "99999999999999999999"}, "tcpwatch: -c 99999999999999999999: invalid packet count, want 1 to 18446744073709551615 (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--stuck", "2562048h"}, "tcpwatch: --stuck 2562048h: too long, at most 2562047h47m16.854775807s (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--stuck", "5x"}, "tcpwatch: invalid argument \"5x\" for \"--stuck\" flag: must be a duration like \"30s\" or \"5m\" (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "--ladder", "-q"}, "tcpwatch: --ladder without IDs draws the connections the table lists, and -q lists none: name them (--ladder 3,7) or leave out -q (tcpwatch --help for usage)\n"},
		{[]string{"-c", "0"}, "tcpwatch: -c 0: invalid packet count, want 1 or more (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-r", sample}, "tcpwatch: -r " + sample + " given twice: each file is read once (its packets twice would be retransmissions) (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-r", "./" + sample}, "tcpwatch: -r " + sample + " and -r ./" + sample + " are the same file: each file is read once (its packets twice would be retransmissions) (tcpwatch --help for usage)\n"},
		{[]string{"-r", sample, "-tttttt"}, "tcpwatch: -tttttt: at most five t's (-t, -tt, -ttt, -tttt, -ttttt) (tcpwatch --help for usage)\n"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errs := runCLI(tc.args...)
			if code != exitError || out != "" || errs != tc.want {
				t.Errorf("exit %d, stdout %q, stderr\n%q\nwant exit 2, nothing, and\n%q", code, out, errs, tc.want)
			}
		})
	}
}

// TestHelpListsExamplesKindsAndExitCodes: --help and -h print, on stdout,
// the usage with examples, every flag once, every anomaly kind with its
// severity, and the exit codes.
func TestHelpListsExamplesKindsAndExitCodes(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		code, out, errs := runCLI(arg)
		if code != exitOK || errs != "" {
			t.Fatalf("%s: exit %d, stderr %q", arg, code, errs)
		}
		for _, want := range []string{"usage: tcpwatch -r FILE", "examples:\n  tcpwatch -r ", "exit codes:\n  0 ", "  2  usage"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not say %q:\n%s", arg, want, out)
			}
		}
		for _, k := range tracker.Kinds() {
			if !strings.Contains(out, "\n  "+k.String()+strings.Repeat(" ", 21-len(k.String()))+k.Severity().String()+"\n") {
				t.Errorf("%s does not list %s as %s", arg, k, k.Severity())
			}
		}
		if n := strings.Count(out, "--format"); n != 1 {
			t.Errorf("%s names --format %d times, want once (-F, --format)", arg, n)
		}
	}
}

// TestVersionNamesTheBuild: --version prints one line with the toolchain,
// whatever else is on the command line, and exits 0.
func TestVersionNamesTheBuild(t *testing.T) {
	var out, errb bytes.Buffer
	_, err := parseArgs([]string{"--version", "-r", "x"}, &out)
	if !errors.Is(err, errDone) || !strings.HasPrefix(out.String(), "tcpwatch ") || strings.Count(out.String(), "\n") != 1 || errb.Len() != 0 {
		t.Fatalf("--version: %v, %q", err, out.String())
	}
	if !strings.Contains(out.String(), " go1.") {
		t.Errorf("--version does not name the Go version: %q", out.String())
	}
}

// TestVersionLineFromBuildInfo: the module version, the commit, its time
// and whether the tree was modified, as the toolchain recorded them.
func TestVersionLineFromBuildInfo(t *testing.T) {
	vcs := []debug.BuildSetting{{Key: "vcs.revision", Value: "1b47fbb4"}, {Key: "vcs.time", Value: "2026-12-01T10:59:22Z"}}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{&debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: vcs}, "tcpwatch v1.2.0 (commit 1b47fbb4, 2026-12-01T10:59:22Z) go1.26 linux/amd64"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: append(vcs, debug.BuildSetting{Key: "vcs.modified", Value: "true"})},
			"tcpwatch (devel) (commit 1b47fbb4, 2026-12-01T10:59:22Z, modified) go1.26 linux/amd64"},
		{&debug.BuildInfo{}, "tcpwatch (devel) go1.26 linux/amd64"},
		{nil, "tcpwatch unknown go1.26 linux/amd64"},
	} {
		if got := versionOf(tc.bi, "go1.26 linux/amd64"); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

// TestEveryFlagIsDocumented: every flag is in docs/SPEC.md's table of flags
// and in the README's usage table, by its letter or its long name.
func TestEveryFlagIsDocumented(t *testing.T) {
	for _, doc := range []struct{ file, from, to string }{
		{"../../docs/SPEC.md", "### Flags", "### The filter"},
		{"../../README.md", "## Usage", "## How states are inferred"},
	} {
		b, err := os.ReadFile(doc.file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		i, j := strings.Index(text, doc.from), strings.Index(text, doc.to)
		if i < 0 || j < i {
			t.Fatalf("%s: no section from %q to %q", doc.file, doc.from, doc.to)
		}
		section := text[i:j]
		newFlagSet(&config{}).VisitAll(func(f *pflag.Flag) {
			long, short := "`--"+f.Name, "`-"+f.Shorthand
			if !regexp.MustCompile(regexp.QuoteMeta(long)+"[` =]").MatchString(section) &&
				(f.Shorthand == "" || !regexp.MustCompile(regexp.QuoteMeta(short)+"[` ]").MatchString(section)) {
				t.Errorf("%s does not document %s", doc.file, flagSynopsis(f))
			}
		})
	}
}

// FuzzParseArgs: no command line makes the parser panic; each gives a
// configuration or an error (go test -fuzz FuzzParseArgs ./cmd/tcpwatch).
func FuzzParseArgs(f *testing.F) {
	for _, seed := range []string{"-nr x.pcap -vvc10", "-r x -- -v", "--write= -w", "-c -1", "-tttttttt -r x", "--=x", "-", "---x", "-Fjson -r x port 80 -q", "--fail-on , -r x", "-r x --msl -1s"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		for _, a := range args {
			if a == "-D" || strings.HasPrefix(a, "--list") || strings.Contains(a, "D") && strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") {
				return // lists this machine's interfaces: not a parse
			}
		}
		c, err := parseArgs(args, io.Discard)
		if (c == nil) == (err == nil) {
			t.Errorf("parseArgs(%q) = %v, %v: want one of them", args, c, err)
		}
	})
}

// TestLiveOnlyFlagsAreIgnoredWithFiles: the live-only flags SPEC lists as
// ignored in file mode leave a file's report as it is, as tcpdump's -s, -p
// and -B do with -r; --metrics with -r is a usage error.
func TestLiveOnlyFlagsAreIgnoredWithFiles(t *testing.T) {
	file := "../../testdata/pcaps/lost-third-ack.pcap"
	_, want, _ := runCLI("-r", file, "-F", "json")
	for _, live := range [][]string{{"-s", "100"}, {"-p"}, {"--fanout", "2"}, {"--libpcap"}, {"-B", "1024"}, {"--duration", "1ms"}, {"--interval", "2s"}} {
		code, out, errOut := runCLI(append([]string{"-r", file, "-F", "json"}, live...)...)
		if code != 0 || errOut != "" || out != want {
			t.Errorf("%v: exit %d, stderr %q, report the same: %v", live, code, errOut, out == want)
		}
	}
	if code, _, errOut := runCLI("-r", file, "--metrics", ":9713"); code != exitError || !strings.Contains(errOut, "--metrics") {
		t.Errorf("--metrics with -r: exit %d, stderr %q", code, errOut)
	}
}
