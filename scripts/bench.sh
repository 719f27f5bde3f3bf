#!/usr/bin/env bash
# Measures the figures reported in the README's "Performance" section, on a release build:
#   - first load: bytes a browser downloads for the first page (HTML + JS + WASM + CSS), gzip
#   - cold start: process start until /ready answers 200 (database already running)
#   - overview SSR throughput and latency at 64 connections (wrk)
#   - resident memory idle and after the load
# Run it through ./run bench (which bootstraps the tools).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. "$GANTRY_TOOLS/env.sh"

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk (Debian)" >&2
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

./run build >&2
scripts/postgres.sh start
URL=$(scripts/postgres.sh url)
PORT=${BENCH_PORT:-3900}
BIN=target/release/gantry

start_server() {
  # With the simulated cluster: page views then read real watch caches, as in production.
  GANTRY_SIMULATOR=true GANTRY_SIMULATOR_PORT=0 \
  GANTRY_DATABASE_URL=$URL GANTRY_LISTEN=127.0.0.1:$PORT GANTRY_SITE_ROOT=target/site \
    GANTRY_LOG_FORMAT=json GANTRY_LOG=warn "$BIN" >/dev/null 2>&1 &
  SERVER_PID=$!
}
stop_server() { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap stop_server EXIT

# --- cold start to ready (median of 5) ---
starts=()
for _ in 1 2 3 4 5; do
  t0=$(date +%s%N)
  start_server
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready"; do sleep 0.005; done
  t1=$(date +%s%N)
  starts+=($(( (t1 - t0) / 1000000 )))
  stop_server
done
COLD_MS=$(printf '%s\n' "${starts[@]}" | sort -n | sed -n 3p)

start_server
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready"; do sleep 0.01; done

# --- first load, as a browser fetches it (gzip) ---
size() { curl -fs -H 'Accept-Encoding: gzip' "http://127.0.0.1:$PORT$1" | wc -c; }
HTML=$(size /); JS=$(size /pkg/gantry.js); WASM=$(size /pkg/gantry_bg.wasm); CSS=$(size /pkg/gantry.css)
TOTAL=$(( HTML + JS + WASM + CSS ))
RAW_WASM=$(stat -c %s target/site/pkg/gantry_bg.wasm)

sleep 1
RSS_IDLE=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")

# --- overview SSR under load ---
WRK=$(wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$PORT/" 2>&1)
RPS=$(echo "$WRK" | awk '/Requests\/sec/ {print $2}')
P50=$(echo "$WRK" | awk '$1=="50%" {print $2}')
P99=$(echo "$WRK" | awk '$1=="99%" {print $2}')
RSS_LOAD=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")

SIMULATOR=$(cargo run -q --release -p gantry-simulator --example throughput)

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
cat <<REPORT
| measure | result |
|---|---|
| first load, gzip (HTML + JS + WASM + CSS) | $(kib "$TOTAL") (HTML $(kib "$HTML"), JS $(kib "$JS"), WASM $(kib "$WASM"), CSS $(kib "$CSS")) |
| WASM before compression | $(kib "$RAW_WASM") |
| cold start to ready (median of 5) | ${COLD_MS} ms (runs: ${starts[*]}) |
| overview SSR, 64 connections, 10 s | ${RPS} req/s, p50 ${P50}, p99 ${P99} |
| resident memory idle / after load | $(( RSS_IDLE / 1024 )) MiB / $(( RSS_LOAD / 1024 )) MiB |
$SIMULATOR
REPORT
