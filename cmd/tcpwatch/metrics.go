package main

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/tcpwatch/tcpwatch/metrics"
	"github.com/tcpwatch/tcpwatch/report"
)

// addMetricsFlags registers --metrics.
func addMetricsFlags(fs *pflag.FlagSet, c *config) {
	fs.StringVar(&c.metrics, "metrics", "", "live: serve Prometheus metrics at http://`ADDR`/metrics ([HOST:]PORT; a bare port listens on 127.0.0.1 only)")
}

// checkMetricsFlags refuses --metrics where it cannot serve.
func checkMetricsFlags(c *config) error {
	if c.metrics == "" {
		return nil
	}
	if c.iface == "" {
		return errors.New("--metrics serves a live capture's counts: give -i IFACE")
	}
	_, err := metrics.ListenAddr(c.metrics)
	return err
}

// startMetrics starts serving /metrics if --metrics asks for it; the
// returned function stops it.
func (w *watch) startMetrics() (stop func(), err error) {
	if w.cfg.metrics == "" {
		return func() {}, nil
	}
	w.metrics = &metrics.Exporter{}
	w.publishMetrics(report.LiveStats{})
	srv, err := metrics.Listen(w.cfg.metrics, w.metrics)
	if err != nil {
		return nil, err
	}
	return func() { srv.Close() }, nil
}

// publishMetrics publishes the counts as they are now for the next scrape:
// the same state counts as the report's summary. It runs at the refresh
// interval, never per packet.
func (w *watch) publishMetrics(s report.LiveStats) {
	if w.metrics == nil {
		return
	}
	sum := report.Summarize(w.tr)
	w.metrics.Publish(&metrics.Snapshot{
		States: sum.States, Active: w.tr.Open(), Findings: sum.Anomalies,
		Packets: s.Packets, TCPPackets: s.TCPPackets, PayloadBytes: w.payload,
		KernelDrops: s.Dropped.Kernel, InterfaceDrops: s.Dropped.Interface,
		Evicted: w.tr.Evicted(), Flood: w.tr.FloodTargets(nil),
	})
}
