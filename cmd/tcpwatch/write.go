package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// endpoint is one side of a 4-tuple, as the decoder gives it.
type endpoint struct {
	addr tracker.Addr
	port uint16
}

func endpointOf(ap netip.AddrPort) endpoint {
	return endpoint{tracker.AddrFrom16(ap.Addr().As16()), ap.Port()}
}

// span is the time of a connection's first and last captured segment.
type span struct{ first, last int64 }

// selection is the connections -w writes: by their 4-tuple, client first,
// each with the time spans of the connections it carried.
type selection map[[2]endpoint][]span

// selectConnections picks the report's connections that --write names:
// every one (all), or those with a finding the list matches, by its kind
// or a kind in its also list (as --fail-on matches).
func selectConnections(rep *report.Report, which string) (selection, error) {
	var list *failOn
	if which != "all" {
		var err error
		if list, err = parseKinds("--write", which); err != nil {
			return nil, err
		}
	}
	also := map[uint64][]tracker.Kind{} // by connection: the kinds in its findings' also lists
	for i := range rep.Anomalies {
		if a := &rep.Anomalies[i]; a.Connection != 0 {
			also[a.Connection] = append(also[a.Connection], a.Also...)
		}
	}
	sel := selection{}
	for i := range rep.Connections {
		c := &rep.Connections[i]
		if list == nil || list.matches(c.Anomalies) || list.matches(also[c.ID]) {
			k := [2]endpoint{endpointOf(c.Client), endpointOf(c.Server)}
			sel[k] = append(sel[k], span{int64(c.FirstPacket), int64(c.LastPacket)})
		}
	}
	return sel, nil
}

// has reports whether the segment belongs to a selected connection: its
// 4-tuple, either way, within one of the connection's spans. Both
// orientations are looked up: connections on one 4-tuple can have either
// end as their client (a later one may be opened from the other end).
func (s selection) has(seg *tracker.Segment) bool {
	src, dst := endpoint{seg.Src, seg.SrcPort}, endpoint{seg.Dst, seg.DstPort}
	return within(s[[2]endpoint{src, dst}], seg.Time) || within(s[[2]endpoint{dst, src}], seg.Time)
}

// within reports whether t is in one of the spans.
func within(spans []span, t int64) bool {
	for _, sp := range spans {
		if t >= sp.first && t <= sp.last {
			return true
		}
	}
	return false
}

// spoolMax bounds the temporary file a live capture keeps its packets in
// for -w: at the default snapshot length of 256 bytes, about 4 million
// packets.
var spoolMax int64 = 1 << 30 // a variable for the tests

// pcapOut is -w FILE, opened before the input is read so that a file that
// cannot be written is an error at once. For file input the packets are
// found at the end by a second pass over the files; a live capture keeps
// every packet delivered in a spool (a temporary file beside FILE, at most
// spoolMax bytes) that the second pass reads instead.
type pcapOut struct {
	f      *os.File
	name   string
	source []string // what the second pass reads
	filter string
	spool  *spool // live only
}

// openOutputs is what follows opening the input, live or from files: the
// privileges it needed are dropped, then -w is created as the user left.
func openOutputs(cfg *config) (*pcapOut, error) {
	if err := dropPrivileges(cfg.user); err != nil {
		return nil, err
	}
	return openPcapOut(cfg)
}

// openPcapOut opens -w's file (and, live, its spool); nil without -w.
func openPcapOut(cfg *config) (*pcapOut, error) {
	if cfg.writeFile == "" {
		return nil, nil
	}
	if name, ok := sameFileAs(cfg.writeFile, cfg.files); ok {
		return nil, fmt.Errorf("-w %q: it is also an input (-r %q); write to another file", cfg.writeFile, name)
	}
	if stream, ok := standardStream(cfg.writeFile); ok {
		return nil, fmt.Errorf("-w %q: that is %s; write to a file", cfg.writeFile, stream)
	}
	f, err := os.Create(cfg.writeFile)
	if err != nil {
		return nil, pcapFileError(cfg.writeFile, err)
	}
	o := &pcapOut{f: f, name: cfg.writeFile, source: cfg.files, filter: cfg.filter}
	if cfg.iface != "" {
		sf, err := os.CreateTemp(filepath.Dir(cfg.writeFile), ".tcpwatch-spool-*.pcap")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("-w: spool: %w", err)
		}
		o.spool = &spool{f: sf, pw: &pcapWriter{name: sf.Name(), bw: bufio.NewWriterSize(sf, 1<<20)}}
		o.source, o.filter = []string{sf.Name()}, "" // the kernel applied the filter
	}
	return o, nil
}

