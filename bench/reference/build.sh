#!/usr/bin/env bash
# Builds the reference server (HyperTekOrg/hyperstack's rust/hyperstack-server with its
# `hyperstack` DSL) on the smallest pump stack that serves the load tool's BondingCurve
# updates, into a scratch directory outside this workspace. Not part of the workspace or CI.
#
#   bench/reference/build.sh <reference checkout> [fixtures dir]
#
# fixtures dir: holds idl/pump.json (default: $HYPERSTACK_FIXTURES).
# REFERENCE_SCRATCH: where the crate, its target dir and build.log go
#   (default: ${TMPDIR:-/tmp}/hyperstack-reference).
# Dependencies come from crates.io only (the reference's own crates by path). The
# reference's Cargo.lock is reused so the versions are the ones it was released with.
# Prints the binary's path; run it as
#   YELLOWSTONE_ENDPOINT=http://127.0.0.1:PORT REFERENCE_BIND=127.0.0.1:8878 <binary>
set -euo pipefail

usage() { echo "usage: $0 <reference checkout> [fixtures dir]" >&2; exit 2; }
[ $# -ge 1 ] || usage
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
reference="$(cd "$1" && pwd)"
fixtures="${2:-${HYPERSTACK_FIXTURES:-}}"
[ -n "$fixtures" ] || { echo "no fixtures: pass a path or set HYPERSTACK_FIXTURES" >&2; usage; }
fixtures="$(cd "$fixtures" && pwd)"
idl="$fixtures/idl/pump.json"
scratch="${REFERENCE_SCRATCH:-${TMPDIR:-/tmp}/hyperstack-reference}"

for need in "$reference/hyperstack/Cargo.toml" "$reference/rust/hyperstack-server/Cargo.toml" "$idl"; do
    [ -f "$need" ] || { echo "missing $need" >&2; exit 1; }
done
mkdir -p "$scratch"
scratch="$(cd "$scratch" && pwd)"
case "$scratch/" in
    "$workspace"/*) echo "REFERENCE_SCRATCH must be outside the workspace ($workspace)" >&2; exit 1 ;;
esac

crate="$scratch/reference-server"
mkdir -p "$crate/src" "$crate/idl"
sed "s#@REFERENCE@#$reference#g" "$here/Cargo.toml.in" > "$crate/Cargo.toml"
cp "$here/main.rs" "$crate/src/main.rs"
cp "$idl" "$crate/idl/pump.json"
if [ -f "$reference/Cargo.lock" ] && [ ! -f "$crate/Cargo.lock" ]; then
    cp "$reference/Cargo.lock" "$crate/Cargo.lock"
fi

log="$scratch/build.log"
echo "building the reference at $reference ($(git -C "$reference" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')) in $crate; log: $log" >&2
export CARGO_TARGET_DIR="$scratch/target"
unset CARGO_BUILD_TARGET_DIR
if ! (cd "$crate" && cargo build --release 2>&1) | tee "$log" >&2; then
    echo "the reference build failed; see $log" >&2
    exit 1
fi
echo "$CARGO_TARGET_DIR/release/reference-server"
