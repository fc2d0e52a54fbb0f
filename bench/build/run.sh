#!/usr/bin/env bash
# Build times of the workspace at HEAD against a baseline revision, on this
# machine, in one run: a clean debug build of every target (`cargo build
# --workspace --all-targets` into an empty target directory), then the
# incremental build after touching one file of core (the classifier's planner),
# three times (median).
#
# Usage: BASELINE_REV=<rev> bench/build/run.sh [work-dir]   (default: target/bench-build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/target/bench-build}"
base="${BASELINE_REV:?set BASELINE_REV to the revision to compare with}"
rm -rf "$work"; mkdir -p "$work"
git -C "$root" worktree remove --force "$work/base" 2>/dev/null || true
git -C "$root" worktree add -q --detach "$work/base" "$base"
git -C "$root" worktree remove --force "$work/head" 2>/dev/null || true
git -C "$root" worktree add -q --detach "$work/head" HEAD
trap 'git -C "$root" worktree remove --force "$work/base"; git -C "$root" worktree remove --force "$work/head"' EXIT

# Seconds, one decimal, that "$@" took.
secs() {
  local t0 t1 ms
  t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
  ms=$(( (t1 - t0) / 1000000 ))
  printf '%d.%d' $(( ms / 1000 )) $(( ms % 1000 / 100 ))
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

for side in base head; do
  dir="$work/$side"
  export CARGO_TARGET_DIR="$work/target-$side"
  clean=$(secs cargo build --locked --workspace --all-targets --manifest-path "$dir/Cargo.toml")
  file="$dir/core/src/diagnose/plan.rs"
  runs=()
  for _ in 1 2 3; do
    echo "// touched $(date +%s%N)" >> "$file"
    runs+=("$(secs cargo build --locked --workspace --all-targets --manifest-path "$dir/Cargo.toml")")
  done
  git -C "$dir" checkout -q -- "$file"
  echo "$side ($(git -C "$dir" rev-parse --short HEAD)): clean ${clean}s; incremental after editing ${file#"$dir"/}: median $(median "${runs[@]}")s (${runs[*]})"
done
