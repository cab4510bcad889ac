#!/usr/bin/env bash
# lint.sh: gofmt, go vet, staticcheck (pinned) and a tidy go.mod.
set -euo pipefail
cd "$(dirname "$0")/.."
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

unformatted=$(gofmt -l .)
if [[ -n "$unformatted" ]]; then
	echo "lint.sh: not gofmt'ed:" >&2
	echo "$unformatted" >&2
	exit 1
fi
go vet ./...
go run "$STATICCHECK" ./...

# modernc.org/sqlite needs -e: one of its test dependencies is not served here.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp go.mod go.sum "$tmp/"
go mod tidy -e >/dev/null 2>&1 || true
if ! cmp -s go.mod "$tmp/go.mod" || ! cmp -s go.sum "$tmp/go.sum"; then
	diff -u "$tmp/go.mod" go.mod >&2 || true
	cp "$tmp/go.mod" "$tmp/go.sum" .
	echo "lint.sh: go.mod/go.sum are not tidy (run go mod tidy -e)" >&2
	exit 1
fi
echo "lint.sh: ok"
