#!/usr/bin/env bash
# Records the anomaly captures in testdata/pcaps/anomalies: real Linux sockets
# (testdata/pcaps/peer) and, where a kernel would never send such a segment,
# crafted ones (testdata/pcaps/anomalies/raw), in two private network
# namespaces joined by a veth pair, captured with tcpdump on the server's
# veth; right after tcpdump stops, ss reads both kernels' sockets
# (NAME.ss.txt, NAME.states). The layout is the one of ../record.sh (see
# ../README.md); what each scenario does is in README.md here.
#
#   sudo testdata/pcaps/anomalies/record.sh                 # every scenario
#   sudo testdata/pcaps/anomalies/record.sh syn-flood bulk  # just these
#   testdata/pcaps/anomalies/record.sh -l                   # list them
#
# The NAME.expect files (what tcpwatch must find) are written by hand and
# not touched here; after re-recording run go test ./cmd/tcpwatch -run Anomal.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)

SCENARIOS=(
	close-wait-fin-wait-2 half-open-silence half-open-peer-lost invalid-flags bad-seq-rst
	bad-seq-synack syn-flood bulk request-response syn-flood-cookies syn-flood-no-cookies
	time-wait-buildup ack-flood rst-flood fin-flood synack-backscatter
)

FLOOD_SYNS=1000 # spoofed SYNs in syn-flood (raw caps it at 5000 and 15 s)
FLOOD_RATE=250  # per second
LONE=3000       # spoofed lone segments in ack-flood, rst-flood, fin-flood, synack-backscatter
LONE_RATE=1000  # per second

# syn-flood-cookies and syn-flood-no-cookies: a listener with backlog 16
# (peer serverSmallBacklog), tcp_max_syn_backlog 128, tcp_syncookies 1 or 0;
# BURST_SYNS spoofed SYNs at BURST_RATE/s while four legitimate clients
# connect. Which connections the kernel holds depends on the race, so their
# states are not listed here: check_flood compares the .states file with the
# kernel's own count, `ss -tan state syn-recv` (NAME.syn-recv).
BURST_SYNS=400
BURST_RATE=200

# What the kernel is expected to hold at the end (as in ../record.sh):
# "client server" per connection, comma-separated, N*PAIR repeats.
declare -A EXPECT=(
	[close-wait-fin-wait-2]="FIN_WAIT_2 CLOSE_WAIT"
	[half-open-silence]="ESTABLISHED ESTABLISHED"
	[half-open-peer-lost]="CLOSED CLOSED"
	[invalid-flags]="TIME_WAIT CLOSED,3*CLOSED CLOSED"
	[bad-seq-rst]="TIME_WAIT CLOSED"
	[bad-seq-synack]="TIME_WAIT CLOSED"
	[syn-flood]="$FLOOD_SYNS*CLOSED SYN_RCVD"
	[bulk]="TIME_WAIT CLOSED"
	[request-response]="3*TIME_WAIT CLOSED"
	[syn-flood-cookies]=flood
	[syn-flood-no-cookies]=flood
	[time-wait-buildup]="2000*TIME_WAIT CLOSED"
	[ack-flood]=""
	[rst-flood]=""
	[fin-flood]=""
	[synack-backscatter]=""
)

# Captures stored gzip-compressed (tcpwatch reads them transparently).
declare -A GZIP=([syn-flood]=1 [bulk]=1 [syn-flood-cookies]=1 [syn-flood-no-cookies]=1 [time-wait-buildup]=1
	[ack-flood]=1 [rst-flood]=1 [fin-flood]=1 [synack-backscatter]=1)

usage() {
	echo "usage: sudo $0 [-l] [SCENARIO...]"
	echo "scenarios: ${SCENARIOS[*]}"
}

case "${1:-}" in
-h | --help) usage; exit 0 ;;
-l | --list) printf '%s\n' "${SCENARIOS[@]}"; exit 0 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "record.sh: this needs root (network namespaces, nftables, raw sockets, tcpdump): sudo $0 $*" >&2
	exit 1
