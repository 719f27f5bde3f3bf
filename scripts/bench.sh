#!/usr/bin/env bash
# Measures the figures reported in the README's "Performance" section, on a release build:
#   - first load: bytes a browser downloads for the first page (HTML + JS + WASM + CSS), gzip
#   - cold start: process start until /ready answers 200 (database already running)
#   - overview and environment page SSR throughput and latency at 64 connections (wrk),
#     and the Kubernetes API requests the simulated cluster answered meanwhile
#   - resident memory idle, after the load, and with 500 open live streams
#   - for comparison, how long kubectl takes to fetch what the overview shows
#   - the History page with 10,000 recorded revisions (on a database of its own)
#   - an anonymous flood of API calls (loopback, 10 s) while a person signs in
#   - logs: a line from the pod to the open stream, a stream's rows per second, memory
#     with 200 followed streams
#   - the cost curve at 1, 10 and 50 environments (scripts/scale-bench.sh): its own table
# Run it through ./run bench (which bootstraps the tools).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. "$GANTRY_TOOLS/env.sh"
. scripts/wrk-checked.sh

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

WORK=$(mktemp -d)
KUBECONFIG_FILE=$WORK/simulator.kubeconfig
start_server() {
  # With the simulated cluster: page views then read real watch caches, as in production.
  # shellcheck disable=SC2086 # SERVER_EXTRA: more NAME=value settings, word-split on purpose
  env ${SERVER_EXTRA:-} GANTRY_SIMULATOR=true GANTRY_SIMULATOR_PORT=0 GANTRY_SIMULATOR_KUBECONFIG=$KUBECONFIG_FILE \
  GANTRY_DATABASE_URL=$URL GANTRY_LISTEN=127.0.0.1:$PORT GANTRY_SITE_ROOT=target/site GANTRY_AUTH_MODE=demo \
    GANTRY_LOG_FORMAT=json GANTRY_LOG=warn GANTRY_METRICS_LISTEN=off "$BIN" >/dev/null 2>&1 &
  SERVER_PID=$!
}
stop_server() { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }
trap 'stop_server; rm -rf "$WORK"' EXIT

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

# Every page is measured as a signed-in stakeholder sees it: each request then reads its
# session from PostgreSQL, as in production.
COOKIE=$(curl -fs -o /dev/null -D - -d person=stakeholder -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
  | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip')
[ -n "$COOKIE" ] || { echo "bench: demo sign-in failed" >&2; exit 1; }
# The 500 streams come from 50 sessions (a session may hold 16: a person's tabs).
export STREAMS_COOKIES=$WORK/stream-cookies
for _ in $(seq 1 50); do
  curl -fs -o /dev/null -D - -d person=stakeholder -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
    | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip'
done > "$STREAMS_COOKIES"

# --- first load, as a browser fetches it (gzip) ---
size() { curl -fs -H 'Accept-Encoding: gzip' -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$1" | wc -c; }
HTML=$(size /); JS=$(size /pkg/gantry.js); WASM=$(size /pkg/gantry_bg.wasm); CSS=$(size /pkg/gantry.css)
TOTAL=$(( HTML + JS + WASM + CSS ))
RAW_WASM=$(stat -c %s target/site/pkg/gantry_bg.wasm)

sleep 1
RSS_IDLE=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")

SIM=$(awk '/server:/ {print $2}' "$KUBECONFIG_FILE")
api_requests() { curl -fs "$SIM/simulator/requests" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin).values()))'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status"; }
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f ms", v / 1000; else if (v ~ /ms$/) printf "%.1f ms", v + 0; else printf "%.0f ms", v * 1000 }'; }

