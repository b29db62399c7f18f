// Package synth writes synthetic packet captures: many TCP connections, each
// a full lifecycle, interleaved the way a busy server sees them, and
// optionally a SYN flood. Captures are deterministic from a seed and are
// streamed: memory stays proportional to the connections open at once, so a
// million packets take well under a second to write.
//
// The output is a classic pcap file (microsecond timestamps, Ethernet link
// type) with correct IPv4 header and TCP checksums, so Wireshark and tcpdump
// read it without complaint. Payload bytes are zeros.
//
// # Traffic model
//
// A connection is: client SYN (MSS, SACK-permitted, window scale), server
// SYN-ACK, client ACK; DataRounds request/response rounds, each a client data
// segment acknowledged by the server and a server data segment acknowledged
// by the client; then the client closes (FIN-ACK, ACK, server FIN-ACK, ACK).
// Up to Concurrency connections are open at once and each packet comes from
// one of them picked at random, so handshakes, data and closes interleave.
//
// A flood SYN is a lone SYN from a spoofed source in 198.18.0.0/15 to
// FloodTarget; each comes from a different address, and none is answered.
package synth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Config describes a capture. The zero value writes an empty capture; see
// each field for its default.
type Config struct {
	Seed uint64 // the same seed and config give the same bytes

	Conns       int  // complete connections to write
	Concurrency int  // connections open at once (default 100)
	DataRounds  int  // request/response rounds per connection (default 2; -1 for none)
	IPv6        bool // IPv6 instead of IPv4 for the connections

	// Flood is the number of SYN-flood packets, interleaved with the
	// connections, each from a distinct source: in 198.18.0.0/15 (so at
	// most 131070) for an IPv4 target, in fd00::/8 for an IPv6 one.
	Flood       int
	FloodTarget netip.AddrPort // default 198.18.0.2:80

	// Mix makes the connections unlike one another (see [Mix]); the zero
	// value writes every connection the same way.
	Mix Mix

	// Lone is the number of lone segments of a flood of kind LoneKind to
	// random 4-tuples (lone.go); with it, the connections are spread
	// evenly over the capture instead of interleaved by Concurrency.
	// LoneSources, if positive, limits the lone segments' senders to that
	// many distinct addresses (LoneSource); otherwise each has its own.
	// With LoneRefused, the target answers each lone segment but an RST
	// with an RST, as a host that holds no such connection does.
	Lone        int
	LoneKind    LoneKind
	LoneSources int
	LoneRefused bool

	Start    time.Time     // time of the first packet (default 2026-01-01T00:00:00Z)
	Interval time.Duration // mean gap between packets (default 50µs)
	Snaplen  int           // cut packets to this many bytes (default 0: never)

	// Faults makes one connection in Faults end badly (0: none), in turn
	// refused, aborted by RST, or left in CLOSE_WAIT (synth_faults.go).
	Faults int
}

// Mix is the share (0 to 1) of connections of each kind, drawn per
// connection from the seed: a capture that looks like a busy server's.
type Mix struct {
	IPv6       float64 // over IPv6 (the rest over IPv4, unless Config.IPv6)
	Aborted    float64 // the client aborts with an RST where it would have closed
	Refused    float64 // the SYN is answered by an RST (nothing listens)
	Retransmit float64 // one data segment of the client's is sent twice
	MaxRounds  int     // when positive, each connection has 0..MaxRounds data rounds, uniformly
	// Midstream is the share of the connections open when the capture
	// starts (the first Concurrency) that it picks up mid-stream: their
	// first packets, up to a random point, are not written.
	Midstream float64
	// SteadyFlood makes the flood's SYNs a steady share of the packets,
	// spread evenly over the capture; otherwise each packet is a flood SYN
	// in proportion to the flood SYNs still to come against the open
	// connections, which puts a large flood near the start.
	SteadyFlood bool
}

