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

// countForgotten counts a connection forgotten now in the state each side
// has (ForgottenStates), and in its service with its findings (found, by
// side).
func (t *Tracker) countForgotten(k *FlowKey, clientIsA bool, states [2]State, found [2]uint32) {
	for s := range states {
		t.forgotten[s][states[s]]++
	}
	sv := t.forgottenService(k, clientIsA, true)
	if sv == nil {
		return
	}
	sv.Conns++
	for s := range states {
		sv.States[s][states[s]]++
		for kind := Kind(1); kind < numKinds; kind++ {
			if found[s]&(1<<kind) != 0 {
				sv.Findings[kind]++
			}
		}
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
