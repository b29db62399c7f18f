package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// errorCase is an input and the error reading it must end with.
type errorCase struct {
	name    string
	files   []string // paths; "" entries are replaced by a file with data
	data    []byte
	filter  string
	openErr string // the whole error from OpenFiles ("F" stands for the file's path)
	nextErr string // the whole error from Next, after packets
	packets int    // read before the error
	is      error  // a cause errors.Is must find
}

var (
	goodPcap = pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}, rec{ts: t0, data: ethData})
	goodNg   = (&ngBuilder{order: binary.LittleEndian}).section().iface(layers.LinkTypeEthernet, 0).packet(rec{ts: t0, data: ethSYN})
	elf      = []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}
)

// openErrorCases are inputs that cannot be opened.
func openErrorCases(t *testing.T) []errorCase {
	dir := t.TempDir()
	v2Ng := bytes.Clone(goodNg.b)
	binary.LittleEndian.PutUint16(v2Ng[12:], 2) // the section's major version
	return []errorCase{
		{name: "missing file", files: []string{"/nonexistent/x.pcap"}, openErr: `open "/nonexistent/x.pcap": no such file or directory`, is: fs.ErrNotExist},
		{name: "directory", files: []string{dir}, openErr: `open "` + dir + `": is a directory`},
		{name: "not a capture", data: elf, openErr: `open "F": not a pcap or pcapng file (magic 0x7f454c46)`, is: ErrNotCapture},
		{name: "zero-length file", data: []byte{}, openErr: `open "F": empty file`, is: ErrEmpty},
		{name: "three bytes", data: []byte{0xd4, 0xc3, 0xb2}, openErr: `open "F": not a pcap or pcapng file (only 3 bytes)`, is: ErrNotCapture},
		{name: "one byte", data: []byte{0xd4}, openErr: `open "F": not a pcap or pcapng file (only 1 byte)`, is: ErrNotCapture},
		{name: "pcap header cut", data: goodPcap[:20], openErr: `open "F": truncated: the capture ends inside the pcap file header`, is: io.ErrUnexpectedEOF},
		{name: "pcap unknown version", data: append([]byte{0xd4, 0xc3, 0xb2, 0xa1, 3, 0}, goodPcap[6:]...), openErr: `open "F": corrupt pcap file header: unknown major version 3`},
		{name: "gzip of three bytes", data: gz(t, []byte("abc")), openErr: `open "F": not a pcap or pcapng file (only 3 bytes after gzip decompression)`, is: ErrNotCapture},
		{name: "gzip of text", data: gz(t, []byte("hello, world")), openErr: `open "F": not a pcap or pcapng file (magic 0x68656c6c after gzip decompression)`, is: ErrNotCapture},
		{name: "gzip of nothing", data: gz(t, nil), openErr: `open "F": empty file (after gzip decompression)`, is: ErrEmpty},
		{name: "gzip header cut", data: gz(t, goodPcap)[:5], openErr: `open "F": truncated: the capture ends inside its gzip header`, is: ErrTruncated},
		{name: "gzip cut before the pcap magic", data: gzCut(t, 1, goodPcap[:2], goodPcap[2:]), openErr: `open "F": truncated: the capture ends before the end of its gzip stream`, is: ErrTruncated},
		{name: "pcapng bad section header", data: []byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0}, openErr: `open "F": corrupt pcapng section header: wrong byte order value in Section Header`},
		{name: "pcapng version 2", data: v2Ng, openErr: `open "F": pcapng version 2.0, not 1.0: not read`},
		{name: "pcap unknown link type", data: pcapFile(binary.LittleEndian, false, layers.LinkTypeIEEE802_11), openErr: `open "F": link type IEEE802_11 (105) not supported`, is: ErrLinkType},
		{name: "pcap unknown link type number", data: pcapFile(binary.LittleEndian, false, 4000), openErr: `open "F": link type UNKNOWN (4000) not supported`, is: ErrLinkType},
		{name: "no files", files: []string{}, openErr: "no capture files to read"},
	}
}