// Medium is the "medium" capture of the scale measurements: about 2 M
// packets in about 150,000 connections, 5,000 open at once, 10 % over IPv6,
// 5 % aborted, 3 % refused, 1.5 % with a retransmitted data segment, a 2 %
// spoofed SYN flood (of the packets), and half the initial connections
// picked up mid-stream.
func Medium(seed uint64) Config {
	return Config{Seed: seed, Conns: 150_000, Concurrency: 5_000, Flood: 40_000,
		FloodTarget: netip.MustParseAddrPort("[fd00::2:0:0:1]:80"), Interval: 25 * time.Microsecond,
		Mix: Mix{IPv6: 0.10, Aborted: 0.05, Refused: 0.03, Retransmit: 0.015, MaxRounds: 3, Midstream: 0.5, SteadyFlood: true}}
}

// Large is Medium five times over: about 10 M packets in 750,000
// connections, at the same rate, so that it lasts five times as long.
func Large(seed uint64) Config {
	c := Medium(seed)
	c.Conns *= 5
	c.Flood *= 5
	return c
}

// ErrFloodTooLarge is returned when Flood asks for more distinct sources than
// 198.18.0.0/15 holds.
var ErrFloodTooLarge = errors.New("synth: more flood sources than 198.18.0.0/15 holds (131070)")

const (
	maxFloodSources = 1<<17 - 2
	mss             = 1448
	clientWindow    = 64240
	serverWindow    = 65160
	wscale          = 7
)

// Phases of a connection, in the order its packets are written.
const (
	phSYN = iota
	phSYNACK
	phACK
	phClientData // client data, then the server's ACK
	phServerACK
	phServerData // server data, then the client's ACK
	phClientACK
	phClientFIN
	phServerFINACK // the server acknowledges the client's FIN
	phServerFIN
	phLastACK
	phDone
	phRefuse        // the server's RST-ACK to a SYN nothing listens for
	phAbort         // the client's RST in place of its FIN
	phClientDataRtx // the client's data segment again
)

type conn struct {
	client, server netip.AddrPort
	refused        bool   // answered by RST
	aborted        bool   // ends with the client's RST
	rtx            bool   // its first data segment is sent twice
	cseq, sseq     uint32 // next sequence number of each side
	phase          int
	rounds         int    // data rounds left
	clen, slen     uint32 // length of the data segment in flight
	fault          fault  // how it ends badly, if it does
}

// Write writes the capture cfg describes to w.
func Write(w io.Writer, cfg Config) error {
	if cfg.Flood > maxFloodSources && (!cfg.FloodTarget.IsValid() || cfg.FloodTarget.Addr().Is4()) {
		return ErrFloodTooLarge
	}
	if cfg.Flood < 0 || cfg.Conns < 0 || cfg.Lone < 0 {
		return errors.New("synth: negative count")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 100
	}
	if cfg.DataRounds == 0 {
		cfg.DataRounds = 2
	} else if cfg.DataRounds < 0 {
		cfg.DataRounds = 0
	}
	if !cfg.FloodTarget.IsValid() {
		cfg.FloodTarget = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, 2}), 80)
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 50 * time.Microsecond
	}

	g := &gen{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0x7463707761746368)),
		w:   bufio.NewWriterSize(w, 1<<20),
		now: cfg.Start.UnixNano(),
	}
	if cfg.Mix.SteadyFlood && cfg.Flood > 0 {
		rounds := float64(cfg.DataRounds)
		if cfg.Mix.MaxRounds > 0 {
			rounds = float64(cfg.Mix.MaxRounds) / 2
		}
		conn := float64(cfg.Conns) * (7 + 4*rounds)
		g.floodShare = float64(cfg.Flood) / (float64(cfg.Flood) + conn)
	}
	g.writeFileHeader()
	run := g.run
	if cfg.Lone > 0 {
		run = g.runLone
	}
	if err := run(); err != nil {
		return err
	}
	return g.w.Flush()
}

type gen struct {
	cfg     Config
	rng     *rand.Rand
	w       *bufio.Writer
	now     int64 // ns
	started int   // connections started
	flooded int   // flood SYNs written
	open    []*conn
	free    []*conn
	werr    error
	mute    bool // skip writing: a connection picked up mid-stream
	// floodShare: with Mix.SteadyFlood, the share of the packets that are
	// flood SYNs (estimated from the connections' mean length).
	floodShare float64
	pkt        [1600]byte
}

