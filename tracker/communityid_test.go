package tracker

import (
	"net/netip"
	"testing"
)

func addrOf(t testing.TB, s string) Addr {
	t.Helper()
	ip := netip.MustParseAddr(s)
	if ip.Is4() {
		return AddrFrom4(ip.As4())
	}
	return AddrFrom16(ip.As16())
}

// The TCP rows of the Community ID spec's published baselines
// (corelight/community-id-spec, baseline/baseline_deflt.json for seed 0 and
// baseline/baseline_seed1.json for seed 1), each in both directions.
var communityIDVectors = []struct {
	src, dst         string
	srcPort, dstPort uint16
	seed             uint16
	want             string
}{
	{"128.232.110.120", "66.35.250.204", 34855, 80, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{"66.35.250.204", "128.232.110.120", 80, 34855, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
	{"2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 0, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{"2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 0, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
	{"128.232.110.120", "66.35.250.204", 34855, 80, 1, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{"66.35.250.204", "128.232.110.120", 80, 34855, 1, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{"2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, 1, "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{"2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, 1, "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
}

func TestCommunityIDSpecVectors(t *testing.T) {
	for _, v := range communityIDVectors {
		got := CommunityID(addrOf(t, v.src), addrOf(t, v.dst), v.srcPort, v.dstPort, v.seed)
		if got != v.want {
			t.Errorf("CommunityID(%s:%d → %s:%d, seed %d) = %s, want %s",
				v.src, v.srcPort, v.dst, v.dstPort, v.seed, got, v.want)
		}
	}
}

// On equal addresses the ports decide the order, so both directions of a
// loopback connection hash alike, and swapping only the ports changes the flow.
func TestCommunityIDSameAddress(t *testing.T) {
	lo := addrOf(t, "127.0.0.1")
	a := CommunityID(lo, lo, 40000, 8080, 0)
	if b := CommunityID(lo, lo, 8080, 40000, 0); a != b {
		t.Errorf("directions differ: %s vs %s", a, b)
	}
	if c := CommunityID(lo, lo, 40001, 8080, 0); a == c {
		t.Errorf("different flows hash alike: %s", a)
	}
}

func TestCommunityIDAllocs(t *testing.T) {
	src, dst := addrOf(t, "128.232.110.120"), addrOf(t, "66.35.250.204")
	if n := testing.AllocsPerRun(100, func() { _ = CommunityID(src, dst, 34855, 80, 0) }); n > 1 {
		t.Errorf("CommunityID allocates %v times, want at most 1 (the result)", n)
	}
}

func BenchmarkCommunityID(b *testing.B) {
	src, dst := addrOf(b, "2001:470:e5bf:dead:4957:2174:e82c:4887"), addrOf(b, "2607:f8b0:400c:c03::1a")
	b.ReportAllocs()
	for b.Loop() {
		_ = CommunityID(src, dst, 63943, 25, 0)
	}
}
