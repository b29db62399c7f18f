package tracker

import "net/netip"

// ForgottenService counts the connections to one service (a server's
// address and port) that were forgotten beyond MaxKept, so that a rollup
// by service counts them too: in the state each side has (as
// ForgottenStates, a TIME_WAIT that ran out since as CLOSED), and their
// findings by kind.
type ForgottenService struct {
	Server   netip.AddrPort
	Conns    uint64
	States   [2][numStates]uint64
	Findings [numKinds]uint64
	// own counts, of these, the handshakes a SYN-flood finding summarizes
	// if their target is found under a flood (floodsOwn): when it is, by
	// the end of input, they leave these counts (settleForgottenFloods).
	own forgottenOwn
}

// forgottenOwn is what countForgotten counted of a service's forgotten
// handshakes of a possible flood.
type forgottenOwn struct {
	conns, unanswered, evicted uint64
	states                     [2][numStates]uint64
	findings                   [numKinds]uint64
}

// maxForgottenServices caps the services followed; connections forgotten
// to others are counted in the summary only.
const maxForgottenServices = 16384

// ForgottenServices returns the services of the connections forgotten
// beyond MaxKept, in no order, and how many such connections went to
// services beyond the cap.
func (t *Tracker) ForgottenServices() (svs []*ForgottenService, untracked uint64) {
	for _, sv := range t.forgottenSvc.m {
		svs = append(svs, sv)
	}
	return svs, t.forgottenSvc.untracked
}

// forgottenServices follows ForgottenService by service.
type forgottenServices struct {
	m         map[floodKey]*ForgottenService
	untracked uint64
}

// forgottenService returns the service of the connection of key k,
// made if create, nil beyond the cap.
func (t *Tracker) forgottenService(k *FlowKey, clientIsA, create bool) *ForgottenService {
	f := &t.forgottenSvc
	key := floodKeyOf(k, clientIsA)
	sv := f.m[key]
	if sv == nil && create {
		if len(f.m) >= maxForgottenServices {
			f.untracked++
			return nil
		}
		if f.m == nil {
			f.m = make(map[floodKey]*ForgottenService)
		}
		sv = &ForgottenService{Server: netip.AddrPortFrom(key.addr.IP(), key.port)}
		f.m[key] = sv
	}
	return sv
}

// forgetting is what countForgotten is told of a connection forgotten.
type forgetting struct {
	own     bool // a handshake a SYN flood's finding would summarize (floodsOwn)
	evicted bool // evicted from the flow table (counted in Embryonic, if own)
	other   bool // of the lowest rank (counted in ForgottenUnanswered)
}

// countForgotten counts a connection forgotten now in the state each side
// has (ForgottenStates), and in its service with its findings (found, by
// side).
func (t *Tracker) countForgotten(k *FlowKey, clientIsA bool, states [2]State, found [2]uint32, how forgetting) {
	own, other := how.own, how.other
	for s := range states {
		t.forgotten[s][states[s]]++
	}
	if other {
		t.evicted.ForgottenUnanswered++
	}
	sv := t.forgottenService(k, clientIsA, true)
	if sv == nil {
		return
	}
	sv.Conns++
	if own {
		sv.own.conns++
		if other {
			sv.own.unanswered++
		}
		if how.evicted {
			sv.own.evicted++
		}
	}
	for s := range states {
		sv.States[s][states[s]]++
		if own {
			sv.own.states[s][states[s]]++
		}
		for kind := Kind(1); kind < numKinds; kind++ {
			if found[s]&(1<<kind) != 0 {
				sv.Findings[kind]++
				if own {
					sv.own.findings[kind]++
				}
			}
		}
	}
}

// settleForgottenFloods takes out of the forgotten counts, at the end of
// input, the handshakes forgotten to a target found under a SYN flood
// since (a table and a store large enough would have kept them, and
// Finish dropped them then: the flood's finding summarizes them), and
// out of Embryonic those dropped waiting, and counts them as the flood's
// own.
func (t *Tracker) settleForgottenFloods() {
	if t.cfg.KeepFlood {
		return
	}
	for _, ft := range t.flood.order {
		if ft.anomaly != 0 {
			t.evicted.Embryonic -= ft.droppedWaiting // (settleEvictedSYNs)
			t.evicted.Flood += ft.droppedWaiting
			ft.droppedWaiting = 0
		}
	}
	for key, sv := range t.forgottenSvc.m {
		o := &sv.own
		if o.conns == 0 || !t.flood.floodedKey(key) {
			continue
		}
		for s := range o.states {
			for st, n := range o.states[s] {
				t.forgotten[s][st] -= n
				sv.States[s][st] -= n
			}
		}
		for kind, n := range o.findings {
			sv.Findings[kind] -= n
		}
		sv.Conns -= o.conns
		t.evicted.Forgotten -= o.conns
		t.evicted.ForgottenUnanswered -= o.unanswered
		t.evicted.Embryonic -= o.evicted // (keepEvictedEmbryo)
		t.evicted.Flood += o.conns
		if sv.Conns == 0 {
			delete(t.forgottenSvc.m, key)
		}
		*o = forgottenOwn{}
	}
}

// forgottenStep counts side s of a forgotten connection in state to
// instead of from.
func (t *Tracker) forgottenStep(k *FlowKey, clientIsA bool, s Side, from, to State) {
	t.forgotten[s][from]--
	t.forgotten[s][to]++
	if sv := t.forgottenService(k, clientIsA, false); sv != nil && sv.States[s][from] > 0 {
		sv.States[s][from]--
		sv.States[s][to]++
	}
}