func (g *gen) writeFileHeader() {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	snap := uint32(262144)
	if g.cfg.Snaplen > 0 {
		snap = uint32(g.cfg.Snaplen)
	}
	binary.LittleEndian.PutUint32(h[16:], snap)
	binary.LittleEndian.PutUint32(h[20:], 1) // Ethernet
	g.write(h[:])
}

func (g *gen) run() error {
	for {
		// Keep Concurrency connections open while there are more to start.
		for len(g.open) < g.cfg.Concurrency && g.started < g.cfg.Conns {
			g.open = append(g.open, g.newConn())
		}
		left := len(g.open) + (g.cfg.Flood - g.flooded)
		if left == 0 {
			return nil
		}
		g.now += g.gap()
		// Flood SYNs arrive at the rate of the open connections' packets
		// combined: each pick is uniform over open connections and flood
		// packets still to come, which spreads the flood over the capture.
		i := g.rng.IntN(left)
		if g.floodShare > 0 {
			i = g.rng.IntN(max(1, len(g.open)))
			if g.flooded < g.cfg.Flood && (len(g.open) == 0 || g.rng.Float64() < g.floodShare) {
				i = len(g.open)
			}
		}
		if i >= len(g.open) {
			g.floodSYN()
		} else {
			c := g.open[i]
			g.step(c)
			if c.phase == phDone {
				g.open[i] = g.open[len(g.open)-1]
				g.open = g.open[:len(g.open)-1]
				g.free = append(g.free, c)
			}
		}
		if g.werr != nil {
			return g.werr
		}
	}
}

// write writes b, keeping the first error.
func (g *gen) write(b []byte) {
	if g.werr == nil {
		_, g.werr = g.w.Write(b)
	}
}

func (g *gen) newConn() *conn {
	var c *conn
	if n := len(g.free); n > 0 {
		c, g.free = g.free[n-1], g.free[:n-1]
		*c = conn{}
	} else {
		c = new(conn)
	}
	i := g.started
	g.started++
	// Clients: 4096 hosts, each using ports from 32768 up, so every
	// connection has its own 4-tuple. Servers: 16 hosts on port 80 or 443.
	host := i % 4096
	port := uint16(32768 + (i/4096)%28000)
	srv := uint16(1 + g.rng.IntN(16))
	sport := uint16(80)
	if g.rng.IntN(2) == 0 {
		sport = 443
	}
	m := &g.cfg.Mix
	v6 := g.cfg.IPv6 || m.IPv6 > 0 && g.rng.Float64() < m.IPv6
	if m.MaxRounds > 0 {
		c.rounds = g.rng.IntN(m.MaxRounds + 1)
	}
	r := 1.0 // (drawn only for a mix, so that other captures stay as they were)
	if m.Refused+m.Aborted+m.Retransmit > 0 {
		r = g.rng.Float64()
	}
	switch {
	case r < m.Refused:
		c.refused = true
	case r < m.Refused+m.Aborted:
		c.aborted = true
	case r < m.Refused+m.Aborted+m.Retransmit:
		c.rtx = true
	}
	if v6 {
		var a, b [16]byte
		copy(a[:], []byte{0xfd, 0, 0, 0, 0, 1})
		copy(b[:], []byte{0xfd, 0, 0, 0, 0, 2})
		binary.BigEndian.PutUint16(a[14:], uint16(host+1))
		binary.BigEndian.PutUint16(b[14:], srv)
		c.client = netip.AddrPortFrom(netip.AddrFrom16(a), port)
		c.server = netip.AddrPortFrom(netip.AddrFrom16(b), sport)
	} else {
		// Clients in 198.19.0.0/16, servers in 198.18.255.0/24 (RFC 2544's
		// benchmarking range; the flood's sources count up from 198.18.0.1).
		c.client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 19, byte(host >> 8), byte(host)}), port)
		c.server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 255, byte(srv)}), sport)
	}
	c.cseq = g.rng.Uint32()
	c.sseq = g.rng.Uint32()
	if m.MaxRounds <= 0 {
		c.rounds = g.cfg.DataRounds
	}
	g.pickFault(c, i)
	if i < g.cfg.Concurrency && m.Midstream > 0 && !c.refused && g.rng.Float64() < m.Midstream {
		g.skip(c)
	}
	return c
}

