# Makefile is a thin index over scripts/. `make test` is what CI runs.
#   make test                        whole suite, -race, real Redis + PostgreSQL
#   make test ARGS=./protocol/...    the same for some packages (any go test args)
.PHONY: test test-short lint fmt fuzz bench bench-idle bench-cluster bench-commit bench-holdback run

ARGS ?=

test: ## whole suite with -race against real Redis and PostgreSQL (installed if missing)
	bash scripts/test.sh $(ARGS)

test-short: ## go test -race without starting services
	go test -race ./...

lint: ## gofmt, vet, staticcheck, tidy go.mod
	bash scripts/lint.sh

fmt: ## gofmt -w
	gofmt -w .

fuzz: ## every fuzz target for FUZZTIME (default 60s)
	bash scripts/fuzz.sh

bench: ## go benchmarks
	go test -run '^$$' -bench . -benchmem ./...

bench-cluster: ## delivery over websockets: one node on PostgreSQL, then three nodes over the Redis bus (no -race)
	SAMAGATE_TEST_FLAGS=-count=1 SAMAGATE_TEST_GATEWAY_CLUSTER=1 bash scripts/test.sh -run '^$$' -bench 'Delivery' -benchtime 2000x ./gateway/

bench-commit: ## messages/s committed by 1 node and by 3 nodes to one durable PostgreSQL (fsync on), with 4 and 16 senders per node, on loopback and across a round trip of at least 1 ms (no -race)
	SAMAGATE_TEST_PG_DURABLE=1 SAMAGATE_TEST_FLAGS=-count=1 bash scripts/test.sh -run '^$$' -bench 'CommitNodes' -benchtime 3s ./chat/

bench-holdback: ## what commit order costs at ~60k deliveries/s on two nodes (PostgreSQL + Redis, no -race)
	SAMAGATE_TEST_FLAGS=-count=1 SAMAGATE_TEST_GATEWAY_CLUSTER=1 bash scripts/test.sh -run '^$$' -bench 'ClusterHoldBack' -benchtime 4000x -v ./gateway/

bench-idle: ## idle memory per authenticated socket at 15,000 connections
	go build -o bin/samagate ./cmd/samagate
	go run ./cmd/samagate-bench idle -spawn bin/samagate -n 15000

.PHONY: bench-fanout bench-connect bench-channel
bench-fanout: ## delivery latency at 30k-120k deliveries/s (100 groups × 100 sockets), 1 node (SQLite) and 2 nodes (PostgreSQL + Redis): bench/fanout.jsonl, bench/fanout.svg; BEFORE=<rev> interleaves that revision (no -race)
	bash scripts/bench-fanout.sh fanout

bench-channel: ## one post to a channel of 10,000 connected subscribers: time until the last socket has it, gateway RSS during the fan-out (1 node, SQLite): bench/channel.jsonl
	go build -o bin/samagate ./cmd/samagate
	go run ./cmd/samagate-bench channel -spawn bin/samagate -gateway-args "--hash-memory-kib=64 --hash-time=1" \
		-subscribers 10000 -posts 3 -out bench/channel.jsonl

bench-connect: ## connects/s, latency and gateway CPU per 1,000 connects (200 dialers), 1 and 2 nodes: bench/connect.jsonl; BEFORE=<rev> interleaves that revision
	bash scripts/bench-fanout.sh connect

run: ## the gateway on :9001 with SQLite under ./data
	go run ./cmd/samagate
