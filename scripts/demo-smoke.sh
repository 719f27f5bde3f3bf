#!/usr/bin/env bash
# Checks the README's demo command end to end: `./run demo` must serve the overview
# (server-rendered, with the navigation), /health, /ready and /metrics.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORT=${DEMO_SMOKE_PORT:-3999}
LOG=tests/output/demo.log
mkdir -p tests/output

GANTRY_LISTEN=127.0.0.1:$PORT GANTRY_SIMULATOR_PORT=0 GANTRY_SIMULATOR_KUBECONFIG="$ROOT/tests/output/demo.kubeconfig" \
  ./run demo >"$LOG" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT

fail() { echo "demo smoke: $*" >&2; tail -n 30 "$LOG" >&2; exit 1; }
for _ in $(seq 1 600); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready" && break
  kill -0 $PID 2>/dev/null || fail "./run demo exited early"
  sleep 0.5
done
grep -q "Gantry is starting on http://127.0.0.1:$PORT" "$LOG" \
  || fail "the demo did not say where it listens"

page=$(curl -fsS "http://127.0.0.1:$PORT/") || fail "/ did not answer 200"
for section in Environments History Metrics Backups Approvals Audit; do
  grep -q ">$section</a>" <<<"$page" || fail "/ lacks the navigation entry $section"
done
curl -fsS "http://127.0.0.1:$PORT/health" | grep -q '"ok"' || fail "/health"
curl -fsS "http://127.0.0.1:$PORT/ready" | grep -q '"ready"' || fail "/ready"
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -q '^http_requests_total' || fail "/metrics"
# The simulated cluster answers kubectl through the kubeconfig the demo wrote.
KUBECONFIG="$ROOT/tests/output/demo.kubeconfig" "$GANTRY_KUBECTL" get deploy -A -o name | grep -q deployment.apps/backend \
  || fail "kubectl cannot reach the demo's simulated cluster"
echo "demo smoke: ./run demo serves /, /health, /ready and /metrics; kubectl reaches its simulated cluster" >&2
