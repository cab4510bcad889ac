#!/usr/bin/env bash
# bench-fanout.sh runs the load tool's fanout scenario (default) or its
# connect scenario against this tree's gateway, on 1 node (SQLite) and on
# 2 nodes (PostgreSQL + Redis, started and stopped by scripts/test.sh's
# service start-up), and writes bench/<scenario>.jsonl (and, for fanout,
# bench/fanout.svg).
#
#   scripts/bench-fanout.sh [fanout|connect]     (make bench-fanout, make bench-connect)
#
# Environment (all optional):
#   BEFORE=<git rev>  also build that revision's gateway (git worktree in the
#                     temp dir) and interleave runs: before, after, before,
#                     after... (REPEAT pairs per node count), labelled
#                     "before, 1 node", "after, 1 node", ...; the box is shared
#                     and noisy, so only interleaved runs compare
#   REPEAT=n          runs per gateway binary and node count (default 2 with
#                     BEFORE, else 1)
#   NODES="1 2"       node counts to run
#   RATES=30000,60000,90000,120000   fanout's target deliveries/s
#   BENCH_GROUPS=100 BENCH_MEMBERS=100   fanout's groups × sockets (GROUPS is bash's)
#   USERS=200 DIALERS=200            connect's users and dialers
#   BENCH_ARGS="..."  more samagate-bench flags for every run (e.g. "-window 10s")
#   OUT=bench         output directory (replaced files: <scenario>.jsonl, fanout.svg)
#
# Users are prepared once per node count (sign-up and login hash passwords:
# about 80 ms of gateway CPU each, 13 minutes for fanout's 10,000) with the
# oldest binary, into a template (an SQLite data dir, a PostgreSQL database);
# every run starts from a fresh copy of it, and Redis is flushed between runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${1:-fanout}
[[ $scenario == fanout || $scenario == connect ]] || { echo "usage: $0 [fanout|connect]" >&2; exit 2; }
NODES=${NODES:-1 2}
OUT=${OUT:-bench}
BEFORE=${BEFORE:-}
REPEAT=${REPEAT:-$([[ -n $BEFORE ]] && echo 2 || echo 1)}
read -r -a extra <<<"${BENCH_ARGS:-}"

blog() { echo "bench-fanout.sh: $*" >&2; }

need_services=""
for n in $NODES; do ((n > 1)) && need_services=1; done
if [[ -n $need_services ]]; then
	# Starts Redis and PostgreSQL on loopback ports in $tmp and sets an EXIT
	# trap (cleanup) that stops them and removes $tmp.
	# shellcheck source=scripts/test.sh
	source scripts/test.sh
	work=$tmp/bench
	mkdir -p "$work"
else
	work=$(mktemp -d /tmp/samagate-bench.XXXXXX)
	cleanup() {
		local code=$?
		rm -rf "$work"
		exit "$code"
	}
	trap 'exit 130' INT
	trap 'exit 143' TERM
fi
worktree=""
bench_cleanup() {
	if [[ -n $worktree ]]; then
		git worktree remove --force "$worktree" >/dev/null 2>&1 || true
	fi
}
# on_exit removes the worktree, then hands the exit code to cleanup (which
# stops the services and removes the temp dir).
on_exit() {
	local code=$?
	set +e
	bench_cleanup
	(exit "$code")
	cleanup
}
trap on_exit EXIT

# The binaries: this tree's gateway ("after"), the bench, and BEFORE's.
bench=$work/samagate-bench
go build -o "$bench" ./cmd/samagate-bench
mkdir -p "$work/after"
go build -o "$work/after/samagate" ./cmd/samagate
rev_after=$(git rev-parse --short HEAD)
[[ -z $(git status --porcelain --untracked-files=no 2>/dev/null) ]] || rev_after+="-dirty"
binaries=(after)
if [[ -n $BEFORE ]]; then
	rev_before=$(git rev-parse --short "$BEFORE")
	worktree=$work/before-src
	git worktree add --detach "$worktree" "$BEFORE" >/dev/null
	mkdir -p "$work/before"
	(cd "$worktree" && go build -o "$work/before/samagate" ./cmd/samagate)
	binaries=(before after)
	blog "before = $BEFORE ($rev_before), after = this tree ($rev_after)"
fi
oldest=$work/${binaries[0]}/samagate

# Scenario flags.
if [[ $scenario == fanout ]]; then
	shape=(-groups "${BENCH_GROUPS:-100}" -members "${BENCH_MEMBERS:-100}")
	run_flags=(-rates "${RATES:-30000,60000,90000,120000}")
else
	shape=(-users "${USERS:-200}")
	run_flags=(-dialers "${DIALERS:-200}")
fi

psql_admin() { PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qX -v ON_ERROR_STOP=1 -c "$1" >/dev/null; }
pg_url() { echo "postgres://postgres@127.0.0.1:$pg_port/$1?sslmode=disable"; }

# prepare <nodes>: the users (and groups) of every run on that many nodes.
prepare() {
	local n=$1
	blog "preparing the $scenario fixture for $n node(s)"
	if ((n == 1)); then
		"$bench" "$scenario" -spawn "$oldest" -data-dir "$work/fx1" -fixture "$work/fx1.json" \
			"${shape[@]}" -prepare-only "${extra[@]}"
	else
		psql_admin "CREATE DATABASE fx$n"
		"$bench" "$scenario" -spawn "$oldest" -nodes "$n" -database-url "$(pg_url "fx$n")" \
			-redis-url "redis://127.0.0.1:$redis_port/0" -fixture "$work/fx$n.json" \
			"${shape[@]}" -prepare-only "${extra[@]}"
	fi
}

# run_once <nodes> <binary name>: one run on a fresh copy of the fixture.
run_once() {
	local n=$1 which=$2 label rev target
	if [[ -n $BEFORE ]]; then label="$which, "; else label=""; fi
	if ((n == 1)); then label+="1 node"; else label+="$n nodes"; fi
	rev=$rev_after
	[[ $which == before ]] && rev=$rev_before
	blog "run: $label ($rev)"
	if ((n == 1)); then
		rm -rf "$work/run"
		cp -a "$work/fx1" "$work/run"
		target=(-data-dir "$work/run")
	else
		psql_admin "DROP DATABASE IF EXISTS run WITH (FORCE)"
		psql_admin "CREATE DATABASE run TEMPLATE fx$n"
		redis-cli -h 127.0.0.1 -p "$redis_port" flushall >/dev/null
		# PostgreSQL (the postmaster and its backends) and Redis share the
		# box: their CPU is reported apart (aux).
		target=(-nodes "$n" -database-url "$(pg_url run)" -redis-url "redis://127.0.0.1:$redis_port/0"
			-aux-pids "$(head -1 "$pg_dir/postmaster.pid"),${redis_pids[0]}")
	fi
	"$bench" "$scenario" -spawn "$work/$which/samagate" "${target[@]}" -fixture "$work/fx$n.json" \
		"${shape[@]}" "${run_flags[@]}" -label "$label" -rev "$rev" -out "$work/$scenario.jsonl" "${extra[@]}"
}

for n in $NODES; do
	prepare "$n"
	for ((r = 0; r < REPEAT; r++)); do
		for which in "${binaries[@]}"; do
			run_once "$n" "$which"
		done
	done
done

mkdir -p "$OUT"
cp "$work/$scenario.jsonl" "$OUT/$scenario.jsonl"
blog "wrote $OUT/$scenario.jsonl"
if [[ $scenario == fanout ]]; then
	"$bench" plot -in "$OUT/fanout.jsonl" -out "$OUT/fanout.svg"
fi
