#!/usr/bin/env bash
# lint.sh: gofmt, go vet, staticcheck (pinned) and a tidy go.mod. Runs every
# check, reports each failure, and fails if any failed. Changes no file.
set -euo pipefail
cd "$(dirname "$0")/.."

# staticcheck 2026.2.2. Release names like 2025.1.1 are not served by the
# module proxy here; their semver tags are (2025.1.1 = v0.6.1 also works).
STATICCHECK=honnef.co/go/tools/cmd/staticcheck@v0.8.2

failed=()
fail() { failed+=("$1"); }

echo "lint.sh: gofmt" >&2
unformatted=$(gofmt -l .)
if [[ -n $unformatted ]]; then
	echo "lint.sh: not gofmt'ed (run make fmt):" >&2
	echo "$unformatted" >&2
	fail gofmt
fi

echo "lint.sh: go vet" >&2
go vet ./... || fail "go vet"

echo "lint.sh: staticcheck" >&2
go run "$STATICCHECK" ./... || fail staticcheck

# go mod tidy -e (modernc.org/sqlite has a test dependency the proxy here does
# not serve, and plain tidy stops on it), run on a copy of the module's Go
# files so the work tree is never touched, not even for a moment.
echo "lint.sh: go mod tidy" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{ echo go.mod; echo go.sum; find . -name '*.go' -not -path './.git/*' -not -path './bin/*' -not -path './data/*'; } |
	tar -cf - -T - | tar -xf - -C "$tmp"
if ! (cd "$tmp" && go mod tidy -e) >"$tmp/tidy.log" 2>&1; then
	cat "$tmp/tidy.log" >&2
	fail "go mod tidy"
elif ! cmp -s go.mod "$tmp/go.mod" || ! cmp -s go.sum "$tmp/go.sum"; then
	echo "lint.sh: go.mod/go.sum are not tidy (run go mod tidy -e); tidy would change:" >&2
	diff -u go.mod "$tmp/go.mod" >&2 || true
	diff -u go.sum "$tmp/go.sum" | grep '^[-+][^-+]' >&2 || true
	fail "go mod tidy"
fi

if ((${#failed[@]})); then
	echo "lint.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
echo "lint.sh: ok"
