// Package capture reads packets from capture files and decodes each one into
// the tracker.Segment the connection tracker consumes.
//
// # Reading
//
// [OpenFiles] reads one or more files in order as a single capture: pcap
// (microsecond or nanosecond timestamps, either byte order) and pcapng
// (several sections, several interfaces, each with its own link type and
// timestamp resolution), gzip-compressed or not, "-" for standard input.
// Files are read through a 1 MiB buffer: a pcap file's headers by pcapgo and
// its records by pcapRecords, sliced out of the buffer (pcaprecords.go); a
// pcapng file's enhanced packet blocks by ngRecords, sliced out of the
// buffer too, and its other blocks by pcapgo's NgReader (ngrecords.go).
// [Reader.Next] fills a caller-owned [Packet] and does not allocate.
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
// with libpcap's semantics ([Filter]). Files never go through libpcap.
// Live capture ([OpenLive], [OpenFanout]) runs the compiled filter in the
// kernel, on an AF_PACKET TPACKET_V3 ring on Linux (ring_linux.go) or
// through a libpcap handle (live_cgo.go).
//
// Only compiling filters and capturing through libpcap need libpcap, and
// so cgo (bpf_cgo.go, live_cgo.go). Built with CGO_ENABLED=0, the package
// reads and decodes files as well, captures on an AF_PACKET ring without a
// filter, and refuses a filter or what only libpcap opens with
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
// # Tunnels
//
// Tunnels are opened unless [Decoder.NoDecap] is set, and the innermost TCP
// is the segment: 802.1Q/802.1ad stacks, MPLS label stacks (with or without
// a pseudowire control word), 802.1ah PBB and VN-Tag as tags; IPv4 and IPv6
// in IPv4 or IPv6, GRE (checksum, key, sequence; transparent Ethernet
// bridging; ERSPAN I, II, III; MPLS; PPTP's PPP; Aruba's 802.11), VXLAN
// (UDP 4789 and 8472), Geneve (6081, options skipped), GTP-U (2152, with
// extension headers), Teredo (3544) and AYIYA (5072) as tunnels, at most
// tracker.MaxTunnelDepth inside one another. A header found by a port or a
// guess must prove itself (IP version, lengths inside the outer payload, a
// correct IPv4 header checksum, a TCP data offset that fits); a packet
// whose inner headers do not is NotTCP. The tunnel layers (outer endpoints,
// VNI, GRE key, ERSPAN session) are hashed into Segment.Tunnel, so the same
// inner 4-tuple in two overlays is two connections; [Decoder.Tunnel] gives
// the context back, [Decoder.MergeTunnels] leaves Segment.Tunnel 0.
//
// # Fragments
//
// IPv4 and IPv6 fragments are reassembled far enough to read the TCP
// header: the first fragment's headers are decoded and the segment held
// until the datagram is whole, then handed on with the packet that
// completed it (its payload the whole datagram's); a datagram that never
// completes within 30 s never reaches TCP, as in the receiver's kernel. At
// most 64 datagrams are held at once (the oldest gives way); an overlap
// that is not an exact repeat discards the datagram, as Linux does
// ([Decoder.FragmentStats] counts all three outcomes).
//
// # Limits
//
//   - The first fragment must hold the whole TCP header (RFC 8200 requires
//     it of IPv6; every real IPv4 path MTU gives it); bytes are not copied
//     across fragments.
//   - An aggregate 802.11 MSDU gives its first subframe's segment only: one
//     packet, at most one segment.
//   - GTP-U's TEID is shown but not part of the tunnel's identity: each end
//     chooses the TEID it receives on, so the two directions differ.
//   - A TCP header cut by the snaplen inside its fixed 20 bytes is
//     Truncated. One cut in its options is decoded (only SYNs carry an
//     option the tracker reads): a SYN whose window-scale option was not
//     captured gets the largest scale, 14, as for a connection picked up
//     mid-stream, so that its window is never taken for smaller than it is.
//   - An IPv4 total length beyond the packet's length on the wire is trusted
//     only when the header checksum is correct (some tools record short wire
//     lengths); otherwise the packet is Malformed. A zero total length
//     (segmentation offload) or zero IPv6 payload length is taken from the
//     wire length.
//   - The IPv4 header and TCP checksums are judged into Segment.Checksum
//     (checksum.go) unless [Decoder.NoChecksums]: a segment captured whole
//     is good, bad, or offloaded (the field holds only the pseudo-header's
//     sum, or 0, as the sending host captures it before its NIC fills it
//     in); one cut by the snaplen, a super-packet or a reassembled datagram
//     is unverified. What a bad checksum means is the tracker's business.
package capture