// keep adds the packet rd read last to the spool, if there is one: the
// packet numbered as rd numbers it (one reader).
func (o *pcapOut) keep(rd *capture.Reader) error {
	if o == nil || o.spool == nil {
		return nil
	}
	data, ci, lt := rd.Raw()
	return o.spool.add(data, ci, lt, rd.Stats().Packets)
}

// keepFunc keeps one packet as it was read, the num-th the tracker took.
type keepFunc func(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, num uint64) error

// keepRaw adds a packet to the spool, if there is one; a keepFunc.
func (o *pcapOut) keepRaw(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, num uint64) error {
	if o == nil || o.spool == nil {
		return nil
	}
	return o.spool.add(data, ci, lt, num)
}

// finish writes the packets of the connections --write selects from the
// report, which covers the first upTo packets, closes the file and removes
// the spool. It returns a warning when the spool filled (the file then
// lacks the later packets).
func (o *pcapOut) finish(cfg *config, rep *report.Report, upTo uint64, stderr io.Writer) (warning string, err error) {
	if o == nil {
		return "", nil
	}
	defer o.close()
	if o.spool != nil {
		if err := o.spool.pw.flush(); err != nil {
			return "", err
		}
		if o.spool.full > 0 {
			warning = fmt.Sprintf("-w %q: the spool filled (%d MiB) at packet %d; later packets are not in it", o.name, spoolMax>>20, o.spool.full)
		}
	}
	sel, err := selectConnections(rep, cfg.write)
	if err != nil {
		return "", err
	}
	rd, err := capture.OpenFilesContext(context.Background(), o.source, o.filter)
	if err != nil {
		return "", fmt.Errorf("-w reads the input again: %w%s", err, afterSwitch(cfg))
	}
	defer rd.Close()
	cfg.decap.configure(rd)
	pw := &pcapWriter{name: o.name, bw: bufio.NewWriterSize(o.f, 1<<20)}
	prog := newProgress(cfg, cfg.files, "-w: ", rd, stderr) // none for the spool
	_, err = copySelected(rd, sel, upTo, pw, prog)
	prog.finish(rd.Stats().Packets, err == nil)
	if err != nil {
		return "", err
	}
	if err := pw.flush(); err != nil {
		return "", err
	}
	if err := o.f.Close(); err != nil {
		return "", pcapFileError(o.name, err)
	}
	return warning, nil
}

// sameFileAs returns the first of files that is the file at path (a link
// to it too), if path exists.
func sameFileAs(path string, files []string) (string, bool) {
	out, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	for _, name := range files {
		if in, err := os.Stat(name); err == nil && os.SameFile(in, out) {
			return name, true
		}
	}
	return "", false
}

// standardStream names the standard stream (output or error) that the
// file at path is, if it is one (/dev/stdout, /proc/self/fd/1, the
// terminal or file it was redirected to); /dev/null takes anything.
func standardStream(path string) (string, bool) {
	out, err := os.Stat(path)
	if err != nil {
		return "", false
	}
	if null, err := os.Stat(os.DevNull); err == nil && os.SameFile(null, out) {
		return "", false
	}
	for _, f := range []struct {
		name string
		file *os.File
	}{{"standard output, which takes the report", os.Stdout}, {"standard error, which takes the messages", os.Stderr}} {
		if fi, err := f.file.Stat(); err == nil && os.SameFile(fi, out) {
			return f.name, true
		}
	}
	return "", false
}

// afterSwitch adds, to an error reading the input a second time after -Z,
// that the second reading is the user's.
func afterSwitch(cfg *config) string {
	if cfg.user == "" || os.Geteuid() == 0 {
		return ""
	}
	return fmt.Sprintf(" (as %s, after -Z: the files must be readable by %s)", cfg.user, cfg.user)
}

