#!/usr/bin/env bash
# scripts/bench.sh — the benchmark run behind docs/performance.md.
#
#   bash scripts/bench.sh [count]     # default count 6
#
# Runs every benchmark of bench/ (the SDK and the peer libraries, same tokens
# and key) and core's cache benchmark COUNT times with -cpu 2, then prints
# benchstat's medians. Raw results go to testout/bench/new.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
count=${1:-6}
out=testout/bench
mkdir -p "$out"
export GOWORK=$PWD/go.work GOTOOLCHAIN=local
{
	grep -m1 'model name' /proc/cpuinfo || true
	go version
	go test -run '^$' -bench . -benchmem -count "$count" -cpu 2 ./bench
	(cd core && go test -run '^$' -bench TokenCacheMillion -benchtime 1x -count 1 .)
} | tee "$out/new.txt"
go tool benchstat -table .name "$out/new.txt" | tee "$out/benchstat.txt"
