package main

import (
	"cmp"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tcpwatch/tcpwatch/tracker"
)

const usageHead = `usage: tcpwatch -r FILE [-r FILE ...] [options] [BPF filter expression]
       tcpwatch -i IFACE [options] [BPF filter expression]

Follows every TCP connection and infers each side's RFC 793 state, and
what is wrong with the connections that are stuck, refused or reset.

Short flags cluster as tcpdump's do (-nr FILE, -vc10); options may follow
the filter; after -- every word is the filter's.

examples:
  tcpwatch -r capture.pcap                    states and findings of every connection
  tcpwatch -nr capture.pcap.gz port 443 -v    one service, with each connection's timeline
  tcpwatch -r capture.pcap -F json | jq .summary
  tcpwatch -r a.pcap -r b.pcap --fail-on warning
                                              exit 1 on a finding at warning or worse (CI)
  tcpwatch -r capture.pcap -w stuck.pcap      the flagged connections' packets, for Wireshark
  tcpwatch -i eth0 -Z nobody --duration 1m    a minute of live traffic, as nobody once eth0 is open
`

const usageTail = `
exit codes:
  0  done; no finding matched --fail-on
  1  a finding matched --fail-on
  2  usage, input, capture or write error (one line on standard error)

The whole contract (every flag, the JSON document, the events): docs/SPEC.md.
`

// printHelp writes --help to w: the usage, examples, every flag, the
// anomaly kinds with their severities and the exit codes.
func printHelp(w io.Writer, fs *pflag.FlagSet) error {
	var b strings.Builder
	b.WriteString(usageHead)
	b.WriteString("\noptions:\n")
	writeFlags(&b, fs)
	b.WriteString("\nanomaly kinds (for --fail-on and --write):\n")
	for _, k := range tracker.Kinds() {
		fmt.Fprintf(&b, "  %-20s %s\n", k, k.Severity())
	}
	b.WriteString(usageTail)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return writeError(err)
	}
	return errDone
}

// helpWidth is the width --help wraps the flags' descriptions at.
const helpWidth = 100

// writeFlags lists every flag, its synopsis in a column and its
// description beside it, wrapped at helpWidth.
func writeFlags(b *strings.Builder, fs *pflag.FlagSet) {
	col := 0 // where the descriptions begin: after the longest synopsis
	fs.VisitAll(func(f *pflag.Flag) { col = max(col, 2+len(flagSynopsis(f))+2) })
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		line := fmt.Sprintf("  %-*s", col-2, flagSynopsis(f))
		for _, w := range strings.Fields(flagUsage(f)) {
			if len(line) > col && len(line)+1+len(w) > helpWidth {
				b.WriteString(line + "\n")
				line = strings.Repeat(" ", col)
			}
			if len(line) > col {
				line += " "
			}
			line += w
		}
		b.WriteString(line + "\n")
	})
}

// flagSynopsis is "-r FILE", "-F, --format FORMAT", "--all": a flag whose
// long name is its letter is shown by the letter only.
func flagSynopsis(f *pflag.Flag) string {
	name, _ := pflag.UnquoteUsage(f)
	switch f.Value.Type() {
	case "bool", "count":
		name = ""
	case "duration":
		name = "D"
	case "int", "uint64":
		if name == "int" || name == "uint" {
			name = "N"
		}
	}
	s := "--" + f.Name
	switch {
	case f.Shorthand != "" && f.Shorthand == f.Name:
		s = "-" + f.Shorthand
	case f.Shorthand != "":
		s = "-" + f.Shorthand + ", " + s
	}
	switch {
	case name != "" && f.NoOptDefVal != "":
		s += "[=" + name + "]" // the value is optional
	case name != "":
		s += " " + name
	}
	return s
}

// flagUsage is a flag's help with its default, if it has one worth saying.
func flagUsage(f *pflag.Flag) string {
	_, usage := pflag.UnquoteUsage(f)
	switch f.DefValue {
	case "", "0", "0s", "false", "[]":
		return usage
	}
	return fmt.Sprintf("%s (default %s)", usage, f.DefValue)
}

// printVersion writes tcpwatch's module version and the commit it was
// built from, as the Go toolchain recorded them.
func printVersion(w io.Writer) error {
	if _, err := io.WriteString(w, versionLine()+"\n"); err != nil {
		return writeError(err)
	}
	return errDone
}

// versionLine is "tcpwatch VERSION (commit REV, TIME[, modified]) GOVERSION
// OS/ARCH" for this binary.
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH)
}

// versionOf is the version line for the build bi (nil: unknown) and the
// toolchain and platform.
func versionOf(bi *debug.BuildInfo, toolchain string) string {
	version, commit := "unknown", ""
	if bi != nil {
		version = cmp.Or(bi.Main.Version, "(devel)")
		var rev, at, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
		if rev != "" {
			commit = fmt.Sprintf(" (commit %s, %s%s)", rev, at, modified)
		}
	}
	return fmt.Sprintf("tcpwatch %s%s %s", version, commit, toolchain)
}
