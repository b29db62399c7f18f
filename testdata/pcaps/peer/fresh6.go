package main

// The sixth fresh set (record.sh --fresh6): scenarios of the first set
// played again over encapsulations and written in other capture formats,
// and a plan of a dozen connections over GRE. The peers are the first set's
// (aliases below); what is new here is the encap role, which stands in for
// the tunnel and VLAN devices the kernels these recordings were made on do
// not have (no GRE, IPIP, ip6_tunnel, Geneve or 802.1Q module): record.sh
// makes a TUN or TAP device (ip tuntap) in each end's namespace, gives it
// the scenario's addresses, and runs this role there to carry what the
// stack sends through it over the underlay, and what arrives from the
// underlay back into it:
//
//	gre     TUN; IPv4 (or IPv6) in GRE (RFC 2784: 4 bytes, no key, no
//	        checksum, no sequence number) over IPv4: a raw IP socket, protocol 47
//	ipip    TUN; IPv4 in IPv4 (protocol 4); nothing else is carried
//	ip6gre  TUN; IPv6 (or IPv4) in GRE over IPv6: a raw IPv6 socket, next header 47
//	geneve  TAP; Ethernet in Geneve (RFC 8926: no options, protocol 0x6558,
//	        VNI 42) over UDP port 6081, from port 6081
//	vlan    TAP; the frame with one or two 802.1Q/802.1ad tags inserted
//	        (-tags), on the underlay veth through a packet socket; what
//	        arrives there loses its tags before it goes into the TAP
//
// The kernel builds the outer IP header (raw and UDP sockets), so its
// length, identification, TTL 64, DF and checksum are the kernel's.
//
//	peer -role encap -sync DIR -encap gre -dev tun-c -local 198.19.0.1 -remote 198.19.0.2
//	peer -role encap -sync DIR -encap vlan -dev tun-c -underlay eth-c -tags 88a8:100,8100:20

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func init() {
	for name, base := range map[string]string{
		"close-client-first-over-gre":    "close-client-first",
		"rst-abort-over-gre":             "rst-abort",
		"close-client-first-over-geneve": "close-client-first",
		"refused-over-geneve":            "refused",
		"close-client-first-over-ipip":   "close-client-first",
		"close-client-first-over-ipip6":  "close-client-first",
		"ipv6-over-ip6gre":               "ipv6",
		"ipv6-over-vxlan6":               "ipv6",
		"close-server-first-on-vlan":     "close-server-first",
		"close-server-first-on-qinq":     "close-server-first",
		"close-client-first-any":         "close-client-first",
		"close-wait-stuck-any":           "close-wait-stuck",
		"half-close-both-data-pcapng":    "half-close-both-data",
	} {
		p, ok := scenarios[base]
		if !ok {
			panic("fresh6: no scenario " + base)
		}
		scenarios[name] = p
	}
	plans["dozen-over-gre"] = dozenPlan
	scenarios["dozen-over-gre"] = play{clientConvos(dozenPlan), serverConvos(dozenPlan)}
}

// dozenPlan: twelve connections 150 ms apart from client ports 43001-43012,
// each ending another way (or left open); sizes from a few bytes to 120 kB.
func dozenPlan() []convo {
	var cs []convo
	for i, m := range []struct {
		mode      string
		req, resp int
	}{
		{"cf", 12, 300}, {"sf", 400, 120_000}, {"sim", 60, 2_000}, {"hc", 30_000, 900},
		{"rstc", 50, 80_000}, {"rsts", 700, 5_000}, {"refused", 0, 0}, {"open", 90, 15_000},
		{"cw", 1_500, 40}, {"cwc", 20, 9_000}, {"trickle", 33, 0}, {"hcs", 64_000, 1_200},
	} {
		c := convo{port: 43001 + i, mode: m.mode, req: m.req, resp: m.resp,
			start: time.Duration(i) * 150 * time.Millisecond}
		if m.mode == "cf" {
			c.swait = 50 * time.Millisecond // a four-segment close
		}
		cs = append(cs, c)
	}
	return cs
}

