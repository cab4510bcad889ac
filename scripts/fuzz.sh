#!/usr/bin/env bash
# fuzz.sh runs every native Go fuzz target of the module for FUZZTIME each
# (default 60s). A crash fails the run and leaves its input in testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}
found=0
for pkg in $(go list ./...); do
	for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		found=1
		echo "fuzz.sh: $pkg $target for $FUZZTIME"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
((found)) || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