# --- pages under load (wrk), counting what the cluster's API answers meanwhile ---
# Every request a new address (?n=1, ?n=2, …): the overview is then rendered for each one
# instead of reusing the person's rendering (see server/src/http/page_cache.rs).
cat > "$WORK/distinct.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/?n=" .. n)
end
LUA
load() {
  local out; out=$(wrk_checked -t2 -c64 -d10s --latency -H "Cookie: $COOKIE" ${2:+-s "$2"} "http://127.0.0.1:$PORT$1")
  printf '%s req/s, p50 %s, p99 %s' "$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')" \
    "$(ms "$(echo "$out" | awk '$1=="50%" {print $2}')")" "$(ms "$(echo "$out" | awk '$1=="99%" {print $2}')")"
}
API_BEFORE=$(api_requests)
OVERVIEW=$(load /)
OVERVIEW_RENDERED=$(load / "$WORK/distinct.lua")
ENVIRONMENT=$(load /environments/prod)
API_DURING=$(( $(api_requests) - API_BEFORE ))
RSS_LOAD=$(rss)

# --- every page a person opens, each rendered for every request (no person's rendering is
# kept; the overview by a new address each time), as the admin sees them (every button,
# every environment), 64 connections, 5 s each; with a request waiting for approval. The
# record pages keep the rows they read until a write (gantry_app::records); the last two
# rows ask History and Audit with a new filter every time, so nothing kept is reused ---
ADMIN_COOKIE=$(curl -fs -o /dev/null -D - -d person=admin -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
  | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip')
OPERATOR_COOKIE=$(curl -fs -o /dev/null -D - -d person=operator -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
  | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip')
REQUEST_ID=$(curl -fs -H "Cookie: $OPERATOR_COOKIE" -H 'content-type: application/json' \
  -d '{"environment":"prod","action":"restart","workload":"backend","reason":"bench: a request waiting"}' \
  "http://127.0.0.1:$PORT/api/actions" | python3 -c 'import json,sys; print(json.load(sys.stdin)["request"]["id"])')
POD=$(kubectl --kubeconfig "$KUBECONFIG_FILE" get pods -n co2-calculator-prod -l app=backend -o jsonpath='{.items[0].metadata.name}')
cat > "$WORK/new-address.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  local sep = "?"
  if string.find(wrk.path, "?", 1, true) then sep = "&" end
  return wrk.format(nil, wrk.path .. sep .. "n=" .. n)
end
LUA
# A new filter each time: the end of History's range moves by a millisecond, the Audit
# page starts before a different event; 1,000 of each, past the 64 readings a page keeps.
cat > "$WORK/new-filter.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  if string.find(wrk.path, "audit", 1, true) then
    return wrk.format(nil, wrk.path .. "?before=" .. (1000000 + n % 1000))
  end
  return wrk.format(nil, wrk.path .. "?to=2099-01-01T00:00:00." .. string.format("%03d", n % 1000) .. "Z")
end
LUA
PAGES_TABLE=""
for page in "overview|/|new" "environment|/environments/prod" "workload|/environments/prod/workloads/backend" \
  "pod|/environments/prod/pods/$POD" "workload logs|/environments/prod/workloads/backend/logs" \
  "action (scale form)|/environments/prod/actions/scale?workload=backend" "request|/requests/$REQUEST_ID" \
  "approvals|/approvals" "history|/history" "audit|/audit" "backups|/backups" "me|/me" \
  "history, a new filter each time|/history|filter" "audit, a new filter each time|/audit|filter"; do
  IFS='|' read -r title address fresh <<<"$page"
  script=""
  case "$fresh" in new) script=$WORK/new-address.lua ;; filter) script=$WORK/new-filter.lua ;; esac
  out=$(wrk_checked -t2 -c64 -d5s --latency -H "Cookie: $ADMIN_COOKIE" ${script:+-s "$script"} "http://127.0.0.1:$PORT$address")
  PAGES_TABLE+="| $title (\`$address\`) | $(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}') | $(ms "$(echo "$out" | awk '$1=="50%" {print $2}')") | $(ms "$(echo "$out" | awk '$1=="99%" {print $2}')") |"$'\n'
done