// readErrorCases are inputs that cannot be read to their end.
func readErrorCases(t *testing.T) []errorCase {
	// A pcapng whose second packet names an interface that does not exist.
	badIface := (&ngBuilder{order: binary.LittleEndian, b: bytes.Clone(goodNg.b), res: goodNg.res}).packet(rec{ts: t0, data: ethSYN})
	binary.LittleEndian.PutUint32(badIface.b[len(goodNg.b)+8:], 5)
	// A pcapng whose second block says it is 1 GiB long.
	badLen := cat(goodNg.b, le32(6), le32(1<<30), make([]byte, 40))
	// Blocks whose number or size no capture tool writes, after a packet:
	// a section with 65,537 interfaces, and name resolution blocks of more
	// than 4 MiB.
	manyIfaces := &ngBuilder{order: binary.LittleEndian, b: bytes.Clone(goodNg.b), res: goodNg.res}
	for range maxNgInterfaces {
		manyIfaces.iface(layers.LinkTypeEthernet, 0)
	}
	manyIfaces.packet(rec{ts: t0, data: ethSYN})
	names := cat(le32(ngNameResolution), le32(1<<20), make([]byte, 1<<20-12), le32(1<<20))
	manyNames := cat(goodNg.b, names, names, names, names, names)
	// A pcapng with a USB interface after an Ethernet one.
	usb := (&ngBuilder{order: binary.LittleEndian, b: bytes.Clone(goodNg.b), res: goodNg.res}).iface(layers.LinkTypeLinuxUSB, 0).packet(rec{ts: t0, data: make([]byte, 48), iface: 1})
	// A pcap whose last record holds one byte: cut by one, it ends right
	// after that record's header.
	oneByte := pcapFile(binary.LittleEndian, false, layers.LinkTypeEthernet, rec{ts: t0, data: ethSYN}, rec{ts: t0, data: []byte{1}})
	nrb, nrbAt := nameResolutionNg()
	return []errorCase{
		{name: "truncated mid-record", data: goodPcap[:len(goodPcap)-10], nextErr: `read "F": packet 2: truncated: the capture ends inside this packet's record`, packets: 1, is: ErrTruncated},
		{name: "truncated mid-record header", data: goodPcap[:24+16+len(ethSYN)+7], nextErr: `read "F": packet 2: truncated: the capture ends inside this packet's record`, packets: 1, is: io.ErrUnexpectedEOF},
		{name: "ends after a record header", data: goodPcap[:24+16+len(ethSYN)+16], nextErr: `read "F": packet 2: truncated: the capture ends after this packet's record header`, packets: 1, is: ErrTruncated},
		{name: "ends after the header of a one-byte record", data: oneByte[:len(oneByte)-1], nextErr: `read "F": packet 2: truncated: the capture ends after this packet's record header`, packets: 1, is: ErrTruncated},
		{name: "pcapng truncated", data: goodNg.b[:len(goodNg.b)-3], nextErr: `read "F": packet 1: truncated: the capture ends inside a pcapng block`, is: ErrTruncated},
		{name: "pcapng cut inside a name record's header", data: nrb.b[:nrbAt+2], nextErr: `read "F": packet 2: truncated: the capture ends inside a pcapng block`, packets: 1, is: ErrTruncated},
		{name: "pcapng cut inside a name record's address", data: nrb.b[:nrbAt+6], nextErr: `read "F": packet 2: truncated: the capture ends inside a pcapng block`, packets: 1, is: ErrTruncated},
		{name: "pcapng cut inside a name record's name", data: nrb.b[:nrbAt+12], nextErr: `read "F": packet 2: truncated: the capture ends inside a pcapng block`, packets: 1, is: ErrTruncated},
		{name: "pcapng cut inside an unknown name record", data: nrb.b[:nrbAt+28], nextErr: `read "F": packet 2: truncated: the capture ends inside a pcapng block`, packets: 1, is: ErrTruncated},
		{name: "pcapng bad interface", data: badIface.b, nextErr: `read "F": packet 2: corrupt pcapng block: interface id 5 not present in section (have only 1 interfaces)`, packets: 1},
		{name: "pcapng bad block length", data: badLen, nextErr: `read "F": packet 2: corrupt pcapng block: a block of 1073741824 bytes (type 6), more than any capture tool writes: not read, so that memory stays bounded`, packets: 1},
		{name: "pcapng too many interfaces", data: manyIfaces.b, nextErr: `read "F": packet 2: corrupt pcapng block: more than 65536 interfaces in one section, more than any capture tool writes: not read, so that memory stays bounded`, packets: 1},
		{name: "gzip of a pcapng with too many interfaces", data: gz(t, manyIfaces.b), nextErr: `read "F": packet 2: corrupt pcapng block: more than 65536 interfaces in one section, more than any capture tool writes: not read, so that memory stays bounded`, packets: 1},
		{name: "pcapng block length not a multiple of 4", data: cat(goodNg.b, le32(6), le32(55), make([]byte, 47)), nextErr: `read "F": packet 2: corrupt pcapng block: block length 55 (type 6) is not a multiple of 4`, packets: 1},
		{name: "pcapng block length below 12", data: cat(goodNg.b, le32(6), le32(8)), nextErr: `read "F": packet 2: corrupt pcapng block: block length 8 (type 6) is below 12, the least a block takes`, packets: 1},
		{name: "pcapng too many names", data: manyNames, nextErr: `read "F": packet 2: corrupt pcapng block: more than 4194304 bytes of name resolution blocks, more than any capture tool writes: not read, so that memory stays bounded`, packets: 1},
		{name: "pcapng unknown link type", data: usb.b, nextErr: `read "F": packet 2: link type USB_LINUX_MMAPPED (220) not supported`, packets: 1, is: ErrLinkType},
		{name: "second file missing, before the first is read", files: []string{"G", "/nonexistent/y.pcap"}, openErr: `open "/nonexistent/y.pcap": no such file or directory`, is: fs.ErrNotExist},
		{name: "second file a directory, before the first is read", files: []string{"G", "/"}, openErr: `open "/": is a directory`},
		{name: "second file bad", files: []string{"G", ""}, data: elf, nextErr: `open "F": not a pcap or pcapng file (magic 0x7f454c46)`, packets: 2, is: ErrNotCapture},
	}
}