var (
	encapKind   = flag.String("encap", "", "encap role: gre, ipip, ip6gre, geneve or vlan")
	encapDev    = flag.String("dev", "", "encap role: the TUN (gre, ipip, ip6gre) or TAP (geneve, vlan) device to attach to")
	encapLocal  = flag.String("local", "", "encap role: this end's underlay address (gre, ipip, ip6gre, geneve)")
	encapRemote = flag.String("remote", "", "encap role: the other end's underlay address (gre, ipip, ip6gre, geneve)")
	encapUnder  = flag.String("underlay", "", "encap role (vlan): the interface the tagged frames go on")
	encapTags   = flag.String("tags", "", "encap role (vlan): the tags, outermost first, as TPID:VID in hex:decimal (8100:10, 88a8:100,8100:20)")
)

const (
	tunSetIff = 0x400454ca // TUNSETIFF
	iffTun    = 0x0001
	iffTap    = 0x0002
	iffNoPi   = 0x1000

	geneveVNI  = 42
	genevePort = 6081
)

// openTun attaches to the TUN or TAP device name (made beforehand, so that
// record.sh can configure it before this starts).
func openTun(name string, tap bool) int {
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	check(err)
	var ifr [40]byte
	copy(ifr[:15], name)
	flags := uint16(iffTun | iffNoPi)
	if tap {
		flags = iffTap | iffNoPi
	}
	binary.NativeEndian.PutUint16(ifr[16:], flags)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&ifr[0]))); e != 0 {
		log.Fatalf("TUNSETIFF %s: %v", name, e)
	}
	return fd
}

type tag struct {
	tpid uint16
	vid  uint16
}

func parseTags(s string) []tag {
	var ts []tag
	for _, f := range strings.Split(s, ",") {
		p, v, ok := strings.Cut(f, ":")
		tpid, err1 := strconv.ParseUint(p, 16, 16)
		vid, err2 := strconv.ParseUint(v, 10, 12)
		if !ok || err1 != nil || err2 != nil || (tpid != 0x8100 && tpid != 0x88a8) || vid == 0 {
			log.Fatalf("bad -tags %q", s)
		}
		ts = append(ts, tag{uint16(tpid), uint16(vid)})
	}
	return ts
}

// errSkip: a packet the underlay does not carry (IPv6 over ipip).
var errSkip = errors.New("not carried")

// An underlay sends one inner packet (or frame) and receives the next one.
type underlay struct {
	send func(inner []byte) error
	recv func(buf []byte) ([]byte, error) // the inner packet, in buf; nil to skip
}

func ipOf(s string) net.IP {
	ip := net.ParseIP(s)
	if ip == nil {
		log.Fatalf("bad address %q", s)
	}
	return ip
}

// rawUnderlay: inner packets behind hdr (built per packet) in IP protocol
// proto, to and from remote only.
func rawUnderlay(proto int, six bool, hdr func(inner []byte) ([]byte, bool), strip func(p []byte) []byte) underlay {
	local, remote := ipOf(*encapLocal), ipOf(*encapRemote)
	family := syscall.AF_INET
	if six {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, proto)
	check(err)
	check(syscall.Bind(fd, sockaddrOf(local, six)))
	to := sockaddrOf(remote, six)
	check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 8<<20))
	check(syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, 8<<20))
	out := make([]byte, 1<<16)
	return underlay{
		send: func(inner []byte) error {
			h, ok := hdr(inner)
			if !ok {
				return errSkip
			}
			n := copy(out, h)
			n += copy(out[n:], inner)
			return syscall.Sendto(fd, out[:n], 0, to)
		},
		recv: func(buf []byte) ([]byte, error) {
			n, from, err := syscall.Recvfrom(fd, buf, 0)
			if err != nil {
				return nil, err
			}
			var src net.IP
			switch a := from.(type) {
			case *syscall.SockaddrInet4:
				src = a.Addr[:]
			case *syscall.SockaddrInet6:
				src = a.Addr[:]
			}
			if !src.Equal(remote) {
				return nil, nil
			}
			p := buf[:n]
			if !six { // an IPv4 raw socket receives the IP header too
				if len(p) < 20 || int(p[0]&0x0f)*4 > len(p) {
					return nil, nil
				}
				p = p[int(p[0]&0x0f)*4:]
			}
			return strip(p), nil
		},
	}
}