# --- 500 open live streams, with changes flowing to them (what the server held before
# them too: the page floods above leave the record rows and the allocator's pages) ---
RSS_BEFORE_STREAMS=$(rss)
STREAMS_OUT=$WORK/streams.out
python3 scripts/streams.py "127.0.0.1:$PORT" 500 8 > "$STREAMS_OUT" &
STREAMS_PID=$!
until grep -q '^open' "$STREAMS_OUT" 2>/dev/null; do sleep 0.1; done
for replicas in 3 2 3 2; do
  kubectl --kubeconfig "$KUBECONFIG_FILE" scale deployment frontend -n co2-calculator-dev --replicas=$replicas >/dev/null
  sleep 1.5
done
RSS_STREAMS=$(rss)
wait "$STREAMS_PID"
STREAM_EVENTS=$(awk '/^events/ {print $2}' "$STREAMS_OUT")

# --- an anonymous flood: 32 connections calling the API without a session for 10 s, on
# loopback, while a person signs in every half second ---
denied() { psql -tA "$URL" -c "select count(*) from audit_event where kind = 'denied'"; }
DENIED_BEFORE=$(denied)
wrk -t2 -c32 -d10s "http://127.0.0.1:$PORT/api/me" > "$WORK/flood.out" 2>&1 &
FLOOD_PID=$!
sleep 2
signins=()
for _ in $(seq 1 12); do
  signins+=("$(curl -s -o /dev/null -w '%{time_total}:%{http_code}' -d person=stakeholder -d next=/ "http://127.0.0.1:$PORT/auth/demo")")
  sleep 0.5
done
wait "$FLOOD_PID"
DENIED_DURING=$(( $(denied) - DENIED_BEFORE ))
FLOOD_RATE=$(awk '/Requests\/sec/ {print int($2)}' "$WORK/flood.out")
FLOOD_TOTAL=$(awk '/requests in/ {print $1}' "$WORK/flood.out")
FLOOD_REFUSED=$(awk '/Non-2xx/ {print $5}' "$WORK/flood.out")
SIGNIN_OK=$(printf '%s\n' "${signins[@]}" | grep -c ':303$' || true)
SIGNIN_MS=$(printf '%s\n' "${signins[@]}" | cut -d: -f1 | sort -n | awk '{ t[NR] = $1 } END { printf "median %.1f ms, max %.1f ms", t[int((NR + 1) / 2)] * 1000, t[NR] * 1000 }')

# --- the same information through kubectl (median of 5 runs of the whole set) ---
kubectl_all() {
  for env in dev staging prod; do
    kubectl --kubeconfig "$KUBECONFIG_FILE" get deployments,statefulsets,replicasets,pods,horizontalpodautoscalers,cronjobs,jobs,events \
      -n "co2-calculator-$env" >/dev/null
  done
  kubectl --kubeconfig "$KUBECONFIG_FILE" get applications.argoproj.io -n argocd >/dev/null
}
runs=()
for _ in 1 2 3 4 5; do
  t0=$(date +%s%N); kubectl_all; t1=$(date +%s%N)
  runs+=($(( (t1 - t0) / 1000000 )))
done
KUBECTL_MS=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)

SIMULATOR=$(cargo run -q --release -p gantry-simulator --example throughput)
stop_server

# --- the Metrics page over a real Prometheus (the demo's: a week of history, scraping the
# simulator every 15 s), started by the demo's own script beside a fresh server ---
PROM_PORT=$((PORT + 2))
SERVER_EXTRA="GANTRY_PROMETHEUS_URL=http://127.0.0.1:$PROM_PORT GANTRY_PROMETHEUS_SCRAPE_INTERVAL_SECONDS=15 GANTRY_ALERTMANAGER_URL=http://127.0.0.1:$((PORT + 3))"
rm -f "$KUBECONFIG_FILE"
start_server
SERVER_EXTRA=""
GANTRY_DEMO_PROMETHEUS_PORT=$PROM_PORT GANTRY_DEMO_ALERTMANAGER_PORT=$((PORT + 3)) GANTRY_DEMO_MONITORING_DIR=$WORK/monitoring \
  scripts/monitoring.sh "$SERVER_PID" "$KUBECONFIG_FILE" 2>/dev/null &
