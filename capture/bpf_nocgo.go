//go:build !cgo

package capture

import "github.com/gopacket/gopacket/layers"

// compileBPF needs libpcap, which a build without cgo does not have.
func compileBPF(layers.LinkType, int, string) (bpfProgram, error) {
	return nil, ErrNoLibpcap
}
