#!/usr/bin/env bash
# scripts/test.sh — run every check and test of the repository.
#
# From the repository root (or anywhere: it changes to the root itself):
#
#   bash scripts/test.sh
#
# It installs the system packages the tests need when run as root (CI),
# installs pinned tools into .cache/bin, starts Redis and an OpenID provider
# on loopback for the tests, then for every module of go.work runs gofmt,
# go vet, staticcheck and go test -race; library modules are also built alone
# (GOWORK=off). It then checks generated code, runs each fuzz target briefly
# and each benchmark once. Every check runs even after another one failed; the
# script exits non-zero if any failed and ends with "N passed, M failed".
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START_SECONDS=$SECONDS

STATICCHECK_VERSION=v0.8.2
# The interop OpenID provider: zitadel/oidc's example OP, pinned in the root
# go.mod by a tool directive (go get -tool).
INTEROP_OP_PACKAGE=github.com/zitadel/oidc/v3/example/server
TEST_TIMEOUT=10m
FUZZ_TIME=10s

CACHE=$ROOT/.cache
BIN=$CACHE/bin
RUN_DIR=$CACHE/run
mkdir -p "$BIN" "$RUN_DIR"

export GOWORK=$ROOT/go.work
export GOTOOLCHAIN=local
export PATH=$BIN:$PATH

PASSED=()
FAILED=()
SERVICE_PIDS=()
BACKGROUND_JOBS=()

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

