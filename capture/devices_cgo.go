//go:build cgo

package capture

import (
	"fmt"

	"github.com/gopacket/gopacket/pcap"
)

// Interfaces lists the interfaces libpcap can capture on, in its order.
func Interfaces() ([]Interface, error) {
	devs, err := pcap.FindAllDevs()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Interface, len(devs))
	for i, d := range devs {
		out[i] = Interface{Name: d.Name, Description: d.Description, Flags: d.Flags}
	}
	return out, nil
}
