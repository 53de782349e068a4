#!/usr/bin/env bash
# scripts/bump-version.sh — set the release version of every module at once.
#
#   bash scripts/bump-version.sh 0.2.0
#
# It writes the version into core's Version constant (core/config.go, without
# the "v") and into every require line of a github.com/gokinde/kinde/...
# module in every go.mod of go.work (with the "v"), so that the library modules
# require each other at the version they are tagged with. Local work still
# goes through go.work and the modules' replace lines; internal/release's
# proxy-install test checks the result. docs/releasing.md has the whole
# release procedure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

die() {
	printf 'bump-version: %s\n' "$*" >&2
	exit 1
}

[ "$#" -eq 1 ] || die "usage: bash scripts/bump-version.sh X.Y.Z (for example 0.2.0)"
VERSION=${1#v}
# Semantic version without build metadata: X.Y.Z or X.Y.Z-prerelease.
[[ $VERSION =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$ ]] ||
	die "$1 is not a version of the form X.Y.Z or X.Y.Z-pre (for example 0.2.0)"
[ "${BASH_REMATCH[1]}" -lt 2 ] ||
	die "version $VERSION needs a /v${BASH_REMATCH[1]} suffix on every module path: this script does not do that"

CONFIG=core/config.go
count=$(grep -cE '^const Version = "[^"]*"$' "$CONFIG" || true)
[ "$count" -eq 1 ] || die "expected one line 'const Version = \"...\"' in $CONFIG, found $count"
sed -i -E "s/^const Version = \"[^\"]*\"$/const Version = \"$VERSION\"/" "$CONFIG"
echo "$CONFIG: Version = \"$VERSION\""

# Every "use" of go.work, one directory a line.
mapfile -t MODULES < <(go work edit -json | sed -n 's/^[[:space:]]*"DiskPath": "\(.*\)",\{0,1\}$/\1/p')
[ "${#MODULES[@]}" -gt 0 ] || die "no modules found in go.work"

for dir in "${MODULES[@]}"; do
	gomod=${dir%/}/go.mod
	[ -f "$gomod" ] || die "go.work uses $dir, which has no go.mod"
	# The module paths required in this go.mod (replace lines have "=>").
	mapfile -t REQUIRED < <(awk '
		/^[[:space:]]*require[[:space:]]*\(/ { block = 1; next }
		block && /^[[:space:]]*\)/ { block = 0; next }
		/=>/ { next }
		block { print $1; next }
		$1 == "require" { print $2 }
	' "$gomod" | grep -E '^github\.com/gokinde/kinde(/|$)' | sort -u || true)
	[ "${#REQUIRED[@]}" -gt 0 ] || continue
	args=()
	for path in "${REQUIRED[@]}"; do
		args+=("-require=$path@v$VERSION")
	done
	go mod edit "${args[@]}" "$gomod"
	echo "$gomod: ${REQUIRED[*]} at v$VERSION"
done

echo "done: commit, then tag (see docs/releasing.md)"
