#!/usr/bin/env bash
# scripts/bench-compare.sh — compare the benchmarks of two commits in one sitting.
#
#   bash scripts/bench-compare.sh OLD [NEW] [COUNT] [FILTER]
#
# Builds the bench/ test binary of OLD (a commit, checked out in a temporary
# worktree) and of NEW (default: the working tree), then runs them in turns,
# COUNT rounds (default 6) of one run each, so that load on the machine
# affects both alike, and prints benchstat's comparison. FILTER is a -bench
# regexp (default: every benchmark except the loopback throughput rows).
# Raw results go to testout/bench/old.txt and testout/bench/new.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
old=${1:?usage: bench-compare.sh OLD [NEW] [COUNT] [FILTER]}
new=${2:-}
count=${3:-6}
filter=${4:-'^Benchmark(Floor|GolangJWT|SDKVerify|PeerBearer|RequireBearer|CookieSession)'}
out=$PWD/testout/bench
mkdir -p "$out"
export GOTOOLCHAIN=local
tmp=$(mktemp -d)
cleanup() {
	git worktree remove --force "$tmp/old" >/dev/null 2>&1 || true
	[ -z "${newdir:-}" ] || [ "$newdir" = "$PWD" ] || git worktree remove --force "$newdir" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
build() { # build DIR BINARY
	(cd "$1" && GOWORK="$1/go.work" go test -c -o "$2" ./bench)
}
git worktree add -q --detach "$tmp/old" "$old"
build "$tmp/old" "$tmp/old.test"
newdir=$PWD
if [ -n "$new" ]; then
	newdir=$tmp/new
	git worktree add -q --detach "$newdir" "$new"
fi
build "$newdir" "$tmp/new.test"
: >"$out/old.txt"
: >"$out/new.txt"
for ((i = 1; i <= count; i++)); do
	echo "round $i of $count" >&2
	(cd "$tmp/old/bench" && "$tmp/old.test" -test.run '^$' -test.bench "$filter" -test.benchmem -test.cpu 2) >>"$out/old.txt"
	(cd "$newdir/bench" && "$tmp/new.test" -test.run '^$' -test.bench "$filter" -test.benchmem -test.cpu 2) >>"$out/new.txt"
done
go tool benchstat "$out/old.txt" "$out/new.txt" | tee "$out/compare.txt"