// skip runs a connection picked up mid-stream through its first packets,
// up to a random point past its handshake, without writing them.
func (g *gen) skip(c *conn) {
	n := 3 + g.rng.IntN(4*c.rounds+2)
	g.mute = true
	for ; n > 0 && c.phase != phDone; n-- {
		g.step(c)
	}
	g.mute = false
}

// TCP flags.
const (
	fFIN = 0x01
	fSYN = 0x02
	fPSH = 0x08
	fACK = 0x10
)

// step writes the connection's next packet.
func (g *gen) step(c *conn) {
	if c.fault != noFault && g.stepFault(c) {
		return
	}
	switch c.phase {
	case phSYN:
		g.tcp(c.client, c.server, c.cseq, 0, fSYN, clientWindow, true, 0)
		c.cseq++
		c.phase = phSYNACK
		if c.refused {
			c.phase = phRefuse
		}
	case phRefuse:
		g.tcp(c.server, c.client, 0, c.cseq, fRST|fACK, 0, false, 0)
		c.phase = phDone
	case phAbort:
		g.tcp(c.client, c.server, c.cseq, c.sseq, fRST|fACK, clientWindow>>wscale, false, 0)
		c.phase = phDone
	case phClientDataRtx:
		g.tcp(c.client, c.server, c.cseq-c.clen, c.sseq, fPSH|fACK, clientWindow>>wscale, false, c.clen)
		c.rtx = false
		c.phase = phServerACK
	case phSYNACK:
		g.tcp(c.server, c.client, c.sseq, c.cseq, fSYN|fACK, serverWindow, true, 0)
		c.sseq++
		c.phase = phACK
	case phACK:
		g.tcp(c.client, c.server, c.cseq, c.sseq, fACK, clientWindow>>wscale, false, 0)
		c.phase = phClientData
		if c.rounds == 0 {
			c.phase = phClientFIN
		}
	case phClientData:
		c.clen = 1 + uint32(g.rng.IntN(600))
		g.tcp(c.client, c.server, c.cseq, c.sseq, fPSH|fACK, clientWindow>>wscale, false, c.clen)
		c.cseq += c.clen
		c.phase = phServerACK
		if c.rtx {
			c.phase = phClientDataRtx
		}
	case phServerACK:
		g.tcp(c.server, c.client, c.sseq, c.cseq, fACK, serverWindow>>wscale, false, 0)
		c.phase = phServerData
	case phServerData:
		c.slen = 1 + uint32(g.rng.IntN(mss))
		g.tcp(c.server, c.client, c.sseq, c.cseq, fPSH|fACK, serverWindow>>wscale, false, c.slen)
		c.sseq += c.slen
		c.phase = phClientACK
	case phClientACK:
		g.tcp(c.client, c.server, c.cseq, c.sseq, fACK, clientWindow>>wscale, false, 0)
		c.rounds--
		c.phase = phClientData
		if c.rounds == 0 {
			c.phase = phClientFIN
		}
	case phClientFIN:
		if c.aborted {
			c.phase = phAbort
			g.step(c)
			return
		}
		g.tcp(c.client, c.server, c.cseq, c.sseq, fFIN|fACK, clientWindow>>wscale, false, 0)
		c.cseq++
		c.phase = phServerFINACK
	case phServerFINACK:
		g.tcp(c.server, c.client, c.sseq, c.cseq, fACK, serverWindow>>wscale, false, 0)
		c.phase = phServerFIN
	case phServerFIN:
		g.tcp(c.server, c.client, c.sseq, c.cseq, fFIN|fACK, serverWindow>>wscale, false, 0)
		c.sseq++
		c.phase = phLastACK
	case phLastACK:
		g.tcp(c.client, c.server, c.cseq, c.sseq, fACK, clientWindow>>wscale, false, 0)
		c.phase = phDone
	}
}

// gap draws the time to the next packet: exponential, of mean Interval.
func (g *gen) gap() int64 { return int64(g.rng.ExpFloat64() * float64(g.cfg.Interval)) }

// ephemeralPort draws a port from 1024 to 65535.
func (g *gen) ephemeralPort() uint16 { return uint16(1024 + g.rng.IntN(64512)) }

