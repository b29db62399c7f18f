package tracker

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/tcpwatch/tcpwatch/tracker/seqnum"
)

// sumStep is one segment with its checksum verdict and the states expected
// after it ("" : not checked).
type sumStep struct {
	from           Side
	flags          Flags
	seq, ack, n    uint32
	sum            Checksum
	client, server string
}

func playSums(t *testing.T, steps []sumStep) *Tracker {
	t.Helper()
	tr := New(Config{})
	isn := [2]seqnum.Value{1000, 5000}
	for i, st := range steps {
		seg := testSeg(isn, st.from, st.flags, st.seq, st.ack, st.n)
		seg.Time, seg.Packet, seg.Checksum = int64(i+1)*1e6, uint64(i+1), st.sum
		tr.Observe(&seg)
		if cs := tr.Conns(); len(cs) > 0 && st.client != "" {
			c := cs[0]
			if got := c.State(Client).String() + "/" + c.State(Server).String(); got != st.client+"/"+st.server {
				t.Fatalf("step %d: %s, want %s/%s", i+1, got, st.client, st.server)
			}
		}
	}
	return tr
}

func TestBadChecksumDoesNotMoveTheReceiver(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumGood, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumGood, "ESTABLISHED", "SYN_RCVD"},
		{Client, A, 1, 1, 0, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		// A corrupted FIN: the server's kernel drops it.
		{Client, FA, 1, 1, 0, ChecksumBad, "ESTABLISHED", "ESTABLISHED"},
		// Sent again, intact.
		{Client, FA, 1, 1, 0, ChecksumGood, "FIN_WAIT_1", "CLOSE_WAIT"},
	})
	c := tr.Conns()[0]
	if c.BadChecksums != 1 || !strings.Contains(c.History(), "C") {
		t.Errorf("bad checksums %d, history %q: want 1 and a C", c.BadChecksums, c.History())
	}
	if st := tr.Checksums(); st.Dropped != 1 || len(st.Trusted)+len(st.Offloading) != 0 {
		t.Errorf("checksum stats %+v", st)
	}
}

func TestOffloadedChecksumsAreTracked(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumOffloaded, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumGood, "ESTABLISHED", "SYN_RCVD"},
		{Client, A, 1, 1, 0, ChecksumOffloaded, "ESTABLISHED", "ESTABLISHED"},
	})
	if st := tr.Checksums(); st.Dropped != 0 || !slices.Equal(st.Offloading, []netip.Addr{cAddr.IP()}) {
		t.Errorf("checksum stats %+v, want the client offloading", st)
	}
}

// TestHostWhosePeerAnswersBadChecksumsIsTrusted: every segment of the
// server has a wrong checksum (not the pseudo-header sum), yet the client
// answers them: the capture was taken on the server, whose NIC fills the
// checksums in. Its first bad segment is dropped; once the client
// acknowledges it, the server's segments are tracked.
func TestHostWhosePeerAnswersBadChecksumsIsTrusted(t *testing.T) {
	tr := playSums(t, []sumStep{
		{Client, S, 0, 0, 0, ChecksumGood, "SYN_SENT", "CLOSED"},
		{Server, SA, 0, 1, 0, ChecksumBad, "SYN_SENT", "CLOSED"},
		{Client, A, 1, 1, 0, ChecksumGood, "", ""},
		{Server, PA, 1, 1, 10, ChecksumBad, "", ""},
		{Client, A, 1, 11, 0, ChecksumGood, "ESTABLISHED", "ESTABLISHED"},
		{Server, FA, 11, 1, 0, ChecksumBad, "CLOSE_WAIT", "FIN_WAIT_1"},
	})
	if st := tr.Checksums(); st.Dropped != 1 || !slices.Equal(st.Trusted, []netip.Addr{sAddr.IP()}) {
		t.Errorf("checksum stats %+v, want the server trusted after one drop", st)
	}
}
