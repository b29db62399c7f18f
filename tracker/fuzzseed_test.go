package tracker_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tcpwatch/tcpwatch/tracker"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite testdata/fuzz/FuzzTracker from fuzzSeeds")

// seedSeg is one segment of a seed: between client 198.18.0.1:81 and
// server 198.18.0.2:80 (or, with v6, [fd00::1]:81 and [fd00::1]:80), with
// absolute sequence numbers.
type seedSeg struct {
	after    time.Duration // since the previous segment
	server   bool          // sent by the server
	flags    tracker.Flags
	seq, ack uint32
	payload  uint8
	win0     bool // advertise a zero window
	sweep    bool // a live sweep after it
}

const (
	cISN, sISN = 1000, 5000
	fS         = tracker.SYN
	fSA        = tracker.SYN | tracker.ACK
	fA         = tracker.ACK
	fPA        = tracker.PSH | tracker.ACK
	fFA        = tracker.FIN | tracker.ACK
	fRA        = tracker.RST | tracker.ACK
	fR         = tracker.RST
	ms         = time.Millisecond
)

// handshakeSeed opens a connection with ISNs c and s.
func handshakeSeed(c, s uint32) []seedSeg {
	return []seedSeg{
		{after: ms, flags: fS, seq: c},
		{after: ms, server: true, flags: fSA, seq: s, ack: c + 1},
		{after: ms, flags: fA, seq: c + 1, ack: s + 1},
	}
}

// exchangeSeed is a request of 10 bytes and a response of 20.
var exchangeSeed = []seedSeg{
	{after: ms, flags: fPA, seq: cISN + 1, ack: sISN + 1, payload: 10},
	{after: ms, server: true, flags: fPA, seq: sISN + 1, ack: cISN + 11, payload: 20},
	{after: ms, flags: fA, seq: cISN + 11, ack: sISN + 21},
}

