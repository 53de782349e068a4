#!/usr/bin/env bash
# scripts/test.sh — run every check and test of the repository.
#
# From the repository root (or anywhere: it changes to the root itself):
#
#   bash scripts/test.sh
#
# The tests need no set-up of their own: they start Redis and the interop
# OpenID provider themselves, and `go test ./...` works in every module. This
# script only drives them. It installs the system packages the tests need
# (redis-server, chromium) when run as root, or fails naming them; then for
# every module of go.work it runs gofmt, go vet, staticcheck (a tool of the
# root go.mod, run with `go tool`) and go test -race; it then checks generated
# code, tests each library module alone (GOWORK=off: its own dependency
# versions, its go.mod tidy), fuzzes each fuzz target briefly and runs each
# benchmark once (both found with `go test -list`). Every check runs even after another one failed;
# the script exits non-zero if any failed and ends with "N passed, M failed".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START_SECONDS=$SECONDS

TEST_TIMEOUT=15m
# Fuzzing budget per target, as a number of executions: a duration
# (-fuzztime=10s) races Go 1.26's fuzzing coordinator at the deadline and
# fails with "context deadline exceeded" on a busy machine without any
# failing input (go.dev/issue/75804, fixed in Go 1.27). A count has no
# deadline to race.
FUZZ_TIME=${FUZZ_TIME:-10000x}

RUN_DIR=$ROOT/.cache/run
mkdir -p "$RUN_DIR"

export GOWORK=$ROOT/go.work
export GOTOOLCHAIN=local

PASSED=()
FAILED=()

header() {
	printf '\n==== %s ==== (at %s)\n' "$*" "$(duration $((SECONDS - START_SECONDS)))"
}

die() {
	printf '\nFATAL: %s\n' "$*" >&2
	exit 1
}

duration() {
	local s=$1
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# check NAME COMMAND [ARGS...] runs one check, records its result and never
# stops the script.
check() {
	local name=$1
	shift
	header "$name"
	local t0=$SECONDS rc=0
	"$@" || rc=$?
	local took
	took=$(duration $((SECONDS - t0)))
	if [ "$rc" -eq 0 ]; then
		PASSED+=("$name")
		printf -- '---- ok: %s (%s)\n' "$name" "$took"
	else
		FAILED+=("$name")
		printf -- '---- FAILED: %s (exit %d, %s)\n' "$name" "$rc" "$took"
	fi
}

# retry N COMMAND [ARGS...] runs a command up to N times, pausing between tries.
retry() {
	local n=$1 i
	shift
	for ((i = 1; i <= n; i++)); do
		if "$@"; then
			return 0
		fi
		if [ "$i" -lt "$n" ]; then
			echo "command failed (try $i of $n): $*; retrying" >&2
			sleep $((i * 5))
		fi
	done
	return 1
}

command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go 1.26 or newer"

# ---------------------------------------------------------------------------
header "system packages"

# command -> Debian package that provides it. The tests look for these
# commands themselves and fail naming the package; installing them here lets
# CI (root) start from a bare machine.
declare -A DEB_PACKAGE=(
	[redis-server]=redis-server
	[chromium]=chromium
)

missing_packages() {
	local cmd
	for cmd in "${!DEB_PACKAGE[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || echo "${DEB_PACKAGE[$cmd]}"
	done | sort -u
}

go version

mapfile -t MISSING < <(missing_packages)
if [ "${#MISSING[@]}" -gt 0 ]; then
	echo "missing Debian packages: ${MISSING[*]}"
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		export DEBIAN_FRONTEND=noninteractive
		APT_LOG=$RUN_DIR/apt.log
		: >"$APT_LOG"
		echo "installing them with apt-get (log: $APT_LOG)"
		retry 3 apt-get update -qq >>"$APT_LOG" 2>&1 ||
			{ tail -n 30 "$APT_LOG"; die "apt-get update failed"; }
		retry 3 apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >>"$APT_LOG" 2>&1 ||
			{ tail -n 30 "$APT_LOG"; die "apt-get install ${MISSING[*]} failed"; }
	fi
	mapfile -t MISSING < <(missing_packages)
	if [ "${#MISSING[@]}" -gt 0 ]; then
		die "the tests need these Debian packages: ${MISSING[*]}. Install them (sudo apt-get install ${MISSING[*]}) or run this script as root, which installs them."
	fi
fi
redis-server --version
chromium --version 2>/dev/null || die "chromium is installed but does not start: run 'chromium --version' to see why"

header "tools"
# staticcheck is a tool of the root go.mod; in the workspace every module runs it
# with `go tool staticcheck`. Building it once here keeps its build out of the
# first module's check.
retry 2 go tool staticcheck -version || die "go tool staticcheck failed: the root go.mod pins it (go get -tool honnef.co/go/tools/cmd/staticcheck@VERSION)"

# ---------------------------------------------------------------------------
# Modules: every "use" of go.work, as paths relative to the root ("." first).
mapfile -t MODULE_DIRS < <(go list -m -f '{{.Dir}}')
MODULES=()
for dir in "${MODULE_DIRS[@]}"; do
	if [ "$dir" = "$ROOT" ]; then
		MODULES+=(.)
	else
		MODULES+=("${dir#"$ROOT"/}")
	fi
done
[ "${#MODULES[@]}" -gt 0 ] || die "no modules found in go.work"
header "modules"
printf '%s\n' "${MODULES[@]}"

# go_files DIR lists the Go files of the module in DIR, leaving out nested
# modules, testdata and hidden folders.
go_files() {
	find "$1" -mindepth 1 \
		\( -type d \( -name '.*' -o -name testdata -o -name vendor -o -name node_modules \) -prune \) -o \
		\( -type d -exec test -f '{}/go.mod' \; -prune \) -o \
		\( -type f -name '*.go' -print \)
}

gofmt_check() {
	local out
	out=$(go_files "$1" | xargs -r gofmt -l) || return 1
	if [ -n "$out" ]; then
		echo "not gofmt'ed (run gofmt -w on them):"
		echo "$out"
		return 1
	fi
}

in_dir() {
	local dir=$1
	shift
	(cd "$dir" && "$@")
}

TEST_LOG=$RUN_DIR/go-test.log
: >"$TEST_LOG"

go_test() {
	local rc=0
	(cd "$1" && go test -race -count=1 -timeout="$TEST_TIMEOUT" ./...) 2>&1 | tee -a "$TEST_LOG" || rc=$?
	return "$rc"
}

for mod in "${MODULES[@]}"; do
	check "gofmt $mod" gofmt_check "$mod"
	check "go vet $mod" in_dir "$mod" go vet ./...
	check "staticcheck $mod" in_dir "$mod" go tool staticcheck ./...
	check "go test $mod" go_test "$mod"
done

# ---------------------------------------------------------------------------
# Generated code of the management module must match its generator.
snapshot() {
	find "$1" -type f -not -path '*/.*' -print0 | sort -z | xargs -0 -r sha256sum
}

generate_check() {
	local before after
	before=$(snapshot management)
	(cd management && go generate ./...) || return 1
	after=$(snapshot management)
	if [ "$before" != "$after" ]; then
		echo "go generate ./... in management changed these files; run it and commit the result:"
		diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] [0-9a-f]*  //p' | sort -u
		return 1
	fi
}

