#!/usr/bin/env bash
# Benchmark: time to green after `ci-medic heal` (its declared action, then a
# rerun of only the failing tests) against the usual manual fix (the same
# action, then the whole suite again), on demo app scenarios, real Chromium.
# Each scenario runs RUNS times (default 3); medians are printed.
#
# Usage: bench/heal/run.sh [work-dir]     (default: target/bench-heal)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/target/bench-heal}"
runs="${RUNS:-3}"
"$root/scripts/bootstrap" >/dev/null
cargo build --release --locked -p ci-medic -p demo-app --manifest-path "$root/Cargo.toml" 2>&1 | tail -1
ci="$root/target/release/ci-medic"
demo="$root/target/release/demo-app"
cli="$root/fixtures/e2e/node_modules/@playwright/test/cli.js"
suite="$root/fixtures/e2e"
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

checkout() { # dir: a git checkout of the suite
  mkdir -p "$1"
  cp "$suite/playwright.config.ts" "$suite/package.json" "$suite/tsconfig.json" "$1/"
  cp -r "$suite/tests" "$1/tests"
  ln -s "$suite/node_modules" "$1/node_modules"
  printf 'node_modules\nrun/\nbundle/\nself-heal/\n.auth/\ndata/\n*.log\nanalysis.json\nfull/\n' > "$1/.gitignore"
  (cd "$1" && git init -q && git add -A && git -c user.name=b -c user.email=b@example.com commit -qm suite)
}

start_app() { # dir data-dir config -> sets app_pid, base
  : > "$1/app.out"
  "$demo" serve --addr 127.0.0.1:0 --data-dir "$2" --config "$3" > "$1/app.out" 2>&1 &
  app_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$1/app.out" && break; sleep 0.05; done
  base=$(grep -o 'listening on [^ ]*' "$1/app.out" | head -1 | cut -d' ' -f3)
  [ -n "$base" ] || { echo "error: the demo app did not start: $(tail -3 "$1/app.out")" >&2; exit 1; }
}

playwright() { # dir base out-dir [args]
  local dir=$1 base=$2 out=$3; shift 3
  (cd "$dir" && E2E_BASE_URL="$base" E2E_REPORT_DIR="$out" E2E_OUTPUT_DIR="$out/test-results" \
    node "$cli" test "$@" > "$out.log" 2>&1) || true
}

heal_ms() { # dir base -> prints the report's duration
  (cd "$1" && E2E_BASE_URL="$2" "$ci" heal --event workflow_dispatch > /dev/null 2> heal.log)
  local id; id=$(jq -r .run.run_id "$1/self-heal/context.json")
  local verdict; verdict=$(jq -r .verdict "$1/self-heal/report-$id.json")
  [ "$verdict" = healed ] || { echo "error: heal says $verdict: $(jq -r .reason "$1/self-heal/report-$id.json")" >&2; exit 1; }
  jq -r .duration_ms "$1/self-heal/report-$id.json"
}

bench_data_seed() {
  local heal_times=() full_times=()
  for i in $(seq "$runs"); do
    local d="$work/data_seed-$i"; rm -rf "$d"; checkout "$d"; mkdir -p "$d/data"; : > "$d/app.toml"
    start_app "$d" "$d/data" "$d/app.toml"
    playwright "$d" "$base" "$d/run"
    (cd "$d" && "$ci" collect --dir run --out bundle >/dev/null 2>&1 && "$ci" classify bundle >/dev/null 2>&1)
    printf '[heal]\n[heal.playwright]\ncommand = ["node", "%s", "test"]\nenv = ["E2E_BASE_URL"]\n[heal.actions.rerun_failed]\n[heal.actions.reseed_data]\nrun = "%s seed --data-dir %s"\n' "$cli" "$demo" "$d/data" > "$d/.ci-medic.toml"
    heal_times+=("$(heal_ms "$d" "$base")")
    # The usual fix: empty the data again, seed, run the whole suite.
    rm -rf "$d/data"/*; local t0; t0=$(now_ms)
    "$demo" seed --data-dir "$d/data" > /dev/null
    playwright "$d" "$base" "$d/full"
    full_times+=($(( $(now_ms) - t0 )))
    kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true
  done
  report data_seed "${heal_times[*]}" "${full_times[*]}"
}

bench_timeout_flaky() {
  local heal_times=() full_times=()
  for i in $(seq "$runs"); do
    local d="$work/timeout_flaky-$i"; rm -rf "$d"; checkout "$d"; mkdir -p "$d/data"
    "$demo" seed --data-dir "$d/data" > /dev/null
    printf '[faults.slow]\npaths = ["/items/*"]\nmode = "first:1"\ndelay_ms = 15000\n' > "$d/app.toml"
    start_app "$d" "$d/data" "$d/app.toml"
    playwright "$d" "$base" "$d/run"
    (cd "$d" && "$ci" collect --dir run --out bundle >/dev/null 2>&1 && "$ci" classify bundle >/dev/null 2>&1)
    printf '[heal]\n[heal.playwright]\ncommand = ["node", "%s", "test"]\nenv = ["E2E_BASE_URL"]\n[heal.actions.rerun_failed]\n' "$cli" > "$d/.ci-medic.toml"
    heal_times+=("$(heal_ms "$d" "$base")")
    local t0; t0=$(now_ms)
    playwright "$d" "$base" "$d/full"
    full_times+=($(( $(now_ms) - t0 )))
    kill "$app_pid" 2>/dev/null || true; wait "$app_pid" 2>/dev/null || true
  done
  report timeout_flaky "${heal_times[*]}" "${full_times[*]}"
}

report() { # name heal-times full-times
  local h f; h=$(tr ' ' '\n' <<< "$2" | median); f=$(tr ' ' '\n' <<< "$3" | median)
  printf '%-15s heal (action + rerun of the failing tests): median %6d ms [%s]   whole suite after the same fix: median %6d ms [%s]   ratio %.2f\n' \
    "$1" "$h" "$2" "$f" "$3" "$(awk -v a="$h" -v b="$f" 'BEGIN {print a / b}')"
}

rm -rf "$work"; mkdir -p "$work"
bench_data_seed
bench_timeout_flaky