func seed(parts ...[]seedSeg) []seedSeg {
	var out []seedSeg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

var (
	open         = seed(handshakeSeed(cISN, sISN), exchangeSeed)
	clientCloses = []seedSeg{{after: ms, flags: fFA, seq: cISN + 11, ack: sISN + 21}, {after: ms, server: true, flags: fFA, seq: sISN + 21, ack: cISN + 12}, {after: ms, flags: fA, seq: cISN + 12, ack: sISN + 22}}
	lostThirdACK = []seedSeg{{after: time.Second, server: true, flags: fSA, seq: sISN, ack: cISN + 1}, {after: ms, flags: fA, seq: cISN + 1, ack: sISN + 1}, {after: 2 * time.Second, server: true, flags: fSA, seq: sISN, ack: cISN + 1}, {after: ms, flags: fA, seq: cISN + 1, ack: sISN + 1}}
	synAckGiveUp = func() []seedSeg {
		var out []seedSeg
		for gap := time.Second; gap <= 16*time.Second; gap *= 2 {
			out = append(out, seedSeg{after: gap, server: true, flags: fSA, seq: sISN, ack: cISN + 1}, seedSeg{after: ms, flags: fA, seq: cISN + 1, ack: sISN + 1, sweep: true})
		}
		return out
	}()
)

// fuzzSeeds are the seed corpus of FuzzTracker, by file name.
var fuzzSeeds = map[string][]seedSeg{
	"handshake":                      handshakeSeed(cISN, sISN),
	"client-closes-first":            seed(open, clientCloses),
	"server-closes-first":            seed(open, []seedSeg{{after: ms, server: true, flags: fFA, seq: sISN + 21, ack: cISN + 11}, {after: ms, flags: fA, seq: cISN + 11, ack: sISN + 22}, {after: ms, flags: fFA, seq: cISN + 11, ack: sISN + 22}, {after: ms, server: true, flags: fA, seq: sISN + 22, ack: cISN + 12}}),
	"simultaneous-close":             seed(open, []seedSeg{{after: ms, flags: fFA, seq: cISN + 11, ack: sISN + 21}, {after: 10 * time.Microsecond, server: true, flags: fFA, seq: sISN + 21, ack: cISN + 11}, {after: ms, flags: fA, seq: cISN + 12, ack: sISN + 22}, {after: 10 * time.Microsecond, server: true, flags: fA, seq: sISN + 22, ack: cISN + 12}}),
	"refused":                        {{after: ms, flags: fS, seq: cISN}, {after: ms, server: true, flags: fRA, ack: cISN + 1}},
	"rst-abort":                      seed(open, []seedSeg{{after: ms, flags: fRA, seq: cISN + 11, ack: sISN + 21}}),
	"syn-retransmitted":              {{after: ms, flags: fS, seq: cISN}, {after: time.Second, flags: fS, seq: cISN}, {after: ms, server: true, flags: fSA, seq: sISN, ack: cISN + 1}, {after: ms, flags: fA, seq: cISN + 1, ack: sISN + 1}},
	"lost-third-ack":                 seed(handshakeSeed(cISN, sISN), lostThirdACK),
	"synack-give-up":                 seed(handshakeSeed(cISN, sISN), synAckGiveUp),
	"last-ack-black-hole":            seed(open, clientCloses, []seedSeg{{after: 208 * ms, server: true, flags: fFA, seq: sISN + 21, ack: cISN + 12}, {after: ms, flags: fA, seq: cISN + 12, ack: sISN + 22}, {after: 400 * ms, server: true, flags: fFA, seq: sISN + 21, ack: cISN + 12}, {after: ms, flags: fA, seq: cISN + 12, ack: sISN + 22}}),
	"data-into-silence":              seed(open, []seedSeg{{after: ms, flags: fPA, seq: cISN + 11, ack: sISN + 21, payload: 5}, {after: 208 * ms, flags: fPA, seq: cISN + 11, ack: sISN + 21, payload: 5}, {after: 400 * ms, flags: fPA, seq: cISN + 11, ack: sISN + 21, payload: 5}, {after: 800 * ms, flags: fPA, seq: cISN + 11, ack: sISN + 21, payload: 5}}),
	"port-reuse":                     seed(open, clientCloses, []seedSeg{{after: time.Second, flags: fS, seq: 900000}, {after: ms, server: true, flags: fSA, seq: 300000, ack: 900001}, {after: ms, flags: fA, seq: 900001, ack: 300001}}),
	"new-isn-syn-on-live-connection": seed(open, []seedSeg{{after: time.Second, flags: fS, seq: 777777}, {after: ms, server: true, flags: fA, seq: sISN + 21, ack: cISN + 11}, {after: ms, flags: fR, seq: cISN + 11}, {after: time.Second, flags: fS, seq: 777777}, {after: ms, server: true, flags: fSA, seq: 90000, ack: 777778}, {after: ms, flags: fA, seq: 777778, ack: 90001}}),
	"midstream-keepalive":            {{after: ms, flags: fPA, seq: cISN + 50, ack: sISN + 70, payload: 10}, {after: ms, server: true, flags: fA, seq: sISN + 70, ack: cISN + 60}, {after: 10 * time.Second, flags: fA, seq: cISN + 59, ack: sISN + 70}, {after: ms, server: true, flags: fA, seq: sISN + 70, ack: cISN + 60}},
	"zero-window":                    seed(open, []seedSeg{{after: ms, server: true, flags: fA, seq: sISN + 21, ack: cISN + 11, win0: true}, {after: 3 * time.Second, flags: fA, seq: cISN + 10, ack: sISN + 21}, {after: ms, server: true, flags: fA, seq: sISN + 21, ack: cISN + 11, win0: true, sweep: true}, {after: 3 * time.Second, server: true, flags: fA, seq: sISN + 21, ack: cISN + 11}}),
	"isn-wrap-v6":                    nil, // set in init: v6 endpoints, ISNs across 2^32
}

// v6Seeds are the seeds played between IPv6 endpoints.
var v6Seeds = map[string]bool{"isn-wrap-v6": true}

// isnWrap runs a connection with ISNs just below 2^32 and 2^31, so that
// its sequence numbers wrap.
func isnWrap() []seedSeg {
	c, s := uint32(0xFFFFFFFE), uint32(0x7FFFFFFF)
	return seed(handshakeSeed(c, s), []seedSeg{
		{after: ms, flags: fPA, seq: c + 1, ack: s + 1, payload: 10},
		{after: ms, server: true, flags: fFA, seq: s + 1, ack: c + 11},
		{after: ms, flags: fFA, seq: c + 11, ack: s + 2},
		{after: ms, server: true, flags: fA, seq: s + 2, ack: c + 12},
	})
}

// encodeSeed encodes a seed in FuzzTracker's record format.
func encodeSeed(segs []seedSeg, v6 bool) ([]byte, error) {
	var out []byte
	for i, sg := range segs {
		t, err := encodeAfter(sg.after)
		if err != nil {
			return nil, fmt.Errorf("segment %d: %w", i+1, err)
		}
		src, dst := byte(0), byte(1)
		if v6 {
			src, dst = 3, 3
		}
		ends := src | dst<<2 | 1<<4 // client port 81, server port 80
		if sg.server {
			ends = dst | src<<2 | 1<<5
		}
		if sg.sweep {
			ends |= 1 << 6
		}
		r := make([]byte, recordLen)
		r[0], r[1], r[2], r[3] = t, ends, byte(sg.flags), 15 // no window scale
		if sg.flags&tracker.SYN != 0 {
			r[3] = 7
		}
		binary.BigEndian.PutUint32(r[4:], sg.seq)
		binary.BigEndian.PutUint32(r[8:], sg.ack)
		r[12] = sg.payload & 0x3f
		if !sg.win0 {
			r[12] |= 1 << 6 // window 1000
		}
		out = append(out, r...)
	}
	return out, nil
}

// encodeAfter encodes a gap exactly in the record's time byte.
func encodeAfter(d time.Duration) (byte, error) {
	for u, unit := range timeUnits {
		if n := int64(d) / unit; int64(d)%unit == 0 && n < 64 {
			return byte(u)<<6 | byte(n), nil
		}
	}
	return 0, fmt.Errorf("gap %v cannot be encoded", d)
}

// TestFuzzSeedCorpus checks that testdata/fuzz/FuzzTracker holds exactly
// the seeds of fuzzSeeds (go test -run TestFuzzSeedCorpus -update-seeds
// rewrites it), and that each seed decodes to the segments it describes.
func TestFuzzSeedCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzTracker")
	for name, segs := range fuzzSeeds {
		b, err := encodeSeed(segs, v6Seeds[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		checkDecodes(t, name, b, segs)
		want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
		path := filepath.Join(dir, name)
		if *updateSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != want {
			t.Errorf("%s is not the seed fuzzSeeds describes (%v); run go test -run TestFuzzSeedCorpus -update-seeds ./tracker/", path, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		if _, ok := fuzzSeeds[filepath.Base(f)]; !ok {
			t.Errorf("%s is in the corpus but not in fuzzSeeds", f)
		}
	}
}

// checkDecodes checks that an encoded seed decodes to its segments.
func checkDecodes(t *testing.T, name string, b []byte, segs []seedSeg) {
	t.Helper()
	now := fuzzStart
	for i, sg := range segs {
		seg, sweep := fuzzSegment(b[i*recordLen:(i+1)*recordLen], i, now)
		fromServer := seg.SrcPort == 80
		if seg.Time-now != int64(sg.after) || fromServer != sg.server || seg.Flags != sg.flags || uint32(seg.Seq) != sg.seq ||
			uint32(seg.Ack) != sg.ack || seg.Payload != uint32(sg.payload) || (seg.Window == 0) != sg.win0 || sweep != sg.sweep {
			t.Errorf("%s: segment %d decodes as %+v, not %+v", name, i+1, seg, sg)
		}
		now = seg.Time
	}
}
