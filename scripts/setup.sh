#!/usr/bin/env bash
# Installs what tcpwatch needs on a fresh Debian or Ubuntu machine with Go:
# libpcap (BPF filters, live capture) and, for the tests that record or
# capture in network namespaces, tcpdump, nftables, iproute2 (ip, ss) and
# procps (sysctl inside the namespaces); chromium
# (the HTML report opened in a browser) and prometheus (promtool checks
# /metrics).
set -euo pipefail
need=()
for p in libpcap-dev tcpdump nftables iproute2 procps chromium prometheus; do
	dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	echo "installing ${need[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
go mod download