until curl -fs -o /dev/null "http://127.0.0.1:$PROM_PORT/-/ready"; do sleep 0.1; done
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready"; do sleep 0.01; done
COOKIE=$(curl -fs -o /dev/null -D - -d person=stakeholder -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
  | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip')
# Queries Prometheus has answered, from its own counters (asking it would count too).
prom_queries() {
  curl -fs "http://127.0.0.1:$PROM_PORT/metrics" \
    | awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query(_range)?"/ { n += $2 } END { printf "%d", n }'
}
page_ms() { curl -fs -o /dev/null -w '%{time_total}' -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$1" | awk '{ printf "%.0f ms", $1 * 1000 }'; }
COLD_7D=$(page_ms '/monitoring?env=prod&range=7d')
COLD_7D_WORKLOAD=$(page_ms '/monitoring?env=staging&workload=backend&range=7d')
page_ms '/monitoring?env=prod&range=1h' >/dev/null
Q_BEFORE=$(prom_queries)
MON_OUT=$(wrk_checked -t2 -c64 -d10s --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT/monitoring?env=prod&range=1h")
Q_DURING=$(( $(prom_queries) - Q_BEFORE ))
MON_VIEWS=$(echo "$MON_OUT" | awk '/requests in/ {print $1}')
MONITORING="$(echo "$MON_OUT" | awk '/Requests\/sec/ {printf "%d", $2}') req/s, p50 $(ms "$(echo "$MON_OUT" | awk '$1=="50%" {print $2}')"), p99 $(ms "$(echo "$MON_OUT" | awk '$1=="99%" {print $2}')")"
PER_1000=$(awk -v q="$Q_DURING" -v v="$MON_VIEWS" 'BEGIN { printf "%.3f", q * 1000 / v }')
# Drawn for every view (each address new, so no rendering is reused; the answers still
# come from the cache).
cat > "$WORK/distinct-monitoring.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "/monitoring?env=prod&range=1h&n=" .. n)
end
LUA
MONITORING_RENDERED=$(load / "$WORK/distinct-monitoring.lua")
# A Prometheus that hangs (stopped, its port still open): the first page waits out the
# 5 s limit, the next one is told at once (the 5 s breaker).
PROM_PID=$(pgrep -f "web.listen-address=127.0.0.1:$PROM_PORT" | head -n 1)
kill -STOP "$PROM_PID"
OUTAGE_FIRST=$(page_ms '/monitoring?env=prod&range=6h')
OUTAGE_NEXT=$(page_ms '/monitoring?env=staging&range=6h')
kill -CONT "$PROM_PID"
stop_server

# --- logs, on a server of their own (one person may hold 300 streams here): a line from
# the simulated pod to the open stream, one stream's rows per second, memory with 200
# followed streams ---
SERVER_EXTRA="GANTRY_LOG_STREAMS_PER_PERSON=300 GANTRY_LOG_STREAMS_IN_ALL=300"
rm -f "$KUBECONFIG_FILE"
start_server
SERVER_EXTRA=""
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready"; do sleep 0.01; done
SIM=$(awk '/server:/ {print $2}' "$KUBECONFIG_FILE")
operator_cookie() {
  curl -fs -o /dev/null -D - -d person=operator -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
    | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip'
}
LOG_COOKIE=$(operator_cookie)
# A backend pod of each environment, once it runs and writes (its log takes a line).
targets=()
for env in dev staging prod; do
  until pod=$(kubectl --kubeconfig "$KUBECONFIG_FILE" get pods -n "co2-calculator-$env" -l app=backend -o jsonpath='{.items[0].metadata.name}' 2>/dev/null) \
    && [ -n "$pod" ] && curl -fs -o /dev/null -H 'content-type: application/json' \
      -d "{\"namespace\":\"co2-calculator-$env\",\"pod\":\"$pod\",\"text\":\"bench ready\"}" "$SIM/simulator/logs"; do
    sleep 0.2
  done
  targets+=("env=$env&pod=$pod")
  [ "$env" = dev ] && DEV_POD=$pod
done
sleep 1
RSS_LOG_IDLE=$(rss)
LATENCY=$(python3 scripts/logstreams.py latency "127.0.0.1:$PORT" "$SIM" co2-calculator-dev dev "$DEV_POD" "$LOG_COOKIE" 60)
LOG_MEDIAN=$(echo "$LATENCY" | awk '{print $2}'); LOG_P95=$(echo "$LATENCY" | awk '{print $3}')
THROUGHPUT=$(python3 scripts/logstreams.py throughput "127.0.0.1:$PORT" "$SIM" co2-calculator-dev dev "$DEV_POD" "$LOG_COOKIE" 5)
LOG_RATE=$(echo "$THROUGHPUT" | awk '{ printf "%d", $2 / $3 }')
for _ in $(seq 1 20); do operator_cookie; done > "$STREAMS_COOKIES"
LOGS_OUT=$WORK/logstreams.out
python3 scripts/logstreams.py hold "127.0.0.1:$PORT" 200 6 "${targets[@]}" > "$LOGS_OUT" &
LOGS_PID=$!
until grep -q '^open' "$LOGS_OUT" 2>/dev/null; do
  kill -0 "$LOGS_PID" 2>/dev/null || { echo "bench: the log streams could not be opened" >&2; exit 1; }
  sleep 0.1
done
# Lines keep coming to every stream meanwhile (the pods' own chatter, and these).
for env in dev staging prod; do
  pod=$(printf '%s\n' "${targets[@]}" | sed -n "s/^env=$env&pod=//p")
  curl -fs -o /dev/null -H 'content-type: application/json' \
    -d "{\"namespace\":\"co2-calculator-$env\",\"pod\":\"$pod\",\"text\":\"to every follower\"}" "$SIM/simulator/logs"
done
sleep 3
RSS_LOGS=$(rss)
wait "$LOGS_PID"
stop_server

# --- the History page with 10,000 recorded revisions, on a database of its own ---
HISTORY_URL=$(echo "$URL" | sed 's#/gantry$#/gantry_bench_history#')
psql -q "$URL" -c 'drop database if exists gantry_bench_history' -c 'create database gantry_bench_history'
GANTRY_CLUSTER=none GANTRY_DATABASE_URL=$HISTORY_URL GANTRY_LISTEN=127.0.0.1:$PORT GANTRY_SITE_ROOT=target/site \
  GANTRY_AUTH_MODE=demo GANTRY_LOG_FORMAT=json GANTRY_LOG=warn GANTRY_METRICS_LISTEN=off "$BIN" >/dev/null 2>&1 &
SERVER_PID=$!
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready"; do sleep 0.01; done
# The same shape as the history tests' data: 3 environments, 5 workloads, a minute apart.
psql -q "$HISTORY_URL" <<'SQL'
insert into observed_revision
    (environment, workload, revision, replicaset, template_hash, images, created_at, template,
     previous_revision, previous_images)
select (array['dev','staging','prod'])[1 + i % 3],
       (array['frontend','backend','celery-worker','redis','postgres'])[1 + (i / 3) % 5],
       i, 'rs-' || i, 'h' || i, array['app=reg/app:1.' || i],
       timestamptz '2026-01-01' + i * interval '1 minute', '{}'::jsonb,
       nullif(i - 15, -14), array['app=reg/app:1.' || (i - 15)]
from generate_series(1, 10000) as i;
analyze observed_revision;
SQL
HISTORY_COOKIE=$(curl -fs -o /dev/null -D - -d person=stakeholder -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
  | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip')
history_ms() {
  local times=()
  for _ in $(seq 1 21); do
    times+=("$(curl -fs -o /dev/null -w '%{time_total}' -H "Cookie: $HISTORY_COOKIE" "http://127.0.0.1:$PORT$1")")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { printf "median %.1f ms, max %.1f ms", t[11] * 1000, t[NR] * 1000 }'
}
HISTORY_ALL=$(history_ms /history)
HISTORY_ONE=$(history_ms '/history?env=prod&workload=backend')
# The same page under load: kept between writes, and with a new filter each time.
HISTORY_LOAD=$(COOKIE=$HISTORY_COOKIE load /history)
HISTORY_LOAD_NEW=$(COOKIE=$HISTORY_COOKIE load /history "$WORK/new-filter.lua")
stop_server
psql -q "$URL" -c 'drop database gantry_bench_history'

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
cat <<REPORT
| measure | result |
|---|---|
| first load, gzip (HTML + JS + WASM + CSS) | $(kib "$TOTAL") (HTML $(kib "$HTML"), JS $(kib "$JS"), WASM $(kib "$WASM"), CSS $(kib "$CSS")) |
| WASM before compression | $(kib "$RAW_WASM") |
| cold start to ready (median of 5) | ${COLD_MS} ms (runs: ${starts[*]}) |
| overview page (\`/\`), 64 connections, 10 s | $OVERVIEW |
| overview rendered for every request (\`/?n=<counter>\`), 64 connections, 10 s | $OVERVIEW_RENDERED |
| environment page (\`/environments/prod\`), 64 connections, 10 s | $ENVIRONMENT |
| Kubernetes API requests during the three runs | $API_DURING |
| resident memory idle / after the load | $(( RSS_IDLE / 1024 )) MiB / $(( RSS_LOAD / 1024 )) MiB |
| resident memory with 500 open live streams | $(( RSS_STREAMS / 1024 )) MiB, $(( RSS_BEFORE_STREAMS / 1024 )) MiB just before them ($STREAM_EVENTS status events delivered in 8 s) |
| kubectl fetching the same (4 \`kubectl get\`, median of 5) | ${KUBECTL_MS} ms (runs: ${runs[*]}) |
| History page with 10,000 recorded revisions (the newest page of 100, 21 requests) | all: $HISTORY_ALL; prod backend only: $HISTORY_ONE |
| the same History page, 64 connections, 10 s | $HISTORY_LOAD |
| the same with a new filter each time (nothing kept reused), 64 connections, 10 s | $HISTORY_LOAD_NEW |
| Metrics page (\`/monitoring?env=prod&range=1h\`, 16 charts, cache warm), 64 connections, 10 s | $MONITORING |
| Metrics page drawn for every view (\`&n=<counter>\`), 64 connections, 10 s | $MONITORING_RENDERED |
| Prometheus queries per 1,000 Metrics page views (incl. the overview's own pass every 15 s) | $PER_1000 ($Q_DURING queries for $MON_VIEWS views) |
| Metrics page from a cold cache, 7 days (prod; staging's backend) | $COLD_7D; $COLD_7D_WORKLOAD |
| Metrics page while Prometheus hangs (first view; the next, within the 5 s breaker) | $OUTAGE_FIRST; $OUTAGE_NEXT |
| anonymous flood of \`/api/me\` (32 connections, 10 s, loopback) | $FLOOD_RATE req/s ($FLOOD_TOTAL requests, $FLOOD_REFUSED answered 401 or 429), $DENIED_DURING audit events written |
| signing in meanwhile (12 sign-ins, one every 0.5 s, same address) | $SIGNIN_OK of 12 signed in; $SIGNIN_MS |
| a log line from the simulated pod to the open stream (60 lines, 100 ms apart) | median $LOG_MEDIAN ms, p95 $LOG_P95 ms |
| rows one log stream delivers while its pod writes as fast as it can (5 s) | $LOG_RATE rows/s |
| resident memory, idle / with 200 followed log streams | $(( RSS_LOG_IDLE / 1024 )) MiB / $(( RSS_LOGS / 1024 )) MiB (+$(( (RSS_LOGS - RSS_LOG_IDLE) / 1024 )) MiB) |
$SIMULATOR

Every page rendered for each request, as the admin sees it (64 connections, 5 s each;
the record pages' rows kept between writes, except in the last two rows):

| page | req/s | p50 | p99 |
|---|---|---|---|
$PAGES_TABLE
REPORT

# --- the cost curve with the number of environments (a table of its own) ---
echo
scripts/scale-bench.sh
