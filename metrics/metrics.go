// Package metrics serves tcpwatch's counts to Prometheus: connections by
// side and state, findings by kind and severity, packets, payload bytes,
// drops, evictions, and the SYN-flood detector's counts per target.
//
// The capture loop publishes a [Snapshot] now and then (at the live
// refresh interval); the collector reads the latest one, published
// atomically, when Prometheus scrapes. Nothing is locked or counted on the
// packet path, and a slow or frequent scraper never slows the capture.
//
// Label cardinality is bounded: states and kinds are fixed sets, and only
// the TopTargets targets with the most unanswered SYNs are named; the
// others are summed under target="other".
package metrics

import (
	"cmp"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tcpwatch/tcpwatch/report"
	"github.com/tcpwatch/tcpwatch/tracker"
)

// TopTargets is how many SYN-flood targets are named in the labels.
const TopTargets = 10

// OtherTarget is the target label of the sum over the targets not named.
const OtherTarget = "other"

// Snapshot is the counts at one moment.
type Snapshot struct {
	States         report.StateCounts   // connections seen, by side and state (the report's summary)
	Active         int                  // connections in the flow table
	Findings       map[tracker.Kind]int // findings made, by kind
	Packets        uint64               // packets read
	TCPPackets     uint64               // of which TCP
	PayloadBytes   uint64               // TCP payload bytes
	KernelDrops    uint64               // packets the kernel dropped (libpcap's ps_drop)
	InterfaceDrops uint64               // packets the interface dropped (ps_ifdrop)
	Evicted        tracker.Evictions
	Flood          []tracker.FloodTarget
}

// Exporter is a prometheus.Collector of the latest published snapshot.
type Exporter struct {
	snap atomic.Pointer[Snapshot]
}

var (
	descConns    = prometheus.NewDesc("tcpwatch_connections", "Connections seen (kept for the report), by side and its current RFC 793 state.", []string{"side", "state"}, nil)
	descActive   = prometheus.NewDesc("tcpwatch_connections_active", "Connections in the flow table (followed now).", nil, nil)
	descFindings = prometheus.NewDesc("tcpwatch_findings_total", "Findings made, by anomaly kind and severity.", []string{"kind", "severity"}, nil)
	descPackets  = prometheus.NewDesc("tcpwatch_packets_total", "Packets read.", nil, nil)
	descTCP      = prometheus.NewDesc("tcpwatch_tcp_packets_total", "TCP packets read.", nil, nil)
	descBytes    = prometheus.NewDesc("tcpwatch_tcp_payload_bytes_total", "TCP payload bytes read (from the IP header's lengths).", nil, nil)
	descDrops    = prometheus.NewDesc("tcpwatch_dropped_packets_total", "Packets the capture lost, by where (kernel: libpcap's ps_drop; interface: ps_ifdrop).", []string{"where"}, nil)
	descEvicted  = prometheus.NewDesc("tcpwatch_evictions_total", "Connections dropped to keep memory bounded, by reason.", []string{"reason"}, nil)
	descSYN      = prometheus.NewDesc("tcpwatch_syn_unanswered_total", "SYNs that never completed the handshake, by target (the top targets; the rest as target=\"other\"); rate() of it is the SYN-flood rate.", []string{"target"}, nil)
	descHalfOpen = prometheus.NewDesc("tcpwatch_syn_half_open", "Connections opened by a SYN and not completed yet, by target.", []string{"target"}, nil)
	descFlooded  = prometheus.NewDesc("tcpwatch_syn_flood", "1 if a syn_flood finding was made for the target (for other: for any of them).", []string{"target"}, nil)
)

// Publish makes s the snapshot the next scrape reads. s must not change
// afterwards.
func (e *Exporter) Publish(s *Snapshot) { e.snap.Store(s) }

// Describe implements prometheus.Collector.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConns, descActive, descFindings, descPackets, descTCP, descBytes, descDrops,
		descEvicted, descSYN, descHalfOpen, descFlooded} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	s := e.snap.Load()
	if s == nil {
		s = &Snapshot{}
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	for _, st := range tracker.States() {
		gauge(descConns, float64(s.States.Client[st]), "client", st.String())
		gauge(descConns, float64(s.States.Server[st]), "server", st.String())
	}
	gauge(descActive, float64(s.Active))
	for _, k := range tracker.Kinds() {
		counter(descFindings, float64(s.Findings[k]), k.String(), k.Severity().String())
	}
	counter(descPackets, float64(s.Packets))
	counter(descTCP, float64(s.TCPPackets))
	counter(descBytes, float64(s.PayloadBytes))
	counter(descDrops, float64(s.KernelDrops), "kernel")
	counter(descDrops, float64(s.InterfaceDrops), "interface")
	for _, r := range report.EvictedOf(s.Evicted).Counts() {
		counter(descEvicted, float64(r.N), r.Reason)
	}
	for _, t := range topTargets(s.Flood, TopTargets) {
		counter(descSYN, float64(t.Unanswered), t.name)
		gauge(descHalfOpen, float64(t.HalfOpen), t.name)
		flooded := 0.0
		if t.Flooded {
			flooded = 1
		}
		gauge(descFlooded, flooded, t.name)
	}
}

type namedTarget struct {
	tracker.FloodTarget
	name string
}

// topTargets returns the n targets with the most unanswered SYNs (then by
// address), and the sum of the rest as OtherTarget when there are more.
func topTargets(ts []tracker.FloodTarget, n int) []namedTarget {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b tracker.FloodTarget) int {
		return cmp.Or(cmp.Compare(b.Unanswered, a.Unanswered), cmp.Compare(b.HalfOpen, a.HalfOpen), a.Target.Compare(b.Target))
	})
	out := make([]namedTarget, 0, min(len(ts), n+1))
	for i, t := range ts {
		if i < n {
			out = append(out, namedTarget{t, t.Target.String()})
			continue
		}
		if i == n {
			out = append(out, namedTarget{name: OtherTarget})
		}
		o := &out[n]
		o.Unanswered += t.Unanswered
		o.HalfOpen += t.HalfOpen
		o.Flooded = o.Flooded || t.Flooded
	}
	return out
}
