#!/usr/bin/env bash
# test.sh runs the whole samagate test suite on a fresh Debian machine, as root
# and non-interactive (CI=true, no stdin): installs Redis and PostgreSQL if
# missing, starts throw-away instances on free loopback ports in a temp dir,
# runs `go test -race -count=1` against them, and always stops them.
# Sourced (`source scripts/test.sh`), it only starts the services, sets the
# variables below and $redis_port, $pg_port, $PGBIN, $tmp, and leaves an EXIT
# trap (cleanup) that stops them.
#
#   scripts/test.sh                 # go test -race -count=1 ./..., then the
#                                   # gateway suite against a cluster node
#   scripts/test.sh ./gateway/...   # only some packages (any go test args)
#
# Tests find the services through SAMAGATE_TEST_REDIS_URL (standalone),
# SAMAGATE_TEST_REDIS_CLUSTER_URL (three masters) and SAMAGATE_TEST_DATABASE_URL. The exit code is go test's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "test.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# pg_bin prints the newest /usr/lib/postgresql/*/bin that holds a server
# (the psql client package alone has the directory but no postgres/initdb).
pg_bin() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
		[[ -x $d/postgres && -x $d/initdb && -x $d/pg_ctl && -x $d/pg_isready ]] && { echo "$d"; return; }
	done
	return 0
}

# apt_install installs Debian packages as root, running apt-get update once.
apt_updated=""
apt_install() {
	[[ $(id -u) -eq 0 ]] || die "missing $*: run as root, or install them first"
	log "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	if [[ -z $apt_updated ]]; then
		apt-get update -qq </dev/null >/dev/null
		apt_updated=1
	fi
	apt-get install -y -qq --no-install-recommends "$@" </dev/null >/dev/null
}

# ensure_services installs what the tests use if missing, in one apt run:
# redis-server, PostgreSQL, Debian's chromium for the browser test (run
# headless; never a downloaded browser) and nginx (only `nginx -t` of the
# load balancer config; Debian's package starts no server in a container).
ensure_services() {
	local need=()
	command -v chromium >/dev/null || need+=(chromium)
	command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx) # deploy/ checks its config with nginx -t
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null || need+=(redis-server)
	[[ -n $(pg_bin) ]] || need+=(postgresql)
	((${#need[@]} == 0)) || apt_install "${need[@]}"
	[[ -n $(pg_bin) ]] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin"
}

# free_port prints a TCP port nobody listens on at 127.0.0.1.
free_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port found"
}

# free_cluster_port prints a port that is free together with its cluster
# bus port (port + 10000), both below Linux's ephemeral range (32768+), so
# an outgoing connection cannot take the bus port meanwhile.
free_cluster_port() {
	local p
	for _ in $(seq 100); do
		p=$((20000 + RANDOM % 2700))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		(exec 3<>"/dev/tcp/127.0.0.1/$((p + 10000))") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free cluster port found"
}

# wait_for <what> <log file> <command...> retries the command for 15 s.
wait_for() {
	local what=$1 logf=$2
	shift 2
	for _ in $(seq 150); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	log "$what did not start; its log:"
	cat "$logf" >&2 || true
	exit 1
}

ensure_services
PGBIN=$(pg_bin)

tmp=$(mktemp -d /tmp/samagate-test.XXXXXX)
chmod 755 "$tmp" # the postgres user must reach $tmp/pg
pg_dir=$tmp/pg
redis_pids=()
pg_started=""

# PostgreSQL refuses to run as root: as root, run it as the postgres user.
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
	as_pg=(runuser -u postgres --)
fi

cleanup() {
	local code=$?
	local p
	for p in "${redis_pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [[ -n $pg_started ]]; then
		"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pg_dir" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
	exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_redis <port> <name> [args...]: no persistence, loopback only, in the
# foreground of a background job.
start_redis() {
	local port=$1 name=$2
	shift 2
	mkdir -p "$tmp/$name"
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$tmp/$name" --logfile "$tmp/$name/redis.log" --daemonize no "$@" </dev/null &
	redis_pids+=($!)
	wait_for "redis $name" "$tmp/$name/redis.log" redis-cli -h 127.0.0.1 -p "$port" ping
}

# A standalone Redis, and a Redis Cluster of three masters (no replicas).
redis_port=$(free_port)
start_redis "$redis_port" redis
cluster_addrs=()
for i in 1 2 3; do
	p=$(free_cluster_port)
	start_redis "$p" "cluster$i" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
	cluster_addrs+=("127.0.0.1:$p")
done
redis-cli --cluster create "${cluster_addrs[@]}" --cluster-replicas 0 --cluster-yes </dev/null >"$tmp/cluster-create.log" 2>&1 ||
	{ cat "$tmp/cluster-create.log" >&2; die "redis cluster create failed"; }
cluster_ok() {
	local a
	for a in "${cluster_addrs[@]}"; do
		redis-cli -h "${a%:*}" -p "${a#*:}" cluster info | grep -q 'cluster_state:ok' || return 1
	done
}
wait_for "redis cluster" "$tmp/cluster-create.log" cluster_ok

# PostgreSQL: a throw-away cluster, trust auth, socket in its own dir, no
# fsync; SAMAGATE_TEST_PG_DURABLE=1 keeps PostgreSQL's durable defaults
# (fsync, synchronous commit), as in production, for write benchmarks.
pg_port=$(free_port)
pg_opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
[[ ${SAMAGATE_TEST_PG_DURABLE:-} == 1 ]] && pg_opts=
mkdir -p "$pg_dir"
((${#as_pg[@]} == 0)) || chown postgres "$pg_dir"
"${as_pg[@]}" "$PGBIN/initdb" -D "$pg_dir" -U postgres --auth=trust -E UTF8 >"$tmp/initdb.log" 2>&1 ||
	{ cat "$tmp/initdb.log" >&2; die "initdb failed"; }
pg_started=1
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$pg_dir" -l "$pg_dir/server.log" -w -t 30 start \
	-o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 $pg_opts" \
	>/dev/null || { cat "$pg_dir/server.log" >&2; die "postgresql did not start"; }
wait_for postgresql "$pg_dir/server.log" "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$pg_port" -U postgres

export SAMAGATE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
SAMAGATE_TEST_REDIS_CLUSTER_URL=$(IFS=,; echo "${cluster_addrs[*]}")
export SAMAGATE_TEST_REDIS_CLUSTER_URL
export SAMAGATE_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
log "started redis-server on 127.0.0.1:$redis_port, a redis cluster on $SAMAGATE_TEST_REDIS_CLUSTER_URL and postgresql $(basename "$(dirname "$PGBIN")") on 127.0.0.1:$pg_port (temp dir $tmp)"

# Sourced (by scripts/bench-fanout.sh) rather than run: the services are up
# and the caller runs what it needs; the EXIT trap above stops them.
if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
	return 0
fi

# SAMAGATE_TEST_FLAGS replaces the default go test flags (benchmarks run
# without the race detector: make bench-cluster).
read -r -a flags <<<"${SAMAGATE_TEST_FLAGS:--race -count=1}"
if (($# > 0)); then
	go test "${flags[@]}" "$@"
	exit
fi
go test "${flags[@]}" ./...
log "the gateway transcript suite again, against a node of a cluster (PostgreSQL store, Redis presence and bus)"
SAMAGATE_TEST_GATEWAY_CLUSTER=1 go test "${flags[@]}" ./gateway/