cleanup() {
	local pid
	for pid in "${BACKGROUND_JOBS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${SERVICE_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${SERVICE_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------
# The Go tools build in the background while the system packages install.
install_staticcheck() {
	if "$BIN/staticcheck" -version 2>/dev/null | grep -qF "(${STATICCHECK_VERSION#v})"; then
		echo "staticcheck $STATICCHECK_VERSION is already in $BIN"
		return 0
	fi
	echo "installing staticcheck $STATICCHECK_VERSION into $BIN"
	retry 3 env GOBIN="$BIN" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
}

build_oidc_provider() {
	local t0=$SECONDS
	echo "building the interop OpenID provider $INTEROP_OP_PACKAGE (version from the root go.mod)"
	retry 2 go build -o "$BIN/interop-oidc-op" "$INTEROP_OP_PACKAGE" || return 1
	echo "built in $(duration $((SECONDS - t0)))"
}

command -v go >/dev/null 2>&1 || die "go is not on PATH: install Go 1.26 or newer"
install_staticcheck >"$RUN_DIR/staticcheck-install.log" 2>&1 &
STATICCHECK_JOB=$!
build_oidc_provider >"$RUN_DIR/interop-oidc-op-build.log" 2>&1 &
OP_BUILD_JOB=$!
BACKGROUND_JOBS=("$STATICCHECK_JOB" "$OP_BUILD_JOB")

# ---------------------------------------------------------------------------
header "system dependencies"

# command -> Debian package that provides it
declare -A DEB_PACKAGE=(
	[redis-server]=redis-server
	[redis-cli]=redis-server
	[chromium]=chromium
	[curl]=curl
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
CHROMIUM_BIN=$(command -v chromium)
export CHROMIUM_BIN

# ---------------------------------------------------------------------------
header "tools"

wait_tool() {
	local pid=$1 what=$2 log=$3
	if ! wait "$pid"; then
		cat "$log"
		die "$what failed (log: $log)"
	fi
	cat "$log"
}
wait_tool "$STATICCHECK_JOB" "installing staticcheck $STATICCHECK_VERSION" "$RUN_DIR/staticcheck-install.log"
staticcheck -version
wait_tool "$OP_BUILD_JOB" "building the interop OpenID provider $INTEROP_OP_PACKAGE (a tool of the root go.mod: go get -tool $INTEROP_OP_PACKAGE@<version>)" "$RUN_DIR/interop-oidc-op-build.log"
BACKGROUND_JOBS=()

# ---------------------------------------------------------------------------
header "services"

# free_port prints a TCP port on 127.0.0.1 that nothing listens on, below the
# kernel's ephemeral range so outgoing connections do not take it meanwhile.
free_port() {
	local i p
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# wait_ready PID SECONDS COMMAND [ARGS...] waits until COMMAND succeeds, the
# process PID exits, or SECONDS pass.
wait_ready() {
	local pid=$1 limit=$2 i
	shift 2
	for ((i = 0; i < limit * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

redis_ping() {
	[ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

start_redis() {
	local port pid log=$RUN_DIR/redis.log attempt
	for attempt in 1 2 3; do
		port=$(free_port) || die "no free port for redis-server"
		redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
			--dir "$RUN_DIR" --daemonize no >"$log" 2>&1 &
		pid=$!
		if wait_ready "$pid" 20 redis_ping "$port"; then
			SERVICE_PIDS+=("$pid")
			export REDIS_ADDR=127.0.0.1:$port
			echo "redis-server (pid $pid) ready at $REDIS_ADDR"
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "redis-server did not start on port $port (try $attempt):"
		tail -n 20 "$log"
	done
	die "redis-server did not start; see $log"
}

start_oidc_provider() {
	local port pid log=$RUN_DIR/interop-oidc-op.log attempt issuer
	local redirect=http://localhost:3000/api/auth/kinde_callback
	for attempt in 1 2 3; do
		port=$(free_port) || die "no free port for the interop OpenID provider"
		# The example OP names its issuer http://localhost:PORT/ and has
		# fixed demo clients and users (see the INTEROP_OIDC_* values below).
		env -u USERS_FILE PORT="$port" REDIRECT_URI="$redirect" \
			"$BIN/interop-oidc-op" >"$log" 2>&1 &
		pid=$!
		issuer=http://localhost:$port/
		if wait_ready "$pid" 30 curl -fsS --max-time 2 "${issuer}.well-known/openid-configuration"; then
			SERVICE_PIDS+=("$pid")
			export INTEROP_OIDC_ISSUER=$issuer
			export INTEROP_OIDC_REDIRECT_URL=$redirect
			export INTEROP_OIDC_CLIENT_ID=web
			export INTEROP_OIDC_CLIENT_SECRET=secret
			export INTEROP_OIDC_SCOPES="openid profile email offline_access"
			export INTEROP_OIDC_USERNAME=test-user2
			export INTEROP_OIDC_PASSWORD=verysecure
			export INTEROP_OIDC_SUBJECT=id2
			export INTEROP_OIDC_M2M_CLIENT_ID=sid1
			export INTEROP_OIDC_M2M_CLIENT_SECRET=verysecret
			echo "interop OpenID provider (pid $pid) ready at $INTEROP_OIDC_ISSUER"
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		echo "the interop OpenID provider did not start on port $port (try $attempt):"
		tail -n 20 "$log"
	done
	die "the interop OpenID provider did not start; see $log"
}

start_redis
start_oidc_provider

# ---------------------------------------------------------------------------
# Modules: every "use" of go.work, as paths relative to the root ("." first).
mapfile -t MODULES < <(go work edit -json | sed -n 's/^[[:space:]]*"DiskPath": "\(.*\)",\{0,1\}$/\1/p' |
	sed -e 's#^\./##' -e 's#/$##' -e 's#^$#.#')
[ "${#MODULES[@]}" -gt 0 ] || die "no modules found in go.work"
header "modules"
printf '%s\n' "${MODULES[@]}"

# A library module is any module of go.work but the root and the examples.
is_library() {
	[ "$1" != . ] && [[ $1 != examples/* ]]
}

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
	[ -f "$mod/go.mod" ] || {
		check "module $mod" sh -c "echo 'go.work uses $mod, which has no go.mod'; exit 1"
		continue
	}
	check "gofmt $mod" gofmt_check "$mod"
	check "go vet $mod" in_dir "$mod" go vet ./...
	check "staticcheck $mod" in_dir "$mod" staticcheck ./...
	check "go test $mod" go_test "$mod"
	if is_library "$mod"; then
		check "standalone build $mod (GOWORK=off)" in_dir "$mod" env GOWORK=off go build ./...
	fi
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
# Fuzz targets: every func FuzzX(f *testing.F) in a _test.go file of any module.
fuzz_target() {
	(cd "$1" && go test -run='^$' -fuzz="^$2\$" -fuzztime="$FUZZ_TIME" .)
}

for mod in "${MODULES[@]}"; do
	[ -f "$mod/go.mod" ] || continue
	mapfile -t PKG_DIRS < <(cd "$mod" && go list -f '{{.Dir}}' ./... 2>/dev/null)
	for dir in "${PKG_DIRS[@]}"; do
		compgen -G "$dir/*_test.go" >/dev/null || continue
		mapfile -t TARGETS < <(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*\*testing\.F).*/\1/p' "$dir"/*_test.go | sort -u)
		for target in "${TARGETS[@]}"; do
			check "fuzz ${dir#"$ROOT"/} $target ($FUZZ_TIME)" fuzz_target "$dir" "$target"
		done
	done
done

# ---------------------------------------------------------------------------
# Every benchmark of every module, run once so none rots (bench/ holds the
# comparisons with peer libraries; docs/performance.md has real numbers).
for mod in "${MODULES[@]}"; do
	if grep -rqs --include='*_test.go' '^func Benchmark' "$mod"; then
		check "benchmarks $mod (once each)" bash -c "cd '$mod' && go test -run='^\$' -bench=. -benchtime=1x ./..."
	fi
done

# ---------------------------------------------------------------------------
header "summary"
PKG_OK=$(grep -cE '^ok[[:space:]]' "$TEST_LOG" || true)
PKG_FAIL=$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' "$TEST_LOG" || true)
echo "test packages: $PKG_OK ok, $PKG_FAIL failed"
if [ "${#FAILED[@]}" -gt 0 ]; then
	echo "failed checks:"
	printf '  %s\n' "${FAILED[@]}"
fi
echo "total time: $(duration $((SECONDS - START_SECONDS)))"
echo "${#PASSED[@]} passed, ${#FAILED[@]} failed"
[ "${#FAILED[@]}" -eq 0 ]
