#!/usr/bin/env bash
# Benchmark of `ci-medic collect` on a 10,000-test / 1,000-failure run with a 2 GB
# test-results tree, against two baselines on the same input: `jq length results.json`
# and Playwright's own HTML report (`npx playwright merge-reports --reporter html`
# from the blob report of the same run), and optionally against ci-medic as it was
# at another commit (BASELINE_REV), all in one hyperfine run. Prints medians
# (hyperfine) and peak RSS.
#
# Usage: [BASELINE_REV=<rev>] bench/collect/run.sh [work-dir]     (default: target/bench-collect)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/target/bench-collect}"
"$root/scripts/bootstrap" >/dev/null
for tool in hyperfine jq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install hyperfine jq time)" >&2; exit 1; }
done
cargo build --release --locked -p ci-medic --manifest-path "$root/Cargo.toml"
bin="$root/target/release/ci-medic"
baseline=()
if [ -n "${BASELINE_REV:-}" ]; then
  # The named commit, built in its own worktree and target directory.
  base_tree="$root/target/bench-baseline/src"
  rm -rf "$base_tree"; git -C "$root" worktree prune
  git -C "$root" worktree add --detach --force "$base_tree" "$BASELINE_REV" >/dev/null
  CARGO_TARGET_DIR="$root/target/bench-baseline/target" \
    cargo build --release --locked -p ci-medic --manifest-path "$base_tree/Cargo.toml"
  base_bin="$root/target/bench-baseline/target/release/ci-medic"
  base_name="ci-medic collect @ $(git -C "$root" rev-parse --short "$BASELINE_REV")"
  baseline=(-n "$base_name" "$base_bin collect --report results.json --results-dir test-results --out $work/bundle > /dev/null")
fi
if [ ! -f "$work/results.json" ]; then
  rm -rf "$work"; mkdir -p "$work"
  node "$here/generate.mjs" "$work"
fi
cd "$work"
echo "input: $(du -h results.json | cut -f1) results.json, $(du -sh --apparent-size test-results | cut -f1) test-results (apparent), $(find test-results -type f | wc -l) files"
pw="node $root/fixtures/e2e/node_modules/@playwright/test/cli.js"
# Each collect writes a fresh bundle (as in CI); removing the last one is not timed.
hyperfine --warmup 1 --runs 7 --export-markdown "$work/hyperfine.md" --export-json "$work/hyperfine.json" \
  --prepare "rm -rf $work/bundle" \
  "${baseline[@]}" \
  -n 'ci-medic collect' "$bin collect --report results.json --results-dir test-results --out $work/bundle > /dev/null" \
  -n 'ci-medic collect --hash-all' "$bin collect --report results.json --results-dir test-results --out $work/bundle --hash-all > /dev/null" \
  -n 'jq length results.json' 'jq length results.json > /dev/null' \
  -n 'playwright merge-reports --reporter html' "rm -rf playwright-report && PLAYWRIGHT_HTML_OPEN=never $pw merge-reports --reporter html ./blob-report > /dev/null"
rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; }
echo
rm -rf "$work/bundle"
echo "peak RSS (KiB): ci-medic collect $(rss "$bin" collect --report results.json --results-dir test-results --out "$work/bundle")"
echo "peak RSS (KiB): jq length         $(rss jq length results.json)"
echo "bundle: $(du -sh "$work/bundle" | cut -f1), bundle.json $(du -h "$work/bundle/bundle.json" | cut -f1)"
cat "$work/hyperfine.md"
echo
echo "medians (s):"
jq -r '.results[] | "  \(.command): \(.median)"' "$work/hyperfine.json"
