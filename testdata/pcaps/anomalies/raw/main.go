// Command raw crafts the TCP segments a kernel socket never sends, for the
// anomaly recordings in testdata/pcaps/anomalies (record.sh runs it inside
// the recording's network namespaces, as root). IPv4 only.
//
//	raw -mode flood   -dst 198.18.0.2:8080 -src 198.19.0.0/16 -rate 250 -count 1000 [-flags S|A|R|F.|S.]
//	raw -mode invalid -dst 198.18.0.2:8080 -local 198.18.0.1:50302 -sync DIR
//	raw -mode rst     -dst 198.18.0.2:8080 -local 198.18.0.1:50301 -sync DIR
//	raw -mode synack  -dst 198.18.0.2:8080 -sync DIR
//
// flood: SYNs from random sources (and ports) in -src to -dst, -rate per
// second, -count in all; both are bounded (at most 5,000 SYNs and 15 s).
//
// invalid: learns the numbers of the live connection -local ⇄ -dst from the
// server's next data segment, then sends, on that connection and in its
// window, SYN+FIN, a segment with no flags and a FIN without ACK; then the
// same three to -dst from three fresh source ports (what a FIN, NULL or Xmas
// scanner sends).
//
// rst: learns the live connection's numbers likewise, then sends an RST
// (with a valid ACK) whose sequence number is 2^31 away from the one the
// server expects: far outside its window.
//
// synack: in the server's namespace, waits for a SYN to -dst and answers it,
// as -dst, with a SYN-ACK that acknowledges ISN+1+65536 instead of ISN+1.
//
// Segments are seen with an AF_PACKET socket (before netfilter, so also those
// record.sh's nftables rules drop) and sent with an IP_HDRINCL raw socket.
// raw creates DIR/raw-ready once it listens and DIR/raw-done when it is done.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

const (
	fFIN = 0x01
	fSYN = 0x02
	fRST = 0x04
	fPSH = 0x08
	fACK = 0x10
	fURG = 0x20

	maxFloodSYNs = 5000
	maxFlood     = 15 * time.Second
)

var (
	mode    = flag.String("mode", "", "flood, invalid, rst or synack")
	dstFlag = flag.String("dst", "198.18.0.2:8080", "the server: ip:port")
	local   = flag.String("local", "", "invalid, rst: the client's end of the live connection, ip:port")
	src     = flag.String("src", "198.19.0.0/16", "flood: the spoofed source prefix")
	rate    = flag.Int("rate", 250, "flood: SYNs per second")
	count   = flag.Int("count", 1000, "flood: SYNs in all (at most 5000)")
	flags   = flag.String("flags", "S", "flood: what each spoofed segment is, as tcpdump prints it: S (SYN), A (bare ACK), R (RST), F. (FIN-ACK), S. (SYN-ACK from port 80 to a random port of -dst's address: backscatter)")
	syncDir = flag.String("sync", "", "directory for marker files shared with record.sh")
)

func main() {
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix("raw ")
	flag.Parse()
	dst, err := netip.ParseAddrPort(*dstFlag)
	check(err)
	if !dst.Addr().Is4() {
		log.Fatal("IPv4 only")
	}
	switch *mode {
	case "flood":
		flood(dst)
	case "invalid", "rst":
		l, err := netip.ParseAddrPort(*local)
		check(err)
		live(dst, l)
	case "synack":
		synack(dst)
	default:
		fmt.Fprintln(os.Stderr, "usage: raw -mode flood|invalid|rst|synack [flags]")
		os.Exit(2)
	}
	mark("raw-done")
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func mark(name string) {
	if *syncDir == "" {
		return
	}
	check(os.WriteFile(filepath.Join(*syncDir, name), nil, 0o644))
	log.Printf("mark %s", name)
}

// ---- segments ----

type segment struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	window   uint16
	options  []byte // a multiple of 4 bytes
	payload  []byte
}