if [ -d management ] && grep -rqs --include='*.go' '^//go:generate' management; then
	check "go generate management (up to date)" generate_check
fi

# ---------------------------------------------------------------------------
# Each library module alone, as its users build it: without go.work, the
# workspace picks the highest version of every dependency any module needs
# (fiber v2 then runs on the fasthttp that fiber v3 needs), so the tests
# above do not see the versions a module's own go.mod gives its users. Its
# go.mod must also be tidy on its own (a test-only import missing from it
# fails `go mod tidy` in the module, not in the workspace).
alone() {
	(cd "$1" && GOWORK=off "${@:2}")
}

for mod in "${MODULES[@]}"; do
	case $mod in
	. | examples/*) continue ;;
	esac
	check "go mod tidy $mod (alone, up to date)" alone "$mod" go mod tidy -diff
	check "go test $mod (alone, its own dependency versions)" alone "$mod" go test -count=1 -timeout="$TEST_TIMEOUT" ./...
done

# ---------------------------------------------------------------------------
# Fuzz targets and benchmarks, as `go test -list` names them: one line
# "MODULE PACKAGE NAME" each in $RUN_DIR/list.txt.
LIST=$RUN_DIR/list.txt
: >"$LIST"

# list_module MOD appends the fuzz targets and benchmarks of MOD to $LIST.
list_module() {
	local out rc=0
	out=$(cd "$1" && go test -vet=off -run='^$' -list='^(Fuzz|Benchmark)' ./... 2>&1) || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "$out"
		return "$rc"
	fi
	# go test -list prints the names of a package, then "ok <package> <time>".
	awk -v mod="$1" '
		/^ok[ \t]/ { for (i = 0; i < n; i++) print mod, $2, names[i]; n = 0; next }
		/^(Fuzz|Benchmark)[A-Za-z0-9_]*$/ { names[n++] = $0 }
	' <<<"$out" >>"$LIST"
}

for mod in "${MODULES[@]}"; do
	check "list fuzz targets and benchmarks $mod" list_module "$mod"
done

fuzz_target() {
	(cd "$1" && go test -run='^$' -fuzz="^$3\$" -fuzztime="$FUZZ_TIME" "$2")
}

while read -r mod pkg name; do
	check "fuzz $pkg $name ($FUZZ_TIME)" fuzz_target "$mod" "$pkg" "$name"
done < <(grep -E ' Fuzz[^ ]*$' "$LIST" || true)

# Every benchmark, run once so none rots (bench/ holds the comparisons with
# peer libraries; docs/performance.md has real numbers).
bench_package() {
	(cd "$1" && go test -run='^$' -bench="^($3)\$" -benchtime=1x "$2")
}

while read -r mod pkg names; do
	check "benchmarks $pkg (once each)" bench_package "$mod" "$pkg" "$names"
done < <(awk '$3 ~ /^Benchmark/ {
		key = $1 " " $2
		if (!(key in seen)) { order[n++] = key; seen[key] = $3 } else { seen[key] = seen[key] "|" $3 }
	}
	END { for (i = 0; i < n; i++) print order[i], seen[order[i]] }' "$LIST")

# ---------------------------------------------------------------------------
header "summary"
PKG_OK=$(grep -cE '^ok[[:space:]]' "$TEST_LOG" || true)
PKG_FAIL=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' "$TEST_LOG" || true)
echo "test packages: $PKG_OK ok, $PKG_FAIL failed"
echo "fuzz targets: $(grep -cE ' Fuzz[^ ]*$' "$LIST" || true), benchmarks: $(grep -cE ' Benchmark[^ ]*$' "$LIST" || true)"
if [ "${#FAILED[@]}" -gt 0 ]; then
	echo "failed checks:"
	printf '  %s\n' "${FAILED[@]}"
fi
echo "total time: $(duration $((SECONDS - START_SECONDS)))"
echo "${#PASSED[@]} passed, ${#FAILED[@]} failed"
[ "${#FAILED[@]}" -eq 0 ]
