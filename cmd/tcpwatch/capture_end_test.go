package main

import (
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// asPcapng copies a pcap into a pcapng file whose interface statistics
// block (as dumpcap writes when it stops) says capture ended `after` the
// last packet and that the interface dropped `dropped` packets.
func asPcapng(t *testing.T, pcap string, after time.Duration, dropped uint64) string {
	t.Helper()
	ng, _ := toPcapng(t, pcap, func(last time.Time) pcapgo.NgInterfaceStatistics {
		return pcapgo.NgInterfaceStatistics{LastUpdate: last.Add(after), EndTime: last.Add(after),
			PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: dropped}
	})
	return writeFile(t, "x.pcapng", ng)
}

// TestCaptureEndFromInterfaceStatistics: a server stuck in CLOSE_WAIT for
// the 3 s the packets span is not flagged with --stuck 60s, but the same
// packets in a pcapng whose statistics say capture ran 90 s longer are: the
// clock runs to when capture stopped, and the interface's drops are counted.
func TestCaptureEndFromInterfaceStatistics(t *testing.T) {
	pcap := "../../testdata/pcaps/close-wait-stuck.pcap"
	stuck := func(args ...string) bool {
		rep := runJSON(t, append(args, "--stuck", "60s")...)
		return slices.ContainsFunc(rep.Anomalies, func(a report.Anomaly) bool { return a.Kind == tracker.CloseWaitStuck })
	}
	if stuck("-r", pcap) {
		t.Fatal("close_wait_stuck after 3 s of capture; want none")
	}
	ng := asPcapng(t, pcap, 90*time.Second, 7)
	if !stuck("-r", ng) {
		t.Error("no close_wait_stuck though capture ran 90 s after the FIN")
	}
	rep := runJSON(t, "-r", ng)
	if rep.Input.CaptureEnd == 0 || rep.Input.Dropped.Interface != 7 {
		t.Errorf("capture_end %v, dropped.interface %d; want set, 7", rep.Input.CaptureEnd, rep.Input.Dropped.Interface)
	}
}