// gzipErrorCases are gzip-compressed captures cut or damaged: whether the
// cut falls inside a record or at a record boundary, in the compressed data
// or in the gzip trailer, the reader must say so.
func gzipErrorCases(t *testing.T) []errorCase {
	ng := (&ngBuilder{order: binary.LittleEndian}).section().iface(layers.LinkTypeEthernet, 0).packet(rec{ts: t0, data: ethSYN})
	first := len(ng.b) // the headers and the first packet's block
	ng.packet(rec{ts: t0, data: ethData})
	pcapRecs := [][]byte{goodPcap[:24+16+len(ethSYN)], goodPcap[24+16+len(ethSYN):]}
	badSum := gz(t, goodPcap)
	badSum[len(badSum)-8] ^= 0xff
	gzNg := gz(t, ng.b)
	nrb, nrbAt := nameResolutionNg()
	return []errorCase{
		{name: "gzip cut mid-record", data: gz(t, goodPcap)[:60], nextErr: `read "F": packet 1: truncated: the capture ends before the end of its gzip stream`, is: ErrTruncated},
		{name: "gzip checksum", data: badSum, nextErr: `read "F": packet 3: gzip: invalid checksum`, packets: 2, is: gzip.ErrChecksum},
		{name: "gzip pcap cut at a record boundary", data: gzCut(t, 1, pcapRecs...), nextErr: `read "F": packet 2: truncated: the capture ends before the end of its gzip stream`, packets: 1, is: ErrTruncated},
		{name: "gzip pcap cut in its trailer", data: gz(t, goodPcap)[:len(gz(t, goodPcap))-3], nextErr: `read "F": packet 3: truncated: the capture ends before the end of its gzip stream`, packets: 2, is: ErrTruncated},
		{name: "gzip pcapng cut at a block boundary", data: gzCut(t, 1, ng.b[:first], ng.b[first:]), nextErr: `read "F": packet 2: truncated: the capture ends before the end of its gzip stream`, packets: 1, is: ErrTruncated},
		{name: "gzip pcapng cut in its trailer", data: gzNg[:len(gzNg)-1], nextErr: `read "F": packet 3: truncated: the capture ends before the end of its gzip stream`, packets: 2, is: ErrTruncated},
		{name: "gzip pcapng cut inside a name record", data: gzCut(t, 1, goodNg.b, nrb.b[len(goodNg.b):nrbAt+12]), nextErr: `read "F": packet 2: truncated: the capture ends before the end of its gzip stream`, packets: 1, is: ErrTruncated},
		{name: "gzip pcapng without its trailer", data: gzNg[:len(gzNg)-8], nextErr: `read "F": packet 3: truncated: the capture ends before the end of its gzip stream`, packets: 2, is: ErrTruncated},
		{name: "gzip padded with zeros, then more", data: cat(gz(t, goodPcap), make([]byte, 10), []byte{1, 2, 3}), nextErr: `read "F": packet 3: ` + errTrailing.Error(), packets: 2, is: gzip.ErrHeader},
		{name: "gzip followed by garbage", data: cat(gz(t, goodPcap), []byte("not a gzip header")), nextErr: `read "F": packet 3: ` + errTrailing.Error(), packets: 2, is: gzip.ErrHeader},
		{name: "gzip followed by a little garbage", data: cat(gz(t, goodPcap), []byte("junk\n")), nextErr: `read "F": packet 3: ` + errTrailing.Error(), packets: 2, is: gzip.ErrHeader},
		{name: "gzip followed by one byte", data: cat(gz(t, goodPcap), []byte{0x1f}), nextErr: `read "F": packet 3: ` + errTrailing.Error(), packets: 2, is: gzip.ErrHeader},
		{name: "gzip followed by a member cut in its header", data: cat(gz(t, goodPcap), gz(t, goodPcap)[:6]), nextErr: `read "F": packet 3: truncated: the capture ends before the end of its gzip stream`, packets: 2, is: ErrTruncated},
	}
}