// greHeader: the 4-byte GRE header for an inner IPv4 or IPv6 packet.
func greHeader(inner []byte) ([]byte, bool) {
	if len(inner) == 0 {
		return nil, false
	}
	switch inner[0] >> 4 {
	case 4:
		return []byte{0, 0, 0x08, 0x00}, true
	case 6:
		return []byte{0, 0, 0x86, 0xdd}, true
	}
	return nil, false
}

// ipipHeader: none, for an inner IPv4 packet; anything else is not carried.
func ipipHeader(inner []byte) ([]byte, bool) {
	return nil, len(inner) > 0 && inner[0]>>4 == 4
}

// greStrip: the packet inside a GRE header with no optional fields.
func greStrip(p []byte) []byte {
	if len(p) < 4 || p[0] != 0 || p[1] != 0 {
		return nil // checksum, key, sequence number or another version
	}
	if pt := binary.BigEndian.Uint16(p[2:]); pt != 0x0800 && pt != 0x86dd {
		return nil
	}
	return p[4:]
}

func geneveUnderlay() underlay {
	local, remote := ipOf(*encapLocal), ipOf(*encapRemote)
	lc, err := net.ListenUDP("udp", &net.UDPAddr{IP: local, Port: genevePort})
	check(err)
	check(lc.SetReadBuffer(8 << 20))
	check(lc.SetWriteBuffer(8 << 20))
	ra := &net.UDPAddr{IP: remote, Port: genevePort}
	out := make([]byte, 1<<16)
	// Version 0, no options, O and C clear, protocol Transparent
	// Ethernet Bridging, VNI 42.
	hdr := []byte{0, 0, 0x65, 0x58, 0, 0, geneveVNI, 0}
	return underlay{
		send: func(inner []byte) error {
			n := copy(out, hdr)
			n += copy(out[n:], inner)
			_, err := lc.WriteToUDP(out[:n], ra)
			return err
		},
		recv: func(buf []byte) ([]byte, error) {
			n, from, err := lc.ReadFromUDP(buf)
			if err != nil {
				return nil, err
			}
			p := buf[:n]
			if !from.IP.Equal(remote) || len(p) < 8 || p[0]>>6 != 0 {
				return nil, nil
			}
			opt := int(p[0]&0x3f) * 4
			if binary.BigEndian.Uint16(p[2:]) != 0x6558 || 8+opt > len(p) {
				return nil, nil
			}
			return p[8+opt:], nil
		},
	}
}

// vlanUnderlay: frames on the underlay interface with tags inserted after
// the MAC addresses; received frames lose every tag still in them (the
// outer one is usually in the packet's metadata already, and the socket
// does not see it).
func vlanUnderlay() underlay {
	fd := openLink(*encapUnder)
	tags := parseTags(*encapTags)
	out := make([]byte, 1<<16)
	return underlay{
		send: func(f []byte) error {
			if len(f) < 14 {
				return nil
			}
			n := copy(out, f[:12])
			for _, t := range tags {
				binary.BigEndian.PutUint16(out[n:], t.tpid)
				binary.BigEndian.PutUint16(out[n+2:], t.vid)
				n += 4
			}
			n += copy(out[n:], f[12:])
			_, err := syscall.Write(fd, out[:n])
			return err
		},
		recv: func(buf []byte) ([]byte, error) {
			n, from, err := syscall.Recvfrom(fd, buf, 0)
			if err != nil {
				return nil, err
			}
			if ll, ok := from.(*syscall.SockaddrLinklayer); ok && ll.Pkttype == syscall.PACKET_OUTGOING {
				return nil, nil
			}
			f := buf[:n]
			for len(f) >= 18 {
				if tp := binary.BigEndian.Uint16(f[12:]); tp != 0x8100 && tp != 0x88a8 {
					break
				}
				copy(f[4:], f[:12])
				f = f[4:]
			}
			return f, nil
		},
	}
}

