package capture

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// An AF_PACKET TPACKET_V3 ring (packet(7)) delivers packets in blocks the
// kernel fills and hands over whole, when full or ringBlockTimeout after
// its first packet: one wake-up per block rather than per packet, and
// packets packed tightly whatever the snapshot length. The filter and the
// snapshot length are one classic BPF program run in the kernel (libpcap's
// program when there is a filter, whose accept returns the snapshot
// length), so what is not wanted is never copied.

// ringBlockTimeout bounds how long a packet waits in a block that is not
// full: the latency the live view and the ndjson stream see.
const ringBlockTimeout = 10 * time.Millisecond

// ringHandle reads one ring.
type ringHandle struct {
	tp *afpacket.TPacket
	// Packets stamped before the ring was ready (its filter set, its
	// fanout group joined) are skipped, so that none is seen unfiltered
	// or twice: until is when it was ready, 0 once a later packet came.
	until int64
}

func ringCandidate(iface string, _ LiveOptions) bool { return iface != "any" }

// ringRefused is the error for a ring that was required where none can be
// opened.
func ringRefused(iface string, o LiveOptions) error {
	if o.Engine == EngineLibpcap {
		return liveError(iface, errors.New("several fanout sockets need an AF_PACKET ring, not libpcap"))
	}
	return liveError(iface, errors.New("an AF_PACKET ring captures one interface: -i any needs libpcap"))
}

// ringFinal reports whether an error opening a ring is final (libpcap
// would fail the same way, or there is no libpcap to try).
func ringFinal(err error) bool {
	return !haveLibpcap || errors.Is(err, ErrPermission) || errors.Is(err, ErrInterfaceDown) ||
		errors.Is(err, ErrBadFilter)
}

// fanoutGroups numbers the fanout groups this process opens; a group's ID
// is unique in the network namespace, so it is derived from the PID too.
var fanoutGroups atomic.Uint32

// openRings opens n rings on iface, joined in one PACKET_FANOUT_HASH group
// when n > 1, and returns a Reader for each.
func openRings(iface string, n int, o LiveOptions) ([]*Reader, error) {
	if err := checkRingInterface(iface); err != nil {
		return nil, liveError(iface, err)
	}
	prog, err := ringProgram(iface, o)
	if err != nil {
		return nil, err
	}
	group := uint16(os.Getpid()) + uint16(fanoutGroups.Add(1))*0x9e37
	hs := make([]*ringHandle, 0, n)
	for range n {
		h, err := openRing(iface, o, prog, n, group)
		if err != nil {
			for _, h := range hs {
				h.close()
			}
			return nil, liveError(iface, err)
		}
		hs = append(hs, h)
	}
	ready := time.Now().UnixNano()
	rs := make([]*Reader, n)
	for i, h := range hs {
		h.until = ready
		rs[i] = newLiveReader(iface, h, layers.LinkTypeEthernet, EngineRing)
	}
	return rs, nil
}

// openRing opens one ring with its program, and joins the fanout group
// when there are several.
func openRing(iface string, o LiveOptions, prog []bpf.RawInstruction, n int, group uint16) (*ringHandle, error) {
	block, blocks := ringLayout(o.BufferSize, o.Snaplen)
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(iface),
		afpacket.OptTPacketVersion(afpacket.TPacketVersion3),
		afpacket.OptFrameSize(4096),
		afpacket.OptBlockSize(block),
		afpacket.OptNumBlocks(blocks),
		afpacket.OptBlockTimeout(ringBlockTimeout),
		afpacket.OptPollTimeout(o.Timeout),
		afpacket.OptAddVLANHeader(true), // as libpcap does: the tag the kernel stripped
	)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w; %s", ErrPermission, permissionHint)
		}
		return nil, fmt.Errorf("%w: AF_PACKET ring: %v", errActivateFallback, err)
	}
	h := &ringHandle{tp: tp}
	steps := []struct {
		what string
		do   func() error
	}{
		{"set the filter", func() error { return tp.SetBPF(prog) }},
		{"join fanout group", func() error {
			if n == 1 {
				return nil
			}
			return tp.SetFanout(afpacket.FanoutHash, group)
		}},
		{"set promiscuous mode", func() error {
			if !o.Promisc {
				return nil
			}
			return tp.SetPromiscuous(true)
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			tp.Close()
			return nil, fmt.Errorf("%w: AF_PACKET ring: %s: %v", errActivateFallback, s.what, err)
		}
	}
	return h, nil
}

// ringLayout sizes a ring of about bufSize bytes: blocks of 1 MiB (smaller
// for a small buffer, so that there are at least 8, but never smaller than
// a packet of snaplen bytes up to 4 MiB), at least 2 of them.
func ringLayout(bufSize, snaplen int) (block, blocks int) {
	block = 1 << 20
	for block > 64<<10 && bufSize/block < 8 {
		block >>= 1
	}
	for block < min(snaplen+512, 4<<20) {
		block <<= 1
	}
	return block, max(bufSize/block, 2)
}

