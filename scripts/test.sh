#!/usr/bin/env bash
# Runs tcpwatch's whole test suite: installs what it needs, vets, tests.
# Tests that need root or network namespaces skip with a message otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
go vet ./...
go test -count=1 ./...