// encapForward carries packets between -dev and the underlay until SIGTERM,
// then logs how many went each way.
func encapForward() {
	if *encapDev == "" || *syncDir == "" {
		log.Fatal("usage: peer -role encap -sync DIR -encap KIND -dev DEV [-local A -remote B | -underlay IF -tags T]")
	}
	runtime.GOMAXPROCS(4)
	var u underlay
	tap := false
	switch *encapKind {
	case "gre":
		u = rawUnderlay(syscall.IPPROTO_GRE, false, greHeader, greStrip)
	case "ip6gre":
		u = rawUnderlay(syscall.IPPROTO_GRE, true, greHeader, greStrip)
	case "ipip":
		u = rawUnderlay(syscall.IPPROTO_IPIP, false, ipipHeader, func(p []byte) []byte { return p })
	case "geneve":
		u, tap = geneveUnderlay(), true
	case "vlan":
		u, tap = vlanUnderlay(), true
	default:
		log.Fatalf("unknown -encap %q", *encapKind)
	}
	dev := openTun(*encapDev, tap)
	var out, in, outErr, inErr, skipped atomic.Int64
	go func() { // from the stack, into the tunnel
		buf := make([]byte, 1<<16)
		for {
			n, err := syscall.Read(dev, buf)
			if err != nil {
				outErr.Add(1)
				log.Printf("read %s: %v", *encapDev, err)
				time.Sleep(time.Millisecond)
				continue
			}
			if err := u.send(buf[:n]); errors.Is(err, errSkip) {
				skipped.Add(1)
				continue
			} else if err != nil {
				outErr.Add(1)
				log.Printf("send %d bytes: %v", n, err)
				continue
			}
			out.Add(1)
		}
	}()
	go func() { // out of the tunnel, into the stack
		buf := make([]byte, 1<<16)
		for {
			p, err := u.recv(buf)
			if err != nil {
				inErr.Add(1)
				log.Printf("receive: %v", err)
				time.Sleep(time.Millisecond)
				continue
			}
			if p == nil {
				skipped.Add(1)
				continue
			}
			if _, err := syscall.Write(dev, p); err != nil {
				inErr.Add(1)
				log.Printf("write %d bytes to %s: %v", len(p), *encapDev, err)
				continue
			}
			in.Add(1)
		}
	}()
	log.Printf("%s: %s ⇄ %s", *encapKind, *encapDev, underlayName())
	mark("encap-" + *encapDev + "-ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	log.Printf("%s: %d packets into the tunnel (%d errors), %d out of it (%d errors), %d skipped",
		*encapDev, out.Load(), outErr.Load(), in.Load(), inErr.Load(), skipped.Load())
}

func underlayName() string {
	if *encapKind == "vlan" {
		return fmt.Sprintf("%s tagged %s", *encapUnder, *encapTags)
	}
	return *encapLocal + " → " + *encapRemote
}

// sockaddrOf is ip as an IPv6 socket address (six) or an IPv4 one.
func sockaddrOf(ip net.IP, six bool) syscall.Sockaddr {
	if six {
		var a syscall.SockaddrInet6
		copy(a.Addr[:], ip.To16())
		return &a
	}
	var a syscall.SockaddrInet4
	copy(a.Addr[:], ip.To4())
	return &a
}
