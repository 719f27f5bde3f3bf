#!/usr/bin/env bash
# The demo's monitoring: a real Prometheus scraping the simulated cluster's exporters, with
# the last week backfilled so every chart is full at once, the alert rules of
# deploy/prometheus, and a real Alertmanager for silences. `./run demo` starts it beside
# the server; it ends when the server does.
#
#   scripts/monitoring.sh SERVER_PID KUBECONFIG
#
# Ports: GANTRY_DEMO_PROMETHEUS_PORT (19090), GANTRY_DEMO_ALERTMANAGER_PORT (19093).
# State: GANTRY_DEMO_MONITORING_DIR (.gantry/monitoring), made afresh at every start.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVER=$1
KUBECONFIG_FILE=$2
PROM_PORT=${GANTRY_DEMO_PROMETHEUS_PORT:-19090}
AM_PORT=${GANTRY_DEMO_ALERTMANAGER_PORT:-19093}
DIR=${GANTRY_DEMO_MONITORING_DIR:-$ROOT/.gantry/monitoring}
say() { echo "monitoring: $*" >&2; }
alive() { kill -0 "$SERVER" 2>/dev/null; }

# The simulator's address is in the kubeconfig the server writes once it listens (its port
# may be chosen by the system).
sim=""
while alive && [ -z "$sim" ]; do
  sim=$(sed -n 's/^ *server: *\(http[^ ]*\)$/\1/p' "$KUBECONFIG_FILE" 2>/dev/null || true)
  [ -n "$sim" ] || sleep 0.2
done
alive || exit 0

rm -rf "$DIR"; mkdir -p "$DIR/data" "$DIR/alertmanager"
# 503 until the simulated controllers have made every pod (a second or two).
until curl -fsS -o "$DIR/history.om" "$sim/simulator/history?days=7" 2>/dev/null; do
  alive || exit 0
  sleep 0.5
done
"$GANTRY_PROMTOOL" tsdb create-blocks-from openmetrics "$DIR/history.om" "$DIR/data" >"$DIR/backfill.log" 2>&1 \
  || { say "promtool could not backfill the history (see $DIR/backfill.log)"; exit 1; }
rm -f "$DIR/history.om"

cat >"$DIR/prometheus.yml" <<YAML
# Written by scripts/monitoring.sh for the demo.
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - $ROOT/deploy/prometheus/co2-calculator.rules.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$AM_PORT']
scrape_configs:
  - job_name: co2-calculator
    static_configs:
      - targets: ['${sim#http://}']
YAML
cat >"$DIR/alertmanager.yml" <<YAML
# Written by scripts/monitoring.sh for the demo: alerts are only shown (and silenced).
route:
  receiver: panel
  group_by: [namespace, alertname]
  group_wait: 10s
receivers:
  - name: panel
YAML

"$GANTRY_ALERTMANAGER" --config.file="$DIR/alertmanager.yml" --storage.path="$DIR/alertmanager" \
  --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$DIR/alertmanager.log" 2>&1 &
AM=$!
# Retention longer than the backfilled week, or Prometheus deletes the blocks.
"$GANTRY_PROMETHEUS" --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/data" \
  --storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$PROM_PORT" >"$DIR/prometheus.log" 2>&1 &
PROM=$!
trap 'kill "$PROM" "$AM" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
say "Prometheus on http://127.0.0.1:$PROM_PORT (a week of history), Alertmanager on http://127.0.0.1:$AM_PORT"
while alive && kill -0 "$PROM" 2>/dev/null; do sleep 1; done
alive && say "Prometheus stopped (see $DIR/prometheus.log)"
