package main

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/capture"
)

// record is one packet's captured bytes and capture info.
type record struct {
	data []byte
	ci   gopacket.CaptureInfo
}

// rawCapture is every record of a file, in order, with the one link type
// the output can have.
type rawCapture struct {
	recs    []record
	lt      layers.LinkType
	snaplen uint32
}

// packetReader is what pcapgo's pcap and pcapng readers have in common.
type packetReader interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readRaw reads every record of a pcap or pcapng file, gzip-compressed or
// not, keeping its bytes.
func readRaw(name string) (*rawCapture, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := openRaw(name, bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	rc := &rawCapture{lt: rd.lt, snaplen: rd.snaplen}
	for {
		data, ci, err := rd.r.ReadPacketData()
		if err == io.EOF {
			return rc, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%q: after packet %d: %w", name, len(rc.recs), err)
		}
		if rd.ng {
			lt, _ := ci.AncillaryData[0].(layers.LinkType)
			if len(rc.recs) == 0 {
				rc.lt = lt
			} else if lt != rc.lt {
				return nil, fmt.Errorf("%q: packet %d has link type %d, packet 1 %d; a pcap file holds one link type", name, len(rc.recs)+1, lt, rc.lt)
			}
			ci.AncillaryData = nil
		}
		rc.recs = append(rc.recs, record{data, ci})
	}
}

type rawReader struct {
	r       packetReader
	ng      bool
	lt      layers.LinkType
	snaplen uint32
}

// openRaw reads the file's header, through gzip if it is compressed.
func openRaw(name string, br *bufio.Reader) (*rawReader, error) {
	head, _ := br.Peek(4)
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%q: gzip: %w", name, err)
		}
		br = bufio.NewReader(gz)
		head, _ = br.Peek(4)
	}
	if len(head) < 4 {
		return nil, fmt.Errorf("%q: %w", name, capture.ErrNotCapture)
	}
	if binary.BigEndian.Uint32(head) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("%q: %w", name, err)
		}
		return &rawReader{r: ng, ng: true, snaplen: 262144}, nil
	}
	p, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", name, err)
	}
	return &rawReader{r: p, lt: p.LinkType(), snaplen: p.Snaplen()}, nil
}

// writePcap writes the degraded packets: each one's original bytes, at its
// (possibly new) time.
func writePcap(name string, raw *rawCapture, pkts []capture.Packet) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	w := pcapgo.NewWriterNanos(bw)
	if err := w.WriteFileHeader(raw.snaplen, raw.lt); err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	for _, p := range pkts {
		if p.Num == 0 || p.Num > uint64(len(raw.recs)) {
			return errors.New("a degraded packet has no record in the input")
		}
		r := raw.recs[p.Num-1]
		r.ci.Timestamp = time.Unix(0, p.Time).UTC()
		if err := w.WritePacket(r.ci, r.data); err != nil {
			return fmt.Errorf("write %q: %w", name, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %q: %w", name, err)
	}
	return nil
}
