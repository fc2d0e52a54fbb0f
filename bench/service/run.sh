#!/usr/bin/env bash
# Benchmark of the cloud-agent on loopback with wrk: p50/p99 latency and
# throughput of POST /process-logs (a fresh analysis and record per request) for
# 64 KiB and 4 MiB bundles, paced at under 200 req/s and unpaced; the release
# binary's size; cold start (exec to first answered request).
#
# Usage: bench/service/run.sh [work-dir]     (default: target/bench-service)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="${1:-$root/target/bench-service}"
for tool in wrk python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (apt-get install wrk python3)" >&2; exit 1; }
done
cargo build --release --locked -p ci-medic -p ci-medic-cloud-agent --manifest-path "$root/Cargo.toml"
agent="$root/target/release/ci-medic-cloud-agent"
rm -rf "$work"; mkdir -p "$work"
"$root/target/release/ci-medic" collect --dir "$root/fixtures/runs/selector_drift" --out "$work/src" >/dev/null 2>&1
python3 "$here/make_bundles.py" "$work/src/bundle.json" "$work"

echo "binary: $(stat -c %s "$agent") bytes ($(du -h "$agent" | cut -f1)) $agent"
python3 "$here/cold_start.py" "$agent" "$work/cold-store" 30 | sed 's/^JSON /cold start: /'

export DEVELOPER_AGENT_TOKEN=bench-token
CI_MEDIC_LOG=warn "$agent" serve --addr 127.0.0.1:0 --store "$work/store" > "$work/addr" 2>"$work/service.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q listening "$work/addr" 2>/dev/null && break; sleep 0.05; done
url=$(sed -n 's/^listening on //p' "$work/addr")
load() { # name bundle connections duration delay_ms
  local out
  out=$(BUNDLE="$work/bundle-$2" DELAY_MS="$5" wrk -t 2 -c "$3" -d "$4" --timeout 10s -s "$here/post.lua" "$url" | sed -n 's/^JSON //p')
  echo "$1: $out"
}
load "64k paced (4 connections, 20 ms apart: under 200 req/s)" 64k 4 15s 20
load "64k unpaced (8 connections)" 64k 8 15s 0
load "4m paced (2 connections, 100 ms apart)" 4m 2 15s 100
load "4m unpaced (4 connections)" 4m 4 15s 0
echo "records stored: $(find "$work/store" -name analysis.json | wc -l)"