// packet returns the IPv4 packet carrying the segment, checksums filled in.
func (s *segment) packet() []byte {
	tl := 20 + len(s.options) + len(s.payload)
	b := make([]byte, 20+tl)
	ip := b[:20]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(b)))
	binary.BigEndian.PutUint16(ip[4:], uint16(rand.Uint32()))
	ip[6] = 0x40 // DF
	ip[8] = 64
	ip[9] = syscall.IPPROTO_TCP
	s4, d4 := s.src.Addr().As4(), s.dst.Addr().As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum(0, ip)))

	t := b[20:]
	binary.BigEndian.PutUint16(t[0:], s.src.Port())
	binary.BigEndian.PutUint16(t[2:], s.dst.Port())
	binary.BigEndian.PutUint32(t[4:], s.seq)
	binary.BigEndian.PutUint32(t[8:], s.ack)
	t[12] = byte((20 + len(s.options)) / 4 << 4)
	t[13] = s.flags
	binary.BigEndian.PutUint16(t[14:], s.window)
	copy(t[20:], s.options)
	copy(t[20+len(s.options):], s.payload)
	var pseudo [12]byte
	copy(pseudo[0:], s4[:])
	copy(pseudo[4:], d4[:])
	pseudo[9] = syscall.IPPROTO_TCP
	binary.BigEndian.PutUint16(pseudo[10:], uint16(tl))
	binary.BigEndian.PutUint16(t[16:], ^uint16(sum(sum(0, pseudo[:]), t)))
	return b
}

// sum is the ones' complement sum of b (RFC 1071), folded, added to acc.
func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return acc
}

// sender sends crafted IPv4 packets (IPPROTO_RAW implies IP_HDRINCL).
type sender int

func newSender() sender {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	check(err)
	return sender(fd)
}

func (fd sender) send(s *segment) {
	to := &syscall.SockaddrInet4{Addr: s.dst.Addr().As4()}
	check(syscall.Sendto(int(fd), s.packet(), 0, to))
	log.Printf("sent %v → %v flags %#02x seq %d ack %d", s.src, s.dst, s.flags, s.seq, s.ack)
}

// ---- sniffing ----

type seen struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	payload  int
	outgoing bool
	window   uint16
}

type sniffer int

func newSniffer() sniffer {
	const ethPIP = 0x0800
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons(ethPIP)))
	check(err)
	return sniffer(fd)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// next returns the next TCP segment for which ok is true (within 10 s).
func (fd sniffer) next(ok func(*seen) bool) *seen {
	tv := syscall.Timeval{Sec: 1}
	check(syscall.SetsockoptTimeval(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv))
	buf := make([]byte, 65536)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		n, from, err := syscall.Recvfrom(int(fd), buf, 0)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			continue
		}
		check(err)
		p := buf[:n]
		if n < 40 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_TCP {
			continue
		}
		ihl := int(p[0]&0x0f) * 4
		tot := int(binary.BigEndian.Uint16(p[2:]))
		if tot > n || ihl+20 > tot {
			continue
		}
		t := p[ihl:tot]
		doff := int(t[12]>>4) * 4
		s := &seen{
			src:     netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[12:16])), binary.BigEndian.Uint16(t[0:])),
			dst:     netip.AddrPortFrom(netip.AddrFrom4([4]byte(p[16:20])), binary.BigEndian.Uint16(t[2:])),
			seq:     binary.BigEndian.Uint32(t[4:]),
			ack:     binary.BigEndian.Uint32(t[8:]),
			flags:   t[13],
			window:  binary.BigEndian.Uint16(t[14:]),
			payload: len(t) - doff,
		}
		if ll, isLL := from.(*syscall.SockaddrLinklayer); isLL {
			s.outgoing = ll.Pkttype == syscall.PACKET_OUTGOING
		}
		if ok(s) {
			log.Printf("seen %v → %v flags %#02x seq %d ack %d len %d", s.src, s.dst, s.flags, s.seq, s.ack, s.payload)
			return s
		}
	}
	log.Fatal("timed out waiting for a segment")
	return nil
}

// ---- modes ----