// filterErrorCases are filters that do not compile: for any input (the
// filter's own error), or for the input's link type (the input's error).
func filterErrorCases() []errorCase {
	nflog := (&ngBuilder{order: binary.LittleEndian, b: bytes.Clone(goodNg.b), res: goodNg.res}).iface(linkTypeNFLOG, 0).packet(rec{ts: t0, data: make([]byte, 8), iface: 1})
	return []errorCase{
		{name: "bad filter", data: goodPcap, filter: "port abc", openErr: `filter "port abc": unknown port 'abc'`, is: ErrBadFilter},
		{name: "filter not for this link type", data: pcapFile(binary.LittleEndian, false, layers.LinkTypeRaw), filter: "ether host 02:00:00:00:00:01",
			openErr: `open "F": filter "ether host 02:00:00:00:00:01" for link type RAW (101): ethernet addresses supported only on ethernet/FDDI/token ring/802.11/ATM LANE/Fibre Channel`, is: ErrBadFilter},
		{name: "filter on an NFLOG pcap", data: pcapFile(binary.LittleEndian, false, linkTypeNFLOG), filter: "port 80",
			openErr: `open "F": filter "port 80" for link type NFLOG (239): NFLOG link-layer type filtering not implemented`, is: ErrBadFilter},
		{name: "filter on an NFLOG interface of a pcapng", data: nflog.b, filter: "port 80", packets: 1,
			nextErr: `read "F": packet 2: filter "port 80" for link type NFLOG (239): NFLOG link-layer type filtering not implemented`, is: ErrBadFilter},
	}
}

// nameResolutionNg is goodNg followed by a name resolution block (an IPv4
// record, a record of an unknown type, the end record), and the offset of
// its first record's header.
func nameResolutionNg() (*ngBuilder, int) {
	nrb := &ngBuilder{order: binary.LittleEndian, b: bytes.Clone(goodNg.b), res: goodNg.res}
	nrb.block(4, cat([]byte{1, 0, 17, 0, 198, 18, 0, 2}, []byte("host.example\x00\x00\x00\x00"),
		[]byte{9, 0, 5, 0}, []byte("abcde\x00\x00\x00"), []byte{0, 0, 0, 0}))
	return nrb, len(goodNg.b) + 8
}

