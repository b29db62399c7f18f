// Package capture reads packets from capture files and decodes each one into
// the tracker.Segment the connection tracker consumes.
//
// # Reading
//
// [OpenFiles] reads one or more files in order as a single capture: pcap
// (microsecond or nanosecond timestamps, either byte order) and pcapng
// (several sections, several interfaces, each with its own link type and
// timestamp resolution), gzip-compressed or not, "-" for standard input.
// Files are read by gopacket's pcapgo readers through a 1 MiB buffer with
// their zero-copy calls; [Reader.Next] fills a caller-owned [Packet] and does
// not allocate.
//
// [OpenFilesContext] stops reading when its context ends, also in the middle
// of a read that waits for a pipe, a FIFO or a terminal whose writer
// stalled: a FIFO is opened aside (opening one waits for a writer), and
// standard input, unless it is a regular file, is reopened through
// /proc/self/fd so that Go's poller, whose read deadline stops a read,
// serves it without changing the mode of the descriptor the shell shares.
//
// Every packet is returned, whatever it is, so that the capture's clock moves
// with it: [Packet.Kind] says whether it is a TCP segment, something else
// (NotTCP), a non-first IP fragment, a header cut by the snaplen (Truncated),
// nonsense (Malformed), or rejected by the filter (Filtered).
//
// # Filtering
//
// A BPF expression is compiled by libpcap, exactly as tcpdump compiles it,
// once per link type met in the input, and run in Go by a small interpreter
// with libpcap's semantics ([Filter]). Files never go through libpcap;
// live capture ([OpenLive]) does, with the filter set in the kernel.
//
// Only compiling filters and capturing live need libpcap, and so cgo
// (bpf_cgo.go, live_cgo.go). Built with CGO_ENABLED=0, the package reads
// and decodes files as well, and refuses a filter or an interface with
// [ErrNoLibpcap].
//
// # Errors
//
// An input that cannot be opened or read to its end gives an [*Error]: one
// line with the operation, the input, the packet that could not be read and
// the cause, which errors.Is and errors.As find through it ([ErrTruncated],
// [ErrNotCapture], ...). A capture that ends inside a record, or whose gzip
// stream is cut short or damaged, is an error even where the format readers
// would call it a clean end: after a record header with no packet bytes,
// or a gzip stream cut at a record boundary or in its trailer. A filter
// expression that compiles for no link type is the filter's error; one that
// does not compile for the input's link type (NFLOG, raw IP) is the input's.
//
// # Decoding
//
// [Decoder] parses headers by hand, in place: Ethernet (802.1Q and QinQ tags,
// PPPoE sessions, 802.2 LLC/SNAP, VN-Tag, FabricPath), Linux cooked v1 and
// v2, raw IP, BSD NULL/LOOP, NFLOG, FDDI, PPP and Cisco HDLC; then IPv4 or
// IPv6 with its extension headers (hop-by-hop, routing, destination options,
// fragment, AH) down to TCP. The segment's payload length comes from the IP
// length fields, so it is right when the snaplen cut the payload, and
// Ethernet padding never counts as payload.
//
// # Limits
//
//   - Tunnels (GRE, VXLAN, Geneve, GTP, Teredo, IP-in-IP, MPLS) are not
//     opened: their outer packets are NotTCP.
//   - IP fragments are not reassembled. A first fragment that holds the whole
//     TCP header is decoded, with the payload this fragment carries; later
//     fragments are counted as Fragment.
//   - A TCP header cut by the snaplen, even only in its options, is
//     Truncated: a segment whose window-scale option might be missing would
//     mislead the tracker.
//   - An IPv4 total length beyond the packet's length on the wire is trusted
//     only when the header checksum is correct (some tools record short wire
//     lengths); otherwise the packet is Malformed. A zero total length
//     (segmentation offload) or zero IPv6 payload length is taken from the
//     wire length.
//   - Checksums are otherwise not verified, as Zeek's -C does not.
package capture
