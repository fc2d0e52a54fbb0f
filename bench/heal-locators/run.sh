#!/usr/bin/env bash
# Benchmark: locator healing by `ci-medic fix` on markup mutations of the demo app
# (renamed ids, changed classes and label texts, wrapped, moved, duplicated and
# removed elements), with the real suite in Debian's Chromium. For each mutation
# in mutations.toml: the app served from mutated templates, the one test it breaks
# run once, then collect, classify and fix (with its validation rerun); a patch is
# also applied with `git apply` and the test rerun. See README.md.
#
# Usage: bench/heal-locators/run.sh [--only <mutation-id>]...
#   WORK=<dir>   work directory, one subdirectory per mutation (default: target/bench-heal-locators)
#   MODE=diff    the app's templates in the repository and each mutation a commit,
#                read by `ci-medic fix --base HEAD~1` (default: neither, the page alone)
#   MODE=reference  as diff, and [fix.reference] reruns the failing test on the app
#                before the mutation to learn which element each locator matched
#   VARIANT=page-objects  the specs keep their locators in page objects
#                (specs/page-objects/); default: plain, locators in the spec
# A full run writes results[-diff].md and results[-diff].json next to this script;
# a run with --only writes them into the work directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${WORK:-$root/target/bench-heal-locators}"
target="${CARGO_TARGET_DIR:-$root/target}"
"$root/scripts/bootstrap" >/dev/null
# Debug binaries: the benchmark measures decisions, not speed.
cargo build --locked -p ci-medic -p demo-app -p scenario-harness --manifest-path "$root/Cargo.toml" 2>&1 | tail -1

mode="${MODE:-neither}"
variant="${VARIANT:-plain}"
suffix=""
if [ "$mode" != neither ]; then suffix="-$mode"; fi
spec=(--spec "$here/specs/locators.spec.ts")
case "$variant" in
  plain) ;;
  page-objects)
    suffix="$suffix-page-objects"
    spec=(--spec "$here/specs/page-objects/locators.spec.ts" --pages "$here/specs/page-objects/pages")
    ;;
  *) echo "VARIANT must be plain or page-objects, found $variant" >&2; exit 2 ;;
esac
out="$here"
if [ $# -gt 0 ]; then out="$work"; fi
revision="$(git -C "$root" describe --always --dirty)"
about="Mode \`$mode\`, $variant specs. Measured $(date -u '+%Y-%m-%d %H:%M UTC') at revision \`$revision\` with debug builds, $(nproc) cores, $(/usr/bin/chromium --version 2>/dev/null | head -1)."

started=$(date +%s)
status=0
"$target/debug/heal-bench" \
  --mutations "$here/mutations.toml" \
  "${spec[@]}" \
  --work "$work" \
  --ci-medic "$target/debug/ci-medic" \
  --json "$out/results$suffix.json" \
  --markdown "$out/results$suffix.md" \
  --mode "$mode" \
  --about "$about" \
  "$@" || status=$?
echo "wall time: $(( $(date +%s) - started ))s; report: $out/results$suffix.md; artifacts: $work"
exit "$status"
