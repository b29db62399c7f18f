package tracker

import (
	"fmt"
	"net/netip"
	"time"
)

// linuxEphemeralPorts is the size of Linux's default ephemeral port range,
// net.ipv4.ip_local_port_range 32768–60999: the local ports one host has
// for its connections to one service (one remote address and port).
const linuxEphemeralPorts = 60999 - 32768 + 1

// twKey is a client host and a service it connects to.
type twKey struct {
	host, addr Addr
	port       uint16
}

// twPair counts the TIME_WAIT sockets one client host holds towards one
// service: each is a local port the host cannot use for that service again
// until 2×MSL has passed (Linux's tcp_tw_reuse helps only outgoing
// connections that carry timestamps). Plain counts, so that two trackers'
// pairs add up.
type twPair struct {
	count, peak int   // TIME_WAITs held now, and at most
	entered     int   // connections that entered TIME_WAIT
	first, last int64 // the first and latest of them
	crossed     int64 // when count first exceeded the limit; 0: never
	anomaly     int   // index+1 of its finding in Tracker.anomalies; 0: none, -1: not kept
}

// twBuildup follows the TIME_WAIT build-up of every client host towards
// every service. The number of pairs followed at once is capped (pairs
// with no TIME_WAIT and no finding are let go); TIME_WAITs of pairs beyond
// the cap are counted, not followed.
type twBuildup struct {
	pairs     map[twKey]*twPair
	found     []twKey // pairs with a finding, in the order found
	untracked uint64
}

const maxTimeWaitPairs = 16384

// twKeyOf returns the pair of a connection whose client holds TIME_WAIT.
func twKeyOf(c *Conn) twKey { return twKeyFor(&c.Key, c.clientIsA) }

// twKeyFor is twKeyOf for a connection's key and roles.
func twKeyFor(key *FlowKey, clientIsA bool) twKey {
	k := twKey{host: key.A, addr: key.B, port: key.BPort}
	if !clientIsA {
		k = twKey{host: key.B, addr: key.A, port: key.APort}
	}
	return k
}

// twCount: the client of c entered TIME_WAIT at (enter), or left it.
func (t *Tracker) twCount(c *Conn, at int64, enter bool) { t.twCountKey(twKeyOf(c), at, enter) }

// twCountKey: a client of k entered TIME_WAIT at (enter), or left it.
func (t *Tracker) twCountKey(k twKey, at int64, enter bool) {
	if enter {
		t.twEnterKey(k, at)
	} else {
		t.twLeaveKey(k)
	}
}

// twEnter: the client of c entered TIME_WAIT at.
func (t *Tracker) twEnter(c *Conn, at int64) { t.twEnterKey(twKeyOf(c), at) }

// twEnterKey: a client of k entered TIME_WAIT at.
func (t *Tracker) twEnterKey(k twKey, at int64) {
	w := &t.tw
	if w.pairs == nil {
		w.pairs = make(map[twKey]*twPair)
	}
	p := w.pairs[k]
	if p == nil {
		if len(w.pairs) >= maxTimeWaitPairs {
			w.untracked++
			return
		}
		p = new(twPair)
		w.pairs[k] = p
	}
	if p.entered == 0 {
		p.first = at
	}
	p.count++
	p.entered++
	p.last = at
	p.peak = max(p.peak, p.count)
	if p.count > t.th.TimeWaitLimit && p.crossed == 0 {
		p.crossed = at
		p.anomaly = t.emitTarget(Anomaly{Kind: TimeWaitBuildup, Target: k.service(), Time: at, Detail: p.detail(k, t), Fields: p.fields(k, t)})
		w.found = append(w.found, k)
	}
}

// twLeave: the client of c left TIME_WAIT (it expired, the 4-tuple was
// reused, or the connection left the table).
func (t *Tracker) twLeave(c *Conn) { t.twLeaveKey(twKeyOf(c)) }

// twLeaveKey: a client of k left TIME_WAIT.
func (t *Tracker) twLeaveKey(k twKey) {
	p := t.tw.pairs[k]
	if p == nil || p.count == 0 {
		return
	}
	p.count--
	if p.count == 0 && p.crossed == 0 {
		delete(t.tw.pairs, k)
	}
}

// twRefresh brings the findings' sentences up to date (end of input).
func (t *Tracker) twRefresh() {
	for _, k := range t.tw.found {
		if p := t.tw.pairs[k]; p != nil && p.anomaly > 0 {
			a := &t.anomalies[p.anomaly-1]
			a.Detail, a.Fields = p.detail(k, t), p.fields(k, t)
		}
	}
}

func (k twKey) service() netip.AddrPort { return netip.AddrPortFrom(k.addr.IP(), k.port) }

// rate is the pair's rate of new connections (entering TIME_WAIT), per
// second, to one decimal; 0 with fewer than two.
func (p *twPair) rate() float64 {
	if p.entered < 2 || p.last <= p.first {
		return 0
	}
	return float64(p.entered-1) / time.Duration(p.last-p.first).Seconds() // (sentences round it: groupedTenths)
}

// steady is how many TIME_WAITs the rate would hold at once: rate × 2×MSL.
func (p *twPair) steady(t *Tracker) int {
	return int(p.rate() * time.Duration(t.twLen).Seconds())
}

func (p *twPair) detail(k twKey, t *Tracker) string {
	g := Grouped[int]
	return fmt.Sprintf("client %s holds %s connections to %s in TIME_WAIT (peak %s, more than %s): %s closed at %s/s, "+
		"which would hold about %s at once over 2×MSL, of the %s ephemeral ports Linux gives one host for one service by default; "+
		"reuse connections (keep-alive, a connection pool) instead of opening one per request",
		k.host.IP(), g(p.count), k.service(), g(p.peak), g(t.th.TimeWaitLimit), g(p.entered), groupedTenths(p.rate()), g(p.steady(t)), g(linuxEphemeralPorts))
}

func (p *twPair) fields(k twKey, t *Tracker) map[string]any {
	return map[string]any{
		"host":            k.host.IP().String(),
		"count":           p.count,
		"peak":            p.peak,
		"limit":           t.th.TimeWaitLimit,
		"new_connections": p.entered,
		"rate":            p.rate(),
		"steady_state":    p.steady(t),
		"ephemeral_ports": linuxEphemeralPorts,
	}
}