// gzCut compresses parts, flushing the compressor after each one, and cuts
// the stream after the first n: a stream that stops exactly at a boundary
// of the data inside it.
func gzCut(t *testing.T, n int, parts ...[]byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	cut := 0
	for i, p := range parts {
		w.Write(p)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if i == n-1 {
			cut = buf.Len()
		}
	}
	w.Close()
	return buf.Bytes()[:cut]
}

func TestErrors(t *testing.T) {
	goodName := writeFile(t, "good.pcap", goodPcap)
	cases := append(openErrorCases(t), readErrorCases(t)...)
	cases = append(cases, gzipErrorCases(t)...)
	cases = append(cases, filterErrorCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := tc.files
			var name string
			if tc.data != nil {
				name = writeFile(t, "F", tc.data)
			}
			if files == nil {
				files = []string{name}
			}
			files = append([]string(nil), files...)
			for i, f := range files {
				switch f {
				case "":
					files[i] = name
				case "G":
					files[i] = goodName
				}
			}
			checkErrorCase(t, tc, files, name)
		})
	}
}

// checkErrorCase reads files and checks the error against tc.
func checkErrorCase(t *testing.T, tc errorCase, files []string, name string) {
	if tc.filter != "" {
		needLibpcap(t)
	}
	// Error strings name the file as written; F stands for it.
	expand := func(s string) string { return strings.ReplaceAll(s, `"F"`, `"`+name+`"`) }
	pkts, st, err := readAll(t, files, tc.filter)
	want := expand(tc.openErr)
	if tc.openErr == "" {
		want = expand(tc.nextErr)
	}
	switch {
	case err == nil:
		t.Fatalf("no error after %d packets, want %q", len(pkts), want)
	case err.Error() != want:
		t.Fatalf("error\n got %s\nwant %s", err, want)
	case tc.openErr != "" && pkts != nil:
		t.Errorf("OpenFiles failed and returned %d packets", len(pkts))
	case len(pkts) != tc.packets:
		t.Errorf("%d packets before the error, want %d", len(pkts), tc.packets)
	case st.Packets != uint64(len(pkts)):
		t.Errorf("%d packets counted, %d read before the error: the packet the error is about counts as read", st.Packets, len(pkts))
	}
	if tc.is != nil && !errors.Is(err, tc.is) {
		t.Errorf("error %v does not wrap %v", err, tc.is)
	}
	// Every error but a filter's own and "no files" is the input's.
	var e *Error
	isInput := errors.As(err, &e)
	if wantInput := strings.HasPrefix(want, "open ") || strings.HasPrefix(want, "read "); isInput != wantInput {
		t.Errorf("error %q: an *Error: %v, want %v", err, isInput, wantInput)
	} else if isInput && !strings.HasPrefix(want, e.Op+" "+strconv.Quote(e.Input)) {
		t.Errorf("Error %+v is not the input the message names", *e)
	}
	t.Log(err)
}

// TestErrorFields checks what a read error carries: the file, the packet
// that could not be read, and the cause.
func TestErrorFields(t *testing.T) {
	name := writeFile(t, "cut.pcap", goodPcap[:len(goodPcap)-1])
	_, _, err := readAll(t, []string{name}, "")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not an *Error", err)
	}
	want := Error{Op: "read", Input: name, Packet: 2, Err: truncation("inside this packet's record")}
	if *e != want {
		t.Errorf("got %+v, want %+v", *e, want)
	}
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{Op: "open", Input: "-", Err: ErrEmpty}, "open standard input: empty file"},
		{Error{Op: "read", Input: "-", Packet: 7, Err: ErrTruncated}, "read standard input: packet 7: truncated"},
		{Error{Op: "open", Input: "eth9", Live: true, Err: ErrNoInterface}, `open interface "eth9": no such interface`},
		{Error{Op: "read", Input: `a "b".pcap`, Packet: 1, Err: io.ErrUnexpectedEOF}, `read "a \"b\".pcap": packet 1: unexpected EOF`},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}
