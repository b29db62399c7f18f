#!/usr/bin/env bash
# Measures live capture under a bounded load between two private network
# namespaces (docs/capacity.md): netload's client in one, its server and the
# capturer (tcpwatch -i or tcpdump -w /dev/null, or none) on the server's veth in the
# other. Prints one line: what the load achieved, what the capturer saw and
# what the kernel dropped.
#
#   sudo internal/netlab/netload/capacity.sh tcpwatch conns 2000 15
#   sudo internal/netlab/netload/capacity.sh tcpdump segments 50000 15
#   sudo internal/netlab/netload/capacity.sh tcpwatch raw 500000 10
#   EXTRA="--fanout 2" sudo ... tcpwatch ...      # more tcpwatch flags
#   NICE=-5 sudo ...           # run the capturer at that nice level (the
#                              # load and everything else stay at theirs)
#
# raw (RATE in packets/s) writes made-up connections as frames onto the
# client's veth; no server runs.
#
# Everything it creates (namespaces twlive-<pid>-cap-*, processes) is
# removed on exit.
set -euo pipefail
CAPTURER=${1:?capturer: tcpwatch, tcpdump or none}
MODE=${2:?mode: conns or segments}
RATE=${3:?rate per second}
SECS=${4:-15}
[ "$SECS" -le 30 ] || { echo "at most 30 s" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)

P=twlive-$$-cap
C=$P-client S=$P-server VC=twcc$$ VS=twcs$$
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$C" 2>/dev/null || true
	ip netns del "$S" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

(cd "$ROOT" && go build -o "$TMP/tcpwatch" ./cmd/tcpwatch && go build -o "$TMP/netload" ./internal/netlab/netload)

ip netns add "$C"
ip netns add "$S"
ip link add "$VC" netns "$C" type veth peer name "$VS" netns "$S"
ip -n "$C" addr add 198.18.0.1/24 dev "$VC"
ip -n "$S" addr add 198.18.0.2/24 dev "$VS"
for ns in "$C" "$S"; do ip -n "$ns" link set lo up; done
ip -n "$C" link set "$VC" up
ip -n "$S" link set "$VS" up
ip netns exec "$C" sysctl -q -w net.ipv4.tcp_autocorking=0 net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"

ip netns exec "$S" "$TMP/netload" -server -addr 198.18.0.2:9000 &
PIDS+=($!)
sleep 0.3

CAPSECS=$((SECS + 2))
case "$CAPTURER" in
tcpwatch)
	# --msl 1s: TIME_WAIT connections leave the flow table quickly, as
	# they would on a long-running capture.
	{ time nice -n "${NICE:-0}" ip netns exec "$S" "$TMP/tcpwatch" -i "$VS" -F json --duration "${CAPSECS}s" --msl 1s ${EXTRA:-} tcp >"$TMP/out.json" 2>"$TMP/err.txt"; } 2>"$TMP/time.txt" &
	;;
tcpdump)
	{ time nice -n "${NICE:-0}" ip netns exec "$S" timeout -s INT "$CAPSECS" tcpdump -i "$VS" -w /dev/null ${EXTRA:-} tcp 2>"$TMP/err.txt"; } 2>"$TMP/time.txt" &
	;;
none) # the load alone: what the generator reaches with no capturer
	{ time sleep "$CAPSECS"; } 2>"$TMP/time.txt" &
	;;
*) echo "capturer: tcpwatch, tcpdump or none" >&2; exit 2 ;;
esac
CAP=$!
sleep 0.7
# The capturer's CPU time while the load runs (user + system, from
# /proc), apart from starting up and the final report.
CPID=$(pgrep -n -f "$TMP/tcpwatch -i $VS|tcpdump -i $VS" || true)
cputicks() { [ -n "$CPID" ] && awk '{ print $14 + $15 }' "/proc/$CPID/stat" 2>/dev/null || echo 0; }
T0=$(cputicks)
LOAD=$(ip netns exec "$C" "$TMP/netload" -mode "$MODE" -rate "$RATE" -duration "${SECS}s" -addr 198.18.0.2:9000 -iface "$VC" 2>&1 | tr '\n' ' ')
T1=$(cputicks)
LOADCPU=$(awk -v a="$T0" -v b="$T1" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", (b - a) / hz }')
wait "$CAP" || true
CPU=$(awk '/^(user|sys)/ { split($2, a, "m"); s += a[1] * 60 + a[2] } END { printf "%.1f", s }' "$TMP/time.txt")

case "$CAPTURER" in
tcpwatch)
	python3 - "$TMP/out.json" "$SECS" "$CPU" "$LOAD" "$LOADCPU" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
i = r["input"]
secs, cpu, load, loadcpu = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
print(f"tcpwatch  load: {load.strip()} | captured {i['packets']} packets ({i['packets']/secs:.0f}/s over the load), "
      f"{r['summary']['connections']} connections; dropped {i['dropped']['kernel']} by the kernel, "
      f"{i['dropped']['interface']} by the interface; CPU {cpu:.1f} s, {loadcpu} s of it during the load")
EOF
	;;
tcpdump)
	cap=$(awk '/packets captured/ { print $1 }' "$TMP/err.txt")
	drop=$(awk '/dropped by kernel/ { print $1 }' "$TMP/err.txt")
	echo "tcpdump   load: $LOAD| captured $cap packets ($((cap / SECS))/s over the load); dropped $drop by the kernel; CPU $CPU s, $LOADCPU s during the load"
	;;
none)
	echo "none      load: $LOAD"
	;;
esac
