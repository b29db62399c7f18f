//go:build cgo

package capture

import (
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
)

// compileBPF compiles expr with libpcap (pcap_compile, as tcpdump does) for
// the DLT_ value lt and the snapshot length snaplen.
func compileBPF(lt layers.LinkType, snaplen int, expr string) (bpfProgram, error) {
	insns, err := pcap.CompileBPFFilter(lt, snaplen, expr)
	if err != nil {
		return nil, err
	}
	prog := make(bpfProgram, len(insns))
	for i, in := range insns {
		prog[i] = bpfInsn{code: in.Code, jt: in.Jt, jf: in.Jf, k: in.K}
	}
	return prog, nil
}