// flood sends spoofed SYNs, bounded in count and time.
func flood(dst netip.AddrPort) {
	pfx, err := netip.ParsePrefix(*src)
	check(err)
	pfx = pfx.Masked()
	if !pfx.Addr().Is4() || pfx.Bits() > 30 {
		log.Fatal("-src must be an IPv4 prefix of /30 or shorter")
	}
	n := min(*count, maxFloodSYNs)
	if *rate <= 0 {
		log.Fatal("-rate must be positive")
	}
	interval := time.Second / time.Duration(*rate)
	fl, ok := map[string]uint8{"S": fSYN, "A": fACK, "R": fRST, "F.": fFIN | fACK, "S.": fSYN | fACK}[*flags]
	if !ok {
		log.Fatalf("-flags %q: want S, A, R, F. or S.", *flags)
	}
	fd := newSender()
	base := binary.BigEndian.Uint32(pfx.Addr().AsSlice())
	hostBits := 32 - pfx.Bits()
	// The SYN options Linux sends: MSS 1460, SACK permitted, timestamps,
	// window scale 7.
	opts := []byte{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7}
	start := time.Now()
	sent := 0
	for sent < n && time.Since(start) < maxFlood {
		host := 1 + rand.Uint32N(1<<hostBits-2) // neither network nor broadcast
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], base+host)
		s := &segment{
			src:    netip.AddrPortFrom(netip.AddrFrom4(a), uint16(32768+rand.IntN(28000))),
			dst:    dst,
			seq:    rand.Uint32(),
			flags:  fl,
			window: 64240,
		}
		if fl&fACK != 0 {
			s.ack = rand.Uint32()
		}
		if fl == fSYN|fACK { // a server's answer to a SYN spoofed from dst's address
			s.src = netip.AddrPortFrom(s.src.Addr(), 80)
			s.dst = netip.AddrPortFrom(dst.Addr(), uint16(1024+rand.IntN(64512)))
		}
		if fl&fSYN != 0 {
			s.options = opts
			binary.BigEndian.PutUint32(opts[8:], uint32(time.Since(start)/time.Millisecond)+rand.Uint32N(1<<20))
		}
		to := &syscall.SockaddrInet4{Addr: dst.Addr().As4()}
		check(syscall.Sendto(int(fd), s.packet(), 0, to))
		sent++
		if next := start.Add(time.Duration(sent) * interval); time.Until(next) > 0 {
			time.Sleep(time.Until(next))
		}
	}
	log.Printf("flood: %d segments [%s] to %v in %v", sent, *flags, dst, time.Since(start).Round(time.Millisecond))
}

// live crafts segments on the live connection l ⇄ dst once it has seen the
// server's next data segment to l (which tells both sides' next sequence
// numbers).
func live(dst, l netip.AddrPort) {
	sn := newSniffer()
	fd := newSender()
	mark("raw-ready")
	d := sn.next(func(s *seen) bool { return s.src == dst && s.dst == l && s.payload > 0 })
	clientNxt := d.ack                     // what the server expects from the client
	serverNxt := d.seq + uint32(d.payload) // what the client has acknowledged once it ACKs
	time.Sleep(100 * time.Millisecond)     // the client's (delayed) ACK goes out first
	switch *mode {
	case "rst":
		fd.send(&segment{src: l, dst: dst, seq: clientNxt + 1<<31, ack: serverNxt, flags: fRST | fACK})
	case "invalid":
		for _, f := range []uint8{fSYN | fFIN, 0, fFIN} {
			fd.send(&segment{src: l, dst: dst, seq: clientNxt, ack: serverNxt, flags: f, window: 502})
			time.Sleep(50 * time.Millisecond)
		}
		for i, f := range []uint8{fSYN | fFIN, 0, fFIN | fPSH | fURG} { // SYN+FIN, NULL, Xmas (FIN PSH URG)
			s := netip.AddrPortFrom(l.Addr(), uint16(40001+i))
			fd.send(&segment{src: s, dst: dst, seq: rand.Uint32(), flags: f, window: 1024})
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(100 * time.Millisecond)
}

// synack answers the next SYN to dst with a SYN-ACK for the wrong ISN.
func synack(dst netip.AddrPort) {
	sn := newSniffer()
	fd := newSender()
	mark("raw-ready")
	syn := sn.next(func(s *seen) bool { return s.dst == dst && s.flags&(fSYN|fACK) == fSYN && !s.outgoing })
	opts := []byte{2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7} // MSS 1460, NOP NOP SACK-permitted, NOP window scale 7
	fd.send(&segment{src: dst, dst: syn.src, seq: rand.Uint32(), ack: syn.seq + 1 + 65536,
		flags: fSYN | fACK, window: 65160, options: opts})
	time.Sleep(50 * time.Millisecond)
}
