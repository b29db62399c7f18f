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
	ts       byte // record byte 3's bits 5-7: the timestamps option (fuzz_test.go)
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

// cl and sv make a segment from the client and from the server.
func cl(after time.Duration, f tracker.Flags, seq, ack uint32) seedSeg {
	return seedSeg{after: after, flags: f, seq: seq, ack: ack}
}

func sv(after time.Duration, f tracker.Flags, seq, ack uint32) seedSeg {
	return seedSeg{after: after, server: true, flags: f, seq: seq, ack: ack}
}

func (s seedSeg) data(n uint8) seedSeg { s.payload = n; return s }
func (s seedSeg) zeroWindow() seedSeg  { s.win0 = true; return s }
func (s seedSeg) sweepAfter() seedSeg  { s.sweep = true; return s }

// stamped gives the segment the timestamps option, its TSecr chosen by
// ecr (0 to 3, as fuzz_test.go reads it).
func (s seedSeg) stamped(ecr byte) seedSeg { s.ts = 1<<5 | ecr<<6; return s }

func seed(parts ...[]seedSeg) []seedSeg {
	var out []seedSeg
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// handshakeSeed opens a connection with ISNs c and s.
func handshakeSeed(c, s uint32) []seedSeg {
	return []seedSeg{cl(ms, fS, c, 0), sv(ms, fSA, s, c+1), cl(ms, fA, c+1, s+1)}
}

// open is a handshake, a request of 10 bytes and a response of 20.
var open = seed(handshakeSeed(cISN, sISN), []seedSeg{
	cl(ms, fPA, cISN+1, sISN+1).data(10),
	sv(ms, fPA, sISN+1, cISN+11).data(20),
	cl(ms, fA, cISN+11, sISN+21),
})

// clientCloses closes an open connection from the client's side.
var clientCloses = []seedSeg{
	cl(ms, fFA, cISN+11, sISN+21),
	sv(ms, fFA, sISN+21, cISN+12),
	cl(ms, fA, cISN+12, sISN+22),
}

// fuzzSeeds are the seed corpus of FuzzTracker, by file name.
var fuzzSeeds = map[string][]seedSeg{
	"handshake":           handshakeSeed(cISN, sISN),
	"client-closes-first": seed(open, clientCloses),
	"server-closes-first": seed(open, []seedSeg{
		sv(ms, fFA, sISN+21, cISN+11),
		cl(ms, fA, cISN+11, sISN+22),
		cl(ms, fFA, cISN+11, sISN+22),
		sv(ms, fA, sISN+22, cISN+12),
	}),
	"simultaneous-close": seed(open, []seedSeg{
		cl(ms, fFA, cISN+11, sISN+21),
		sv(10*time.Microsecond, fFA, sISN+21, cISN+11),
		cl(ms, fA, cISN+12, sISN+22),
		sv(10*time.Microsecond, fA, sISN+22, cISN+12),
	}),
	"refused": {cl(ms, fS, cISN, 0), sv(ms, fRA, 0, cISN+1)},
	// An ICMP error quoting the SYN (a record with every flag set: see
	// fuzz_test.go), then a SYN on another connection.
	"icmp-refused": {cl(ms, fS, cISN, 0), cl(300*time.Microsecond, 0xff, cISN, 0), cl(ms, fS, cISN+7777, 0)},
	// An RST forged into the handshake, its TSecr no timestamp the
	// client sent (dropped), then the real SYN-ACK.
	"paws-forged-rst": {cl(ms, fS, cISN, 0).stamped(0), sv(ms, fRA, 0, cISN+1).stamped(3),
		sv(ms, fSA, sISN, cISN+1).stamped(1), cl(ms, fA, cISN+1, sISN+1).stamped(1)},
	"rst-abort": seed(open, []seedSeg{cl(ms, fRA, cISN+11, sISN+21)}),
	"syn-retransmitted": {
		cl(ms, fS, cISN, 0),
		cl(time.Second, fS, cISN, 0),
		sv(ms, fSA, sISN, cISN+1),
		cl(ms, fA, cISN+1, sISN+1),
	},
	"lost-third-ack": seed(handshakeSeed(cISN, sISN), []seedSeg{
		sv(time.Second, fSA, sISN, cISN+1),
		cl(ms, fA, cISN+1, sISN+1),
		sv(2*time.Second, fSA, sISN, cISN+1),
		cl(ms, fA, cISN+1, sISN+1),
	}),
	"synack-give-up": seed(handshakeSeed(cISN, sISN), synAckRetries()),
	"last-ack-black-hole": seed(open, clientCloses, []seedSeg{
		sv(208*ms, fFA, sISN+21, cISN+12),
		cl(ms, fA, cISN+12, sISN+22),
		sv(400*ms, fFA, sISN+21, cISN+12),
		cl(ms, fA, cISN+12, sISN+22),
	}),
	"data-into-silence": seed(open, []seedSeg{
		cl(ms, fPA, cISN+11, sISN+21).data(5),
		cl(208*ms, fPA, cISN+11, sISN+21).data(5),
		cl(400*ms, fPA, cISN+11, sISN+21).data(5),
		cl(800*ms, fPA, cISN+11, sISN+21).data(5),
	}),
	"port-reuse": seed(open, clientCloses, []seedSeg{
		cl(time.Second, fS, 900000, 0),
		sv(ms, fSA, 300000, 900001),
		cl(ms, fA, 900001, 300001),
	}),
	"new-isn-syn-on-live-connection": seed(open, []seedSeg{
		cl(time.Second, fS, 777777, 0),
		sv(ms, fA, sISN+21, cISN+11), // challenge ACK
		cl(ms, fR, cISN+11, 0),
		cl(time.Second, fS, 777777, 0),
		sv(ms, fSA, 90000, 777778),
		cl(ms, fA, 777778, 90001),
	}),
	"midstream-keepalive": {
		cl(ms, fPA, cISN+50, sISN+70).data(10),
		sv(ms, fA, sISN+70, cISN+60),
		cl(10*time.Second, fA, cISN+59, sISN+70),
		sv(ms, fA, sISN+70, cISN+60),
	},
	"zero-window": seed(open, []seedSeg{
		sv(ms, fA, sISN+21, cISN+11).zeroWindow(),
		cl(3*time.Second, fA, cISN+10, sISN+21),
		sv(ms, fA, sISN+21, cISN+11).zeroWindow().sweepAfter(),
		sv(3*time.Second, fA, sISN+21, cISN+11),
	}),
	"isn-wrap-v6": isnWrap(),
}

// v6Seeds are the seeds played between IPv6 endpoints.
var v6Seeds = map[string]bool{"isn-wrap-v6": true}

// synAckRetries are Linux's five SYN-ACK retransmissions (1, 2, 4, 8, 16 s)
// into a path that drops the ACKs, with a live sweep after each.
func synAckRetries() []seedSeg {
	var out []seedSeg
	for gap := time.Second; gap <= 16*time.Second; gap *= 2 {
		out = append(out, sv(gap, fSA, sISN, cISN+1), cl(ms, fA, cISN+1, sISN+1).sweepAfter())
	}
	return out
}

// isnWrap runs a connection with ISNs just below 2^32 and 2^31, so that
// its sequence numbers wrap.
func isnWrap() []seedSeg {
	c, s := uint32(0xFFFFFFFE), uint32(0x7FFFFFFF)
	return seed(handshakeSeed(c, s), []seedSeg{
		cl(ms, fPA, c+1, s+1).data(10),
		sv(ms, fFA, s+1, c+11),
		cl(ms, fFA, c+11, s+2),
		sv(ms, fA, s+2, c+12),
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
		r[3] |= sg.ts
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
		if len(segs) == 0 {
			t.Errorf("seed %s is empty", name)
		}
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
