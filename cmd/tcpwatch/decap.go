package main

import (
	"github.com/spf13/pflag"

	"github.com/tcpwatch/tcpwatch/capture"
	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// decapConfig is what the command line says about tunnels and checksums.
type decapConfig struct {
	noDecap, mergeTunnels, noChecksums bool
	dec                                *capture.Decoder   // the reader's, once open
	more                               []*capture.Decoder // --fanout: the other readers' (fanout.go)
}

// addDecapFlags registers the tunnel and checksum flags.
func addDecapFlags(fs *pflag.FlagSet, c *decapConfig) {
	fs.BoolVar(&c.noDecap, "no-decap", false, "do not open tunnels (VXLAN, Geneve, GRE, ERSPAN, GTP-U, IP-in-IP, Teredo, AYIYA): their packets count as not TCP")
	fs.BoolVar(&c.mergeTunnels, "merge-tunnels", false, "open tunnels but ignore their context: the same 4-tuple in different tunnels is one connection")
	fs.BoolVar(&c.noChecksums, "no-checksums", false, "do not verify IPv4 and TCP checksums: track segments whose checksum is wrong (as Zeek's -C)")
}

// useDecoder applies the flags to the reader's decoder, before its first
// packet, and keeps it for the report.
func (c *decapConfig) useDecoder(rd *capture.Reader) {
	c.dec = rd.Decoder()
	c.configure(rd)
}

// configure applies the flags to a reader's decoder before its first
// packet: a second reading (ladders, -w) decodes as the first did.
func (c *decapConfig) configure(rd *capture.Reader) {
	d := rd.Decoder()
	d.NoDecap, d.MergeTunnels, d.NoChecksums = c.noDecap, c.mergeTunnels, c.noChecksums
}

// tunnels is the report's lookup of tunnel contexts, nil before a reader.
func (c *decapConfig) tunnels() func(uint32) (tracker.Tunnel, bool) {
	if c.dec == nil {
		return nil
	}
	if len(c.more) > 0 {
		return c.anyTunnel
	}
	return c.dec.Tunnel
}

// decapInput adds the reassembly counts to the input's description.
func (c *decapConfig) decapInput(in *report.Input) {
	if c.dec == nil {
		return
	}
	st := c.fragmentStats()
	if st == (capture.FragmentStats{}) {
		return
	}
	if in.Decapsulation == nil {
		in.Decapsulation = &report.Decapsulation{}
	}
	in.Decapsulation.Fragments = report.Fragments{Reassembled: st.Reassembled, Overlaps: st.Overlaps, Incomplete: st.Incomplete, Oversize: st.Oversize}
}
