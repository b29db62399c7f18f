package degrade

import (
	"io"

	"github.com/tcpwatch/tcpwatch/capture"
)

// Load reads every packet of a capture file with the capture package's
// reader, as the command does (no filter). Non-TCP packets are kept: they
// move the capture's clock.
func Load(path string) ([]capture.Packet, error) {
	rd, err := capture.OpenFiles([]string{path}, "")
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	var pkts []capture.Packet
	for {
		var p capture.Packet
		err := rd.Next(&p)
		if err == io.EOF {
			return pkts, nil
		}
		if err != nil {
			return pkts, err
		}
		pkts = append(pkts, p)
	}
}