// checkRingInterface checks that iface exists, is up and carries Ethernet
// frames (loopback included), the one link type a ring is opened for.
func checkRingInterface(iface string) error {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return noInterface(interfaceNames())
	}
	if ifi.Flags&net.FlagUp == 0 {
		return interfaceDown(iface)
	}
	hw, err := hardwareType(iface)
	if err != nil {
		return fmt.Errorf("%w: %v", errActivateFallback, err)
	}
	if hw != unix.ARPHRD_ETHER && hw != unix.ARPHRD_LOOPBACK {
		if !haveLibpcap {
			return fmt.Errorf("hardware type %d is not Ethernet: only libpcap captures it, and %w", hw, ErrNoLibpcap)
		}
		return fmt.Errorf("%w: hardware type %d is not Ethernet: an AF_PACKET ring reads only Ethernet and loopback", errActivateFallback, hw)
	}
	return nil
}

// hardwareType is the interface's ARPHRD_ type (SIOCGIFHWADDR).
func hardwareType(iface string) (uint16, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(iface)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, fmt.Errorf("hardware type: %w", err)
	}
	return ifr.Uint16(), nil
}

// interfaceNames lists the interfaces there are, for an error.
func interfaceNames() []string {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(ifs))
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names
}

// ringProgram is the kernel program: filterProgram's, on a loopback
// interface after skipOutgoing.
func ringProgram(iface string, o LiveOptions) ([]bpf.RawInstruction, error) {
	prog, err := filterProgram(iface, o)
	if err != nil {
		return nil, err
	}
	if ifi, err := net.InterfaceByName(iface); err == nil && ifi.Flags&net.FlagLoopback != 0 {
		prog = append(skipOutgoing(), prog...)
	}
	return prog, nil
}

// skipOutgoing starts the program of a loopback interface: a packet sent
// there reaches a packet socket twice, as it leaves (PACKET_OUTGOING) and
// as it arrives; the first copy is dropped, as libpcap drops it.
func skipOutgoing() []bpf.RawInstruction {
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.PACKET_OUTGOING, SkipFalse: 1},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		panic(err)
	}
	return prog
}

// filterProgram is the filter compiled by libpcap for Ethernet with the
// snapshot length, or, without a filter, one that keeps the first snaplen
// bytes of every packet.
func filterProgram(iface string, o LiveOptions) ([]bpf.RawInstruction, error) {
	if o.Filter == "" {
		return []bpf.RawInstruction{{Op: bpfRET | bpfK, K: uint32(o.Snaplen)}}, nil
	}
	// NewFilter reports the errors as a file's filter does (and, without
	// cgo, that a filter needs libpcap).
	if _, err := NewFilter(o.Filter, layers.LinkTypeEthernet); err != nil {
		if forLinkType(err) || errors.Is(err, ErrNoLibpcap) {
			return nil, liveError(iface, err)
		}
		return nil, err
	}
	prog, err := compileBPF(layers.LinkTypeEthernet, o.Snaplen, o.Filter)
	if err != nil {
		return nil, liveError(iface, &filterError{expr: o.Filter, lt: layers.LinkTypeEthernet, forType: true, err: err})
	}
	raw := make([]bpf.RawInstruction, len(prog))
	for i, in := range prog {
		raw[i] = bpf.RawInstruction{Op: in.code, Jt: in.jt, Jf: in.jf, K: in.k}
	}
	return raw, nil
}

// staleWindow bounds how far before the ring was ready a skipped packet may
// be stamped: a clock that is not the wall clock skips nothing.
const staleWindow = int64(5 * time.Second)

func (h *ringHandle) readPacket() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	for {
		data, ci, err := h.tp.ZeroCopyReadPacketData()
		switch {
		case err == afpacket.ErrTimeout:
			return nil, ci, layers.LinkTypeEthernet, ErrTimeout
		case err != nil:
			return nil, ci, layers.LinkTypeEthernet, fmt.Errorf("capture stopped: %v", err)
		}
		if h.until != 0 {
			if t := ci.Timestamp.UnixNano(); t < h.until && t > h.until-staleWindow {
				continue
			}
			h.until = 0
		}
		return data, ci, layers.LinkTypeEthernet, nil
	}
}

func (h *ringHandle) close() error {
	h.tp.Close()
	return nil
}

// counters reads the ring's PACKET_STATISTICS (which the kernel resets on
// each read; afpacket sums them).
func (h *ringHandle) counters() (LiveStats, bool) {
	_, v3, err := h.tp.SocketStats()
	if err != nil {
		return LiveStats{}, false
	}
	return LiveStats{Received: uint64(v3.Packets()), Dropped: uint64(v3.Drops())}, true
}