// floodSYN writes one SYN of the flood from the next spoofed source
// (LoneSource: 198.18.0.1 up to 198.19.255.254, or fd00::/8 for an IPv6
// target).
func (g *gen) floodSYN() {
	dst := g.cfg.FloodTarget
	src := LoneSource(dst, g.flooded, 0)
	g.flooded++
	port := g.ephemeralPort()
	g.tcp(netip.AddrPortFrom(src, port), dst, g.rng.Uint32(), 0, fSYN, 1024, false, 0)
}

// tcp writes one Ethernet/IP/TCP packet with payload zero bytes of data.
func (g *gen) tcp(src, dst netip.AddrPort, seq, ack uint32, flags byte, win uint16, synOpts bool, payload uint32) {
	if g.mute {
		return
	}
	b := g.pkt[:]
	v6 := src.Addr().Is6()
	// Ethernet: locally administered MACs derived from the addresses.
	sa, da := src.Addr().As16(), dst.Addr().As16()
	copy(b[0:6], []byte{0x02, 0, da[12], da[13], da[14], da[15]})
	copy(b[6:12], []byte{0x02, 0, sa[12], sa[13], sa[14], sa[15]})
	optLen := 0
	if synOpts {
		optLen = 12
	}
	tcpLen := 20 + optLen
	var ipLen, tcpOff int
	if v6 {
		binary.BigEndian.PutUint16(b[12:], 0x86dd)
		ip := b[14:54]
		clear(ip)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen)+uint16(payload))
		ip[6] = 6
		ip[7] = 64
		copy(ip[8:24], sa[:])
		copy(ip[24:40], da[:])
		ipLen, tcpOff = 40, 54
	} else {
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		ip := b[14:34]
		clear(ip)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen)+uint16(payload))
		binary.BigEndian.PutUint16(ip[4:], uint16(g.rng.Uint32()))
		ip[6] = 0x40 // DF
		ip[8] = 64
		ip[9] = 6
		copy(ip[12:16], sa[12:])
		copy(ip[16:20], da[12:])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sum(ip, 0)))
		ipLen, tcpOff = 20, 34
	}
	t := b[tcpOff : tcpOff+tcpLen]
	clear(t)
	binary.BigEndian.PutUint16(t[0:], src.Port())
	binary.BigEndian.PutUint16(t[2:], dst.Port())
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12] = byte(tcpLen/4) << 4
	t[13] = flags
	binary.BigEndian.PutUint16(t[14:], win)
	if synOpts {
		copy(t[20:], []byte{2, 4, mss >> 8, mss & 0xff, 4, 2, 1, 3, 3, wscale, 0, 0})
	}
	// Checksum over the pseudo-header and the header; zero payload bytes
	// add nothing but their length.
	var ps uint32
	if v6 {
		ps = sum(sa[:], 0)
		ps = sum(da[:], ps)
	} else {
		ps = sum(sa[12:], 0)
		ps = sum(da[12:], ps)
	}
	ps += 6 + uint32(tcpLen) + payload
	binary.BigEndian.PutUint16(t[16:], ^fold(sum(t, ps)))

	wire := 14 + ipLen + tcpLen + int(payload)
	capLen := wire
	if g.cfg.Snaplen > 0 && capLen > g.cfg.Snaplen {
		capLen = g.cfg.Snaplen
	}
	var rec [16]byte
	binary.LittleEndian.PutUint32(rec[0:], uint32(g.now/1e9))
	binary.LittleEndian.PutUint32(rec[4:], uint32(g.now%1e9/1e3))
	binary.LittleEndian.PutUint32(rec[8:], uint32(capLen))
	binary.LittleEndian.PutUint32(rec[12:], uint32(wire))
	g.write(rec[:])
	hdr := tcpOff + tcpLen
	if capLen <= hdr {
		g.write(b[:capLen])
		return
	}
	g.write(b[:hdr])
	g.zeros(capLen - hdr)
}

var zeroBuf [mss]byte

func (g *gen) zeros(n int) {
	for n > 0 {
		k := min(n, len(zeroBuf))
		g.write(zeroBuf[:k])
		n -= k
	}
}

// sum adds b to s as 16-bit big-endian words (RFC 1071).
func sum(b []byte, s uint32) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
