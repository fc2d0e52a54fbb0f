#!/usr/bin/env bash
# Benchmark: `ci-medic dashboard build` on a real Playwright run of 10,000 tests
# (1,000 failing) against Playwright's own HTML report of the same run
# (`npx playwright merge-reports --reporter html` on its blob report), then the
# time until each site shows its first useful content in headless Chromium.
#
# Usage: bench/dashboard/run.sh [work-dir]   (default: target/bench-dashboard)
# RUNS (default 7) builds and page loads per measurement; medians are printed.
# The generated run is kept in the work dir and reused (delete it to regenerate).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/target/bench-dashboard}"
runs="${RUNS:-7}"
tests_per_file=100
files=100
"$root/scripts/bootstrap" >/dev/null
cargo build --release --locked -p ci-medic -p scenario-harness --bin ci-medic --bin render-bench \
  --manifest-path "$root/Cargo.toml" 2>&1 | tail -1
ci="$root/target/release/ci-medic"
render="$root/target/release/render-bench"
suite="$root/fixtures/e2e"
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now_ms() { date +%s%3N; }

run="$work/run"
if [ ! -f "$run/results.json" ] || [ ! -d "$run/blob-report" ]; then
  echo "generating and running $((files * tests_per_file)) tests (once; kept in $run)" >&2
  rm -rf "$run" && mkdir -p "$run/tests"
  ln -s "$suite/node_modules" "$run/node_modules"
  cat > "$run/playwright.config.ts" <<'CFG'
import { defineConfig } from '@playwright/test';
export default defineConfig({
  testDir: 'tests',
  workers: 2,
  retries: 0,
  reporter: [['blob', { outputDir: 'blob-report' }], ['json', { outputFile: 'results.json' }], ['junit', { outputFile: 'junit.xml' }]],
});
CFG
  FILES=$files PER=$tests_per_file node - "$run/tests" <<'GEN'
const fs = require('fs');
const dir = process.argv[2], files = +process.env.FILES, per = +process.env.PER;
for (let f = 0; f < files; f++) {
  let src = "import { test, expect } from '@playwright/test';\n\ntest.describe('area " + f + "', () => {\n";
  for (let t = 0; t < per; t++) {
    const i = f * per + t;
    let body = `expect(${i}).toBe(${i});`;
    if (i % 10 === 5) {   // one test in ten fails, four ways
      switch ((i / 10 | 0) % 4) {
        case 0: body = `expect(${i}, 'price of item ${i}').toBe(${i + 1});`; break;
        case 1: body = `throw new Error("locator.click: Timeout 5000ms exceeded.\\nCall log:\\n  - waiting for getByTestId('row-${i}')");`; break;
        case 2: body = `throw new Error('page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:3000/items/${i}');`; break;
        default: body = `expect('Saved item ${i}').toContain('Created item');`;
      }
    }
    src += `  test('case ${i}', async () => { ${body} });\n`;
  }
  fs.writeFileSync(`${dir}/area${String(f).padStart(3, '0')}.spec.ts`, src + '});\n');
}
GEN
  start=$(now_ms)
  (cd "$run" && node node_modules/@playwright/test/cli.js test > playwright.log 2>&1) || true
  echo "playwright run: $(( $(now_ms) - start )) ms; $(grep -cE '✘|failed' "$run/playwright.log" || true) failure lines" >&2
fi

cd "$work"
rm -rf bundle analysis.json site pw-report
"$ci" collect --dir "$run" --out bundle > /dev/null
"$ci" classify bundle > /dev/null
tests=$(python3 -c 'import json;b=json.load(open("bundle/bundle.json"));s=b["summary"];print(s["tests"],s["failed"])')
echo "input: tests failed = $tests; bundle.json $(du -b bundle/bundle.json | cut -f1) bytes" >&2

ours=(); ours_rss=()
for _ in $(seq "$runs"); do
  start=$(now_ms)
  /usr/bin/time -f "%M" -o rss.txt "$ci" dashboard build --bundle bundle --analysis analysis.json --out site > /dev/null
  ours+=($(( $(now_ms) - start ))); ours_rss+=($(cat rss.txt))
done
theirs=(); theirs_rss=()
for _ in $(seq "$runs"); do
  rm -rf pw-report
  start=$(now_ms)
  (cd "$run" && PLAYWRIGHT_HTML_OPEN=never PLAYWRIGHT_HTML_OUTPUT_DIR="$work/pw-report" \
    /usr/bin/time -f "%M" -o "$work/rss.txt" node node_modules/@playwright/test/cli.js merge-reports --reporter html blob-report > /dev/null)
  theirs+=($(( $(now_ms) - start ))); theirs_rss+=($(cat rss.txt))
done
ours_ms=$(printf '%s\n' "${ours[@]}" | median)
theirs_ms=$(printf '%s\n' "${theirs[@]}" | median)
ours_kb=$(printf '%s\n' "${ours_rss[@]}" | median)
theirs_kb=$(printf '%s\n' "${theirs_rss[@]}" | median)
ours_size=$(du -sb site | cut -f1); theirs_size=$(du -sb pw-report | cut -f1)
ours_files=$(find site -type f | wc -l); theirs_files=$(find pw-report -type f | wc -l)

echo "== build (median of $runs; wall ms, peak RSS MB, site bytes, files)"
printf '%-40s %8s ms %8.1f MB %12s B %6s files\n' "ci-medic dashboard build" "$ours_ms" "$(echo "$ours_kb/1024" | bc -l)" "$ours_size" "$ours_files"
printf '%-40s %8s ms %8.1f MB %12s B %6s files\n' "playwright merge-reports --reporter html" "$theirs_ms" "$(echo "$theirs_kb/1024" | bc -l)" "$theirs_size" "$theirs_files"
echo "ratio (playwright / ci-medic): $(echo "scale=2; $theirs_ms / $ours_ms" | bc) x build time"
echo "all runs: ci-medic ${ours[*]} | playwright ${theirs[*]}"

echo "== first render in headless Chromium (median of $runs cold loads; ms from navigation start)"
"$render" --runs "$runs" \
  "overview=file://$work/site/index.html=#verdict" \
  "explorer=file://$work/site/tests.html=#explorer-rows tr" \
  "failure=file://$work/site/failures/0001.html=h1" \
  "playwright-html=file://$work/pw-report/index.html=.test-file-test"
