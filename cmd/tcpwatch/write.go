package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

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
// every one (all), or those with a finding the list matches.
func selectConnections(rep *report.Report, which string) (selection, error) {
	var list *failOn
	if which != "all" {
		var err error
		if list, err = parseKinds("--write", which); err != nil {
			return nil, err
		}
	}
	sel := selection{}
	for i := range rep.Connections {
		c := &rep.Connections[i]
		if list == nil || list.matches(c.Anomalies) {
			k := [2]endpoint{endpointOf(c.Client), endpointOf(c.Server)}
			sel[k] = append(sel[k], span{int64(c.FirstPacket), int64(c.LastPacket)})
		}
	}
	return sel, nil
}

// has reports whether the segment belongs to a selected connection: its
// 4-tuple, either way, within one of the connection's spans.
func (s selection) has(seg *tracker.Segment) bool {
	src, dst := endpoint{seg.Src, seg.SrcPort}, endpoint{seg.Dst, seg.DstPort}
	spans, ok := s[[2]endpoint{src, dst}]
	if !ok {
		spans = s[[2]endpoint{dst, src}]
	}
	for _, sp := range spans {
		if seg.Time >= sp.first && seg.Time <= sp.last {
			return true
		}
	}
	return false
}

// writePackets is -w FILE for file input: a second pass over the files
// (with the same filter, up to the last packet the first pass read) copies
// the packets of the selected connections to a pcap file, as they were
// captured: the first pass costs nothing more. It returns how many packets
// it wrote.
func writePackets(ctx context.Context, cfg *config, rep *report.Report, upTo uint64) (uint64, error) {
	sel, err := selectConnections(rep, cfg.write)
	if err != nil {
		return 0, err
	}
	rd, err := capture.OpenFilesContext(ctx, cfg.files, cfg.filter)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	f, err := os.Create(cfg.writeFile)
	if err != nil {
		return 0, fmt.Errorf("-w: %w", err)
	}
	pw := &pcapWriter{name: cfg.writeFile, bw: bufio.NewWriterSize(f, 1<<20)}
	n, err := copySelected(rd, sel, upTo, pw)
	if err == nil {
		err = pw.flush()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("-w: %w", cerr)
	}
	return n, err
}

// copySelected copies the packets of rd that sel has, up to packet upTo
// (the last one the first pass read: it is never read past).
func copySelected(rd *capture.Reader, sel selection, upTo uint64, pw *pcapWriter) (uint64, error) {
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
		if p.Kind != capture.TCP || !sel.has(&p.Seg) {
			continue
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
			return fmt.Errorf("-w %q: %w", pw.name, err)
		}
	}
	if lt != pw.lt {
		return fmt.Errorf("-w %q: packets of link types %s and %s cannot share a pcap file; select one with a filter or -r", pw.name, capture.LinkTypeName(pw.lt), capture.LinkTypeName(lt))
	}
	if err := pw.w.WritePacket(ci, data); err != nil {
		return fmt.Errorf("-w %q: %w", pw.name, err)
	}
	return nil
}

// flush writes what is buffered; a file that got no packet gets the
// header of an Ethernet capture, so that it is still a valid pcap.
func (pw *pcapWriter) flush() error {
	if pw.w == nil {
		pw.w = pcapgo.NewWriterNanos(pw.bw)
		if err := pw.w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
			return fmt.Errorf("-w %q: %w", pw.name, err)
		}
	}
	if err := pw.bw.Flush(); err != nil {
		return fmt.Errorf("-w %q: %w", pw.name, err)
	}
	return nil
}
