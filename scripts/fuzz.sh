#!/usr/bin/env bash
# fuzz.sh runs every native Go fuzz target of the module, one at a time, for
# FUZZTIME each (default 60s; go test -fuzz takes one target per run). A crash
# fails the run and leaves its input in the package's testdata/fuzz/, to be
# committed as a regression seed.
#
#   scripts/fuzz.sh                  # all targets, 60s each
#   FUZZTIME=10s scripts/fuzz.sh     # shorter
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-60s}

found=0
for pkg in $(go list ./...); do
	# go test -list compiles the package's tests: a build failure is fatal here.
	list=$(go test -run '^$' -list '^Fuzz' "$pkg") || { echo "$list" >&2; exit 1; }
	for target in $(grep '^Fuzz' <<<"$list" || true); do
		found=$((found + 1))
		echo "fuzz.sh: $pkg $target for $FUZZTIME"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
((found > 0)) || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
echo "fuzz.sh: $found target(s) ok"