// close closes the file and removes the spool; after finish, or instead
// of it when the run failed before its report. A file the run failed to
// write anything to (not even a pcap header) is removed: an empty file is
// no capture, and tools take it for a truncated one.
func (o *pcapOut) close() {
	if o == nil {
		return
	}
	o.f.Close()
	removeIfEmpty(o.name)
	if o.spool != nil {
		o.spool.f.Close()
		os.Remove(o.spool.f.Name())
	}
}

// spool is the file a live capture keeps its packets in for -w, in the
// order the tracker took them (with --fanout, as the sockets' packets were
// merged), so that its packet numbers are the report's.
type spool struct {
	f    *os.File
	pw   *pcapWriter
	size int64
	full uint64 // the packet number at which it filled; 0 while not full
}

// add writes packet num, unless the spool is full.
func (s *spool) add(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType, num uint64) error {
	if s.full > 0 {
		return nil
	}
	if s.size += int64(len(data)) + 16; s.size > spoolMax {
		s.full = num
		return nil
	}
	return s.pw.write(data, ci, lt)
}

// copySelected copies the packets of rd that sel has, up to packet upTo
// (the last one the first pass read: it is never read past), showing its
// progress if prog is not nil.
func copySelected(rd *capture.Reader, sel selection, upTo uint64, pw *pcapWriter, prog *progress) (uint64, error) {
	var p capture.Packet
	var n uint64
	for p.Num < upTo {
		err := rd.Next(&p)
		switch {
		case err == io.EOF || errors.Is(err, capture.ErrInterrupted):
			return n, nil
		case err != nil:
			return n, err
		}
		if p.Num%progressEvery == 0 {
			prog.tick(p.Num)
		}
		if p.Kind != capture.TCP && p.Kind != capture.ICMPError || !sel.has(&p.Seg) {
			continue // (an ICMP error goes with the connection of the segment it quotes)
		}
		data, ci, lt := rd.Raw()
		if err := pw.write(data, ci, lt); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// pcapWriter writes a pcap file, with nanosecond timestamps, whose link
// type is the first packet's.
type pcapWriter struct {
	name string
	bw   *bufio.Writer
	w    *pcapgo.Writer
	lt   layers.LinkType
}

func (pw *pcapWriter) write(data []byte, ci gopacket.CaptureInfo, lt layers.LinkType) error {
	if pw.w == nil {
		pw.w, pw.lt = pcapgo.NewWriterNanos(pw.bw), lt
		if err := pw.w.WriteFileHeader(262144, lt); err != nil {
			return pcapFileError(pw.name, err)
		}
	}
	if lt != pw.lt {
		return fmt.Errorf("-w %q: packets of link types %s and %s cannot share a pcap file; select one with a filter or -r", pw.name, capture.LinkTypeName(pw.lt), capture.LinkTypeName(lt))
	}
	if err := pw.w.WritePacket(ci, data); err != nil {
		return pcapFileError(pw.name, err)
	}
	return nil
}

// flush writes what is buffered; a file that got no packet gets the
// header of an Ethernet capture, so that it is still a valid pcap.
func (pw *pcapWriter) flush() error {
	if pw.w == nil {
		pw.w = pcapgo.NewWriterNanos(pw.bw)
		if err := pw.w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
			return pcapFileError(pw.name, err)
		}
	}
	if err := pw.bw.Flush(); err != nil {
		return pcapFileError(pw.name, err)
	}
	return nil
}

// pcapFileError is err, met creating or writing -w's file name, said once:
// `-w "x.pcap": write: no space left on device`, not with the path again.
func pcapFileError(name string, err error) error { return outputFileError("-w", name, err) }

// outputFileError names the file a flag writes and what failed on it once:
// `--html "x.html": open: is a directory`.
func outputFileError(flag, name string, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s %q: %s: %w", flag, name, pe.Op, pe.Err)
	}
	return fmt.Errorf("%s %q: %w", flag, name, err)
}

// removeIfEmpty removes the file name if it is empty.
func removeIfEmpty(name string) {
	if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() && st.Size() == 0 {
		os.Remove(name)
	}
}