fi
for tool in ip ss tcpdump nft go awk gzip; do
	command -v "$tool" >/dev/null || { echo "record.sh: $tool is missing (apt-get install -y iproute2 tcpdump nftables gzip)" >&2; exit 1; }
done

[ $# -eq 0 ] && set -- "${SCENARIOS[@]}"
for name in "$@"; do
	if [ -z "${EXPECT[$name]+x}" ]; then
		echo "record.sh: unknown scenario '$name'" >&2
		usage >&2
		exit 2
	fi
done

TMP=$(mktemp -d /tmp/twanom.XXXXXX)
CNS="twanom-$$-c" # client namespace: 198.18.0.1/24 on eth-c
SNS="twanom-$$-s" # server namespace: 198.18.0.2/24 on eth-s
PIDS=()           # every process this script started and has not reaped
TCPDUMP_PID=""

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	PIDS=()
	TCPDUMP_PID=""
	ip netns del "$CNS" 2>/dev/null
	ip netns del "$SNS" 2>/dev/null
	return 0
}
trap 'cleanup; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM HUP

log() { echo "record.sh: $*" >&2; }

fail() {
	log "$NAME: $*"
	local f
	for f in "$TMP/$NAME".*.log; do
		[ -e "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
	done
	cleanup
	exit 1
}

# Processes started in the background are started with ip netns exec itself
# (which execs them), never through NX, so that $! is their PID.
NX() { ip netns exec "$@"; }

setup_netns() {
	local ns
	ip netns add "$CNS" || fail "cannot create namespace $CNS"
	ip netns add "$SNS" || fail "cannot create namespace $SNS"
	for ns in "$CNS" "$SNS"; do
		NX "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		NX "$ns" ip link set lo up
	done
	ip link add eth-c netns "$CNS" type veth peer name eth-s netns "$SNS" || fail "cannot create the veth pair"
	NX "$CNS" ip addr add 198.18.0.1/24 dev eth-c
	NX "$SNS" ip addr add 198.18.0.2/24 dev eth-s
	for ns in "$CNS:eth-c" "$SNS:eth-s"; do
		if command -v ethtool >/dev/null; then
			NX "${ns%%:*}" ethtool -K "${ns#*:}" tso off gso off gro off >/dev/null 2>&1
		fi
		NX "${ns%%:*}" ip link set dev "${ns#*:}" gso_max_segs 1 2>/dev/null
		NX "${ns%%:*}" ip link set dev "${ns#*:}" up
	done
	local cmac smac
	smac=$(NX "$SNS" cat /sys/class/net/eth-s/address)
	cmac=$(NX "$CNS" cat /sys/class/net/eth-c/address)
	NX "$CNS" ip neigh replace 198.18.0.2 lladdr "$smac" dev eth-c nud permanent
	NX "$SNS" ip neigh replace 198.18.0.1 lladdr "$cmac" dev eth-s nud permanent
	sleep 0.5
}

# peer ROLE: the peer program for $NAME in the role's namespace.
peer() {
	local ns=$CNS
	[ "$1" = server ] && ns=$SNS
	ip netns exec "$ns" "$TMP/peer" -role "$1" -scenario "$NAME" -sync "$SYNC" -addr 198.18.0.2:8080 \
		>"$TMP/$NAME.$1.log" 2>&1 &
	PIDS+=($!)
}

# raw NS ARGS...: the raw-segment program in NS; it exits by itself.
raw() {
	local ns=$1
	shift
	ip netns exec "$ns" "$TMP/raw" -sync "$SYNC" -dst 198.18.0.2:8080 "$@" >"$TMP/$NAME.raw.log" 2>&1 &
	PIDS+=($!)
}

mark() { : >"$SYNC/$1"; }

await() {
	local i
	for ((i = 0; i < ${2:-15} * 100; i++)); do
		[ -e "$SYNC/$1" ] && return 0
		sleep 0.01
	done
	fail "timed out waiting for $1"
}

wait_listen() {
	local i
	for ((i = 0; i < 500; i++)); do
		NX "$SNS" ss -ltnH | grep -q ':8080 ' && return 0
		sleep 0.01
	done
	fail "server never listened"
}

# nft_drop NS HOOK RULE...: drop matching packets in NS's HOOK (input or
# prerouting), after the capture point for packets entering eth-s.
nft_drop() {
	local ns=$1 hook=$2
	shift 2
	NX "$ns" nft add table inet twanom
	NX "$ns" nft add chain inet twanom "$hook" "{ type filter hook $hook priority 0; policy accept; }"
	NX "$ns" nft add rule inet twanom "$hook" "$@" drop || fail "nft rule failed: $*"
}

nft_clear() { NX "$1" nft delete table inet twanom; }

capture_start() {
	ip netns exec "$SNS" tcpdump -i eth-s -n -U --immediate-mode -B 16384 -Z root -w "$TMP/$NAME.pcap" >"$TMP/$NAME.tcpdump.log" 2>&1 &
	TCPDUMP_PID=$!
	PIDS+=("$TCPDUMP_PID")
	local i
	for ((i = 0; i < 500; i++)); do
		grep -qs 'listening on' "$TMP/$NAME.tcpdump.log" && { sleep 0.1; return 0; }
		kill -0 "$TCPDUMP_PID" 2>/dev/null || break
		sleep 0.01
	done
	fail "tcpdump did not start: $(cat "$TMP/$NAME.tcpdump.log")"
}

# capture_stop: put one UDP datagram on the wire (server to the client's
# discard port; the client answers with ICMP port unreachable), so that the
# capture's last packet marks when it stopped: a file's clock is its
# packets' timestamps, and idle time after the last TCP segment would
# otherwise not be in it. Then stop tcpdump and read both socket tables.
capture_stop() {
	NX "$SNS" bash -c 'echo "end of capture" >/dev/udp/198.18.0.1/9' 2>/dev/null
	sleep 0.05
	kill -TERM "$TCPDUMP_PID"
	wait "$TCPDUMP_PID"
	{
		echo "# ss -tanH, client namespace (eth-c 198.18.0.1), read right after tcpdump stopped"
		NX "$CNS" ss -tanH
		echo "# ss -tanH, server namespace (eth-s 198.18.0.2)"
		NX "$SNS" ss -tanH
	} >"$HERE/$NAME.ss.txt"
	if [ "${EXPECT[$NAME]}" = flood ]; then
		# the header line is not a socket
		echo $(($(NX "$SNS" ss -tan state syn-recv | wc -l) - 1)) >"$HERE/$NAME.syn-recv"
	fi
	grep -E 'packets (captured|received by filter|dropped by kernel)' "$TMP/$NAME.tcpdump.log" |
		tr '\n' ' ' | sed 's/ $//' >"$TMP/$NAME.tcpdump.stats"
}

# ---- scenarios ----

plain() {
	peer server
	wait_listen
	capture_start
	peer client
	await client-done
	await server-done
	sleep "$1"
}

# The client closes, the server never does; 3 s of silence follow.
sc_close-wait-fin-wait-2() { plain 3.2; }

sc_bulk() { plain 0.3; }
sc_request-response() { plain 0.3; }

# After one exchange the server's input hook drops everything from the
# client: the server never sees the client's next data and sends nothing;
# the client retransmits into silence (~0.2, 0.6, 1.4, 3.0 s).
sc_half-open-silence() {
	peer server
	wait_listen
	capture_start
	peer client
	await client-established
	sleep 0.2
	nft_drop "$SNS" input ip saddr 198.18.0.1
	mark go
	await client-done
	sleep 2.3
}

# After one exchange the server aborts its socket (SO_LINGER 0) while its
# output hook drops its RSTs (before the capture point for outgoing packets):
# the socket is gone without a word on the wire. The client then sends data
# and the server's kernel, knowing no such connection, answers with a bare RST.
sc_half-open-peer-lost() {
	peer server
	wait_listen
	capture_start
	peer client
	await client-established
	await server-established
	sleep 0.2
	nft_drop "$SNS" output tcp sport 8080 tcp flags \& rst == rst
	mark abort
	await server-done
	nft_clear "$SNS"
	sleep 0.3
	mark go
	await client-done
	sleep 0.3
}

# invalid-flags, bad-seq-rst: raw learns the live connection's numbers from
# the server's reply to "ping 2" and crafts its segments before "ping 3".
live_raw() {
	peer server
	wait_listen
	capture_start
	peer client
	await client-established
	raw "$CNS" -mode "$1" -local "198.18.0.1:$2"
	await raw-done
	await client-done
	await server-done
	sleep 0.3
}

sc_invalid-flags() { live_raw invalid 50302; }
sc_bad-seq-rst() { live_raw rst 50301; }

# The server's input hook drops the client's SYN (the capture still has it);
# raw, in the server's namespace, answers it with a SYN-ACK acknowledging
# ISN+1+65536; the client's kernel answers that with RST (seq = the bad
# ACK). The rule is removed, and the SYN retransmitted after 1 s completes
# an ordinary connection.
sc_bad-seq-synack() {
	peer server
	wait_listen
	nft_drop "$SNS" input tcp dport 8080 tcp flags \& \(syn \| ack\) == syn
	capture_start
	raw "$SNS" -mode synack
	await raw-ready
	peer client
	await raw-done
	nft_clear "$SNS"
	await client-done
	await server-done
	sleep 0.3
}

# Spoofed SYNs from 198.19.0.0/16 (inside 198.18.0.0/15). The server routes
# that range back to the client's namespace, so its SYN-ACKs (and their
# retransmissions) are on the wire; the client's namespace drops them.
sc_syn-flood() {
	peer server
	wait_listen
	NX "$SNS" ip route add 198.19.0.0/16 via 198.18.0.1 dev eth-s || fail "route"
	nft_drop "$CNS" prerouting ip daddr 198.19.0.0/16
	capture_start
	raw "$CNS" -mode flood -src 198.19.0.0/16 -rate "$FLOOD_RATE" -count "$FLOOD_SYNS"
	await raw-done 20
	sleep 1.2
}

# A burst of spoofed SYNs at a listener with a small backlog, syncookies $1,
# while four legitimate clients connect (0, 0.6, 1.2 and 1.8 s after "go";
# the flood runs from 0.3 s to 2.3 s). The capture stops 5.6 s after "go":
# long enough for the last SYN-ACKs to be retransmitted or not (1 s), and
# before the first requests expire (under a full queue Linux keeps a request
# for two retransmissions, about 7 s).
flood_burst() {
	NX "$SNS" sysctl -qw net.ipv4.tcp_syncookies="$1" net.ipv4.tcp_max_syn_backlog=128 || fail "sysctl"
	peer server
	wait_listen
	NX "$SNS" ip route add 198.19.0.0/16 via 198.18.0.1 dev eth-s || fail "route"
	nft_drop "$CNS" prerouting ip daddr 198.19.0.0/16
	capture_start
	peer client
	local t0
	t0=$(date +%s.%N)
	mark go
	sleep 0.3
	raw "$CNS" -mode flood -src 198.19.0.0/16 -rate "$BURST_RATE" -count "$BURST_SYNS"
	await raw-done 20
	await client-done 10
	sleep "$(awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + 5.6 - now; print (d > 0 ? d : 0) }')"
}

sc_syn-flood-cookies() { flood_burst 1; }
sc_syn-flood-no-cookies() { flood_burst 0; }

# One client opens 2000 short connections one after the other and closes
# each first: 2000 TIME_WAIT sockets towards one service.
sc_time-wait-buildup() { plain 0.3; }

# Spoofed lone segments from 198.19.0.0/16, routed and dropped as in
# syn-flood: the server's kernel holds no connection for any of them and
# answers each (but the RSTs) with an RST. The SYN-ACKs come from port 80 to
# random ports of the server's address (backscatter of a SYN flood that
# spoofs it).
lone_flood() {
	peer server
	wait_listen
	NX "$SNS" ip route add 198.19.0.0/16 via 198.18.0.1 dev eth-s || fail "route"
	nft_drop "$CNS" prerouting ip daddr 198.19.0.0/16
	capture_start
	raw "$CNS" -mode flood -flags "$1" -src 198.19.0.0/16 -rate "$LONE_RATE" -count "$LONE"
	await raw-done 20
	sleep 0.5
}
sc_ack-flood() { lone_flood A; }
sc_rst-flood() { lone_flood R; }
sc_fin-flood() { lone_flood F.; }
sc_synack-backscatter() { lone_flood S.; }

# ---- the .states file (as ../record.sh's; a SYN carrying FIN or RST does
# not start a connection, nor does a lone segment: one without SYN, never
# answered but by an RST, nothing more from its sender) ----

write_states() {
	tcpdump -nn -S -r "$TMP/$NAME.pcap" tcp 2>/dev/null | awk -v SS="$HERE/$NAME.ss.txt" '
	function norm(a) {
		sub(/^\[::ffff:/, "", a)
		if (a ~ /^[0-9.]+\]:/) sub(/\]/, "", a)
		return a
	}
	function ep(x,    i) {
		i = match(x, /\.[0-9]+$/)
		PORT = substr(x, i + 1) + 0
		return substr(x, 1, i - 1) ":" PORT
	}
	function newconn(k, c, s, isn) {
		n++; K[n] = k; C[n] = c; S[n] = s; ISN[n] = isn; cur[k] = n
	}
	BEGIN {
		m["ESTAB"] = "ESTABLISHED"; m["SYN-SENT"] = "SYN_SENT"; m["SYN-RECV"] = "SYN_RCVD"
		m["FIN-WAIT-1"] = "FIN_WAIT_1"; m["FIN-WAIT-2"] = "FIN_WAIT_2"; m["CLOSE-WAIT"] = "CLOSE_WAIT"
		m["CLOSING"] = "CLOSING"; m["LAST-ACK"] = "LAST_ACK"; m["TIME-WAIT"] = "TIME_WAIT"
		m["UNCONN"] = "CLOSED"; m["CLOSED"] = "CLOSED"
		while ((getline line < SS) > 0) {
			if (line ~ /^# .*client namespace/) side = "c"
			else if (line ~ /^# .*server namespace/) side = "s"
			else if (line !~ /^#/ && split(line, f) >= 5 && f[1] != "LISTEN") {
				if (!(f[1] in m)) { print "unknown ss state " f[1] > "/dev/stderr"; bad = 1; exit 3 }
				st[side, norm(f[4]), norm(f[5])] = m[f[1]]
			}
		}
	}
	/ Flags \[/ {
		dst = $5; sub(/:$/, "", dst)
		s = ep($3); sp = PORT
		d = ep(dst); dp = PORT
		fl = $0; sub(/.* Flags \[/, "", fl); sub(/\].*/, "", fl)
		syn = index(fl, "S") > 0; ack = index(fl, ".") > 0; finrst = (index(fl, "F") || index(fl, "R"))
		k = (s < d) ? s "|" d : d "|" s
		if ((k in cur) && LONE[cur[k]] && (s == LS[cur[k]] || index(fl, "R") == 0)) LONE[cur[k]] = 0
		if (syn && !ack && !finrst) {
			seq = $0; sub(/.* seq /, "", seq); sub(/[^0-9].*/, "", seq)
			if (!(k in cur) || C[cur[k]] != s || ISN[cur[k]] != seq) newconn(k, s, d, seq)
		} else if (!(k in cur)) {
			if (syn && ack) newconn(k, d, s, "")
			else if (sp > dp) newconn(k, s, d, "")
			else newconn(k, d, s, "")
			if (ack || index(fl, "R")) { LONE[n] = 1; LS[n] = s } # (impossible flags open a connection)
		}
	}
	END {
		if (bad) exit 3
		print "client\tserver\tclient_state\tserver_state"
		for (i = 1; i <= n; i++) {
			if (LONE[i]) continue
			cs = "CLOSED"; ss = "CLOSED"
			if (cur[K[i]] == i) {
				if (("c", C[i], S[i]) in st) cs = st["c", C[i], S[i]]
				if (("s", S[i], C[i]) in st) ss = st["s", S[i], C[i]]
			}
			print C[i] "\t" S[i] "\t" cs "\t" ss
		}
	}' >"$HERE/$NAME.states" || fail "could not write $NAME.states"
}

# check_flood: the kernel's SYN_RCVD count (ss) must be the .states file's.
check_flood() {
	local rcvd want
	rcvd=$(awk -F'\t' 'NR > 1 && $4 == "SYN_RCVD"' "$HERE/$NAME.states" | wc -l)
	want=$(cat "$HERE/$NAME.syn-recv")
	if [ "$rcvd" != "$want" ]; then
		log "$NAME: MISMATCH: $rcvd server sockets in SYN_RCVD in $NAME.states, ss counted $want"
		STATUS=1
		return
	fi
	log "$NAME: ok: $(($(wc -l <"$HERE/$NAME.states") - 1)) connections, $want in SYN-RECV at the end; states:"
	awk -F'\t' 'NR > 1 { n[$3 " " $4]++ } END { for (k in n) print "    " n[k] " " k }' "$HERE/$NAME.states" | sort -rn >&2
}

check() {
	local want="" item n i got biggest packets
	if [ "${EXPECT[$NAME]}" = flood ]; then
		check_flood
		return
	fi
	IFS=, read -ra items <<<"${EXPECT[$NAME]}"
	for item in "${items[@]}"; do
		n=1
		if [[ $item == *"*"* ]]; then n=${item%%\**}; item=${item#*\*}; fi
		for ((i = 0; i < n; i++)); do want+="$item"$'\n'; done
	done
	got=$(awk -F'\t' 'NR > 1 { print $3 " " $4 }' "$HERE/$NAME.states")
	biggest=$(tcpdump -nn -e -r "$TMP/$NAME.pcap" 2>/dev/null |
		awk 'match($0, /, length [0-9]+:/) { l = substr($0, RSTART + 9, RLENGTH - 10) + 0; if (l > b) b = l } END { print b + 0 }')
	packets=$(tcpdump -nn -r "$TMP/$NAME.pcap" 2>/dev/null | wc -l)
	if [ "$got" != "${want%$'\n'}" ]; then
		log "$NAME: MISMATCH: kernel states differ from the expected ones:"
		diff <(printf '%s' "$want") <(echo "$got") | head -n 20 | sed 's/^/    /' >&2
		STATUS=1
	elif [ "$biggest" -gt 1514 ]; then
		log "$NAME: a ${biggest}-byte frame: segments were merged (offloads still on?)"
		STATUS=1
	else
		log "$NAME: ok: $packets packets (largest frame $biggest bytes), $(($(wc -l <"$HERE/$NAME.states") - 1)) connections"
	fi
}

# ---- main ----

log "building peer and raw"
(cd "$ROOT" && go build -buildvcs=false -o "$TMP/peer" ./testdata/pcaps/peer &&
	go build -buildvcs=false -o "$TMP/raw" ./testdata/pcaps/anomalies/raw) || { log "go build failed"; exit 1; }

STATUS=0
for NAME in "$@"; do
	SYNC="$TMP/$NAME.sync"
	mkdir -p "$SYNC"
	rm -f "$HERE/$NAME.pcap" "$HERE/$NAME.pcap.gz" "$HERE/$NAME.states" "$HERE/$NAME.ss.txt" "$HERE/$NAME.syn-recv"
	log "$NAME: recording"
	setup_netns
	"sc_$NAME"
	capture_stop
	cleanup
	write_states
	check
	read -r captured _ _ received _ _ _ _ dropped _ <"$TMP/$NAME.tcpdump.stats"
	if [ "$captured" != "$received" ] || [ "$dropped" != 0 ]; then
		log "$NAME: tcpdump lost packets: $(cat "$TMP/$NAME.tcpdump.stats")"
		STATUS=1
	fi
	if [ -n "${GZIP[$NAME]:-}" ]; then
		gzip -9 -n -c "$TMP/$NAME.pcap" >"$HERE/$NAME.pcap.gz"
	else
		cp "$TMP/$NAME.pcap" "$HERE/$NAME.pcap"
	fi
	chmod 644 "$HERE/$NAME".*
done
exit "$STATUS"
