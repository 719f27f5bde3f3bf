#!/usr/bin/env bash
# Checks the README's demo command end to end: `./run demo` must serve the overview
# (server-rendered, with the navigation), /health, /ready and /metrics.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PORT=${DEMO_SMOKE_PORT:-3999}
LOG=tests/output/demo.log
mkdir -p tests/output

METRICS_PORT=$((PORT + 1))
export GANTRY_DEMO_PROMETHEUS_PORT=$((PORT + 2)) GANTRY_DEMO_ALERTMANAGER_PORT=$((PORT + 3)) GANTRY_DEMO_MONITORING_DIR="$ROOT/tests/output/monitoring"
GANTRY_LISTEN=127.0.0.1:$PORT GANTRY_METRICS_LISTEN=127.0.0.1:$METRICS_PORT GANTRY_SIMULATOR_PORT=0 GANTRY_SIMULATOR_KUBECONFIG="$ROOT/tests/output/demo.kubeconfig" \
  ./run demo >"$LOG" 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT

fail() { echo "demo smoke: $*" >&2; tail -n 30 "$LOG" >&2; exit 1; }
# Whether the output of a command (all of it: `cmd | grep -q` under pipefail fails when grep
# stops reading early and the command gets SIGPIPE) holds a pattern.
has() { local pattern=$1 text; shift; text=$("$@") || return 1; grep -q -- "$pattern" <<<"$text"; }
for _ in $(seq 1 600); do
  curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready" && break
  kill -0 $PID 2>/dev/null || fail "./run demo exited early"
  sleep 0.5
done
grep -q "Gantry is starting on http://127.0.0.1:$PORT" "$LOG" \
  || fail "the demo did not say where it listens"

# Nobody is signed in yet: the overview sends the browser to the demo sign-in.
[ "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$PORT/")" = "303 http://127.0.0.1:$PORT/auth/login?next=%2F" ] \
  || fail "/ does not send an anonymous visitor to sign in"
JAR=$(mktemp); trap 'rm -f "$JAR"; kill -TERM $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
has 'data-person="stakeholder"' curl -fsS "http://127.0.0.1:$PORT/auth/login" || fail "the demo sign-in lists no people"
curl -fsS -o /dev/null -c "$JAR" -d person=stakeholder -d next=/ "http://127.0.0.1:$PORT/auth/demo" || fail "demo sign-in"
page=$(curl -fsS -b "$JAR" "http://127.0.0.1:$PORT/") || fail "/ did not answer 200 once signed in"
for section in Environments History Metrics Backups Approvals Audit; do
  grep -q ">$section</a>" <<<"$page" || fail "/ lacks the navigation entry $section"
done
has '"ok"' curl -fsS "http://127.0.0.1:$PORT/health" || fail "/health"
has '"ready"' curl -fsS "http://127.0.0.1:$PORT/ready" || fail "/ready"
has '^http_requests_total' curl -fsS "http://127.0.0.1:$METRICS_PORT/metrics" || fail "/metrics on its own listener"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" != 200 ] \
  || fail "/metrics is served on the pages' listener too"
# The simulated cluster answers kubectl through the kubeconfig the demo wrote.
has deployment.apps/backend "$GANTRY_KUBECTL" --kubeconfig "$ROOT/tests/output/demo.kubeconfig" get deploy -A -o name \
  || fail "kubectl cannot reach the demo's simulated cluster"
# The demo's own Prometheus: up with the week's history, its charts drawn, its Alertmanager
# read (a silence list, not "not known").
charts=""
for _ in $(seq 1 240); do
  charts=$(curl -fsS -b "$JAR" "http://127.0.0.1:$PORT/monitoring?env=prod&range=7d") || charts=""
  if grep -q '<svg class="chart"' <<<"$charts" && ! grep -q 'id="prometheus-failed"' <<<"$charts"; then break; fi
  charts=""
  kill -0 $PID 2>/dev/null || fail "./run demo exited early"
  sleep 0.5
done
[ -n "$charts" ] || fail "/monitoring drew no chart from the demo's Prometheus"
grep -q 'id="silences"' <<<"$charts" || fail "/monitoring does not read the demo's Alertmanager"
! grep -q 'id="alertmanager-failed"' <<<"$charts" || fail "the demo's Alertmanager cannot be read"
has '"status":"success"' curl -fsS "http://127.0.0.1:$GANTRY_DEMO_PROMETHEUS_PORT/api/v1/query?query=count(http_requests_total)" \
  || fail "the demo's Prometheus answers no query"
# The seeded backups: recorded by the running server, prod's last good one fresh.
backups=""
for _ in $(seq 1 100); do
  backups=$(curl -fsS -b "$JAR" "http://127.0.0.1:$PORT/backups?env=prod") || backups=""
  grep -q 'data-backup="fresh"' <<<"$backups" && break
  sleep 0.2
done
grep -q 'data-backup="fresh"' <<<"$backups" || fail "/backups?env=prod does not show the seeded backups as fresh"
# A pod's page and its logs, as an operator; kubectl reads the same log.
OPERATOR_JAR=$(mktemp)
curl -fsS -o /dev/null -c "$OPERATOR_JAR" -d person=operator -d next=/ "http://127.0.0.1:$PORT/auth/demo" || fail "demo sign-in as operator"
logs=""
for _ in $(seq 1 100); do
  pod=$("$GANTRY_KUBECTL" --kubeconfig "$ROOT/tests/output/demo.kubeconfig" -n co2-calculator-dev get pods -l app=backend -o jsonpath='{.items[0].metadata.name}' 2>/dev/null) || pod=""
  if [ -n "$pod" ]; then
    logs=$(curl -fsS -b "$OPERATOR_JAR" "http://127.0.0.1:$PORT/api/logs.txt?env=dev&pod=$pod") || logs=""
    grep -q 'starting the CO2 calculator backend' <<<"$logs" && break
  fi
  sleep 0.2
done
grep -q 'starting the CO2 calculator backend' <<<"$logs" || fail "/api/logs.txt has no backend lines"
has 'data-log-stream' curl -fsS -b "$OPERATOR_JAR" "http://127.0.0.1:$PORT/environments/dev/pods/$pod" || fail "the pod page has no logs panel"
has 'starting the CO2 calculator backend' "$GANTRY_KUBECTL" --kubeconfig "$ROOT/tests/output/demo.kubeconfig" -n co2-calculator-dev logs "$pod" \
  || fail "kubectl logs cannot read the demo's pod"
rm -f "$OPERATOR_JAR"
echo "demo smoke: ./run demo signs in a demo person and serves /, /health, /ready and /metrics; kubectl reaches its simulated cluster; /monitoring draws the demo Prometheus' week; /backups shows prod's seeded backups; a pod's page and logs (and kubectl logs)" >&2
