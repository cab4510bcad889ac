#!/usr/bin/env bash
# test.sh runs the whole samagate test suite on a fresh Debian machine:
# installs Redis and PostgreSQL if missing (as root, non-interactive), starts
# throw-away instances on free loopback ports in a temp dir, runs
# `go test -race` against them and always stops them.
#
#   scripts/test.sh                 # go test -race -count=1 ./...
#   scripts/test.sh ./gateway/...   # only some packages
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "test.sh: $*" >&2; }

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

# install_missing installs the Debian packages of the services the tests use.
install_missing() {
	local need=()
	command -v redis-server >/dev/null || need+=(redis-server)
	[[ -n "$(pg_bin)" && -x "$(pg_bin)/initdb" ]] || need+=(postgresql)
	((${#need[@]})) || return 0
	if [[ $(id -u) -ne 0 ]]; then
		log "missing ${need[*]}; run as root or install them first"
		exit 1
	fi
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq </dev/null >/dev/null
	apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null
}

# free_port prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	log "no free port found"
	exit 1
}

wait_for() { # wait_for <what> <command...>
	local what=$1
	shift
	for _ in $(seq 1 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "$what did not start"
	return 1
}

install_missing

tmp=$(mktemp -d /tmp/samagate-test.XXXXXX)
chmod 755 "$tmp"
redis_pid=""
pg_dir="$tmp/pg"
PGBIN=$(pg_bin)
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
	as_pg=(runuser -u postgres --)
fi

cleanup() {
	local code=$?
	[[ -n "$redis_pid" ]] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	if [[ -f "$pg_dir/postmaster.pid" ]]; then
		"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pg_dir" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit "$code"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$tmp" --logfile "$tmp/redis.log" </dev/null &
redis_pid=$!
wait_for redis redis-cli -p "$redis_port" ping

pg_port=$(free_port)
mkdir -p "$pg_dir"
[[ ${#as_pg[@]} -eq 0 ]] || chown postgres "$pg_dir"
"${as_pg[@]}" "$PGBIN/initdb" -D "$pg_dir" -U postgres --auth=trust -E UTF8 >"$tmp/initdb.log" 2>&1 ||
	{ cat "$tmp/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pg_dir" -l "$pg_dir/server.log" -w start \
	-o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" >/dev/null
wait_for postgresql pg_isready -h 127.0.0.1 -p "$pg_port"

export SAMAGATE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export SAMAGATE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
log "redis on 127.0.0.1:$redis_port, postgresql on 127.0.0.1:$pg_port (temp dir $tmp)"

if (($# == 0)); then
	set -- ./...
fi
go test -race -count=1 "$@"
