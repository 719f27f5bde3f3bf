#!/usr/bin/env bash
# The cost curve with the number of environments (run by scripts/bench.sh after the
# release build): for 1, 10 and 50 environments — each the CO2 calculator's five
# workloads and 15 more of 10 replicas — a simulated cluster is started on its own and
# settled first (every pod exists and is ready, as in production), then Gantry is
# started against it through a kubeconfig and measured:
#   - start to ready (median of 3), resident memory once ready, memory per pod
#   - the overview rendered for every request and the environment page: wrk, 64
#     connections, 10 s; the Kubernetes API requests per 1,000 views meanwhile
#   - change to screen: 200 open live streams, 5 scales of dev's frontend
#   - kubectl fetching the same kinds for comparison (median of 3)
# Prints the table's Markdown rows on stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. scripts/wrk-checked.sh
BIN=target/release/gantry
PORT=${SCALE_PORT:-3950}
PG_URL=$(scripts/postgres.sh url)
SIZES=${SCALE_SIZES:-"1 10 50"}
cargo build -q --release -p gantry-simulator --example serve
SERVE=target/release/examples/serve
WORK=$(mktemp -d)
SIM_PID="" SERVER_PID=""
stop_server() { [ -n "$SERVER_PID" ] && { kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }; SERVER_PID=""; }
stop_sim() { [ -n "$SIM_PID" ] && { kill "$SIM_PID" 2>/dev/null || true; wait "$SIM_PID" 2>/dev/null || true; }; SIM_PID=""; }
trap 'stop_server; stop_sim; rm -rf "$WORK"' EXIT

# The configuration naming the simulator's environments (as its seed names them).
config() {
  python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
names = ["dev", "staging", "prod"][:n] + [f"env-{i:03}" for i in range(4, n + 1)]
out = []
for name in names:
    ns = f"co2-calculator-{name}"
    out.append(f'[[environments]]\nname = "{name}"\nnamespace = "{ns}"\nargocd_application = "{ns}"\n')
    for w, kind in [("frontend", "Deployment"), ("backend", "Deployment"), ("celery-worker", "Deployment"),
                    ("redis", "Deployment"), ("postgres", "StatefulSet")]:
        out.append(f'[[environments.workloads]]\nname = "{w}"\nkind = "{kind}"\nmax_replicas = 10\n')
print("\n".join(out))
PY
}

start_server() {
  GANTRY_CONFIG=$WORK/gantry.toml GANTRY_CLUSTER=kubeconfig KUBECONFIG=$WORK/kubeconfig \
    GANTRY_DATABASE_URL=$PG_URL GANTRY_LISTEN=127.0.0.1:$PORT GANTRY_SITE_ROOT=target/site \
    GANTRY_AUTH_MODE=demo GANTRY_ALLOW_DEMO_ON_A_REAL_CLUSTER=true GANTRY_LOG_FORMAT=json GANTRY_LOG=warn \
    GANTRY_METRICS_LISTEN=off "$BIN" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
}
# Starts the server and sets READY_MS (not echoed: a subshell would lose the server's pid).
ready_ms() {
  local t0 t1; t0=$(date +%s%N)
  start_server
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/ready"; do
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "scale: the server stopped: $(tail -3 "$WORK/server.log")" >&2; exit 1; }
    sleep 0.01
  done
  t1=$(date +%s%N)
  READY_MS=$(( (t1 - t0) / 1000000 ))
}
# The stakeholder sees every environment; the developer (the demo's roles: operator on
# dev, viewer on staging and prod) sees three whatever the cluster holds.
sign_in() {
  curl -fs -o /dev/null -D - -d person="${1:-stakeholder}" -d next=/ "http://127.0.0.1:$PORT/auth/demo" \
    | sed -n 's/^set-cookie: \(gantry_session=[^;]*\).*/\1/Ip'
}
api_requests() { curl -fs "$SIM/simulator/requests" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin).values()))'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
p99() { awk '$1 == "99%" {print $2}'; }
p50() { awk '$1 == "50%" {print $2}'; }
views() { awk '/requests in/ {print $1}'; }
ms() { awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.2f", v / 1000; else if (v ~ /ms$/) printf "%.1f", v + 0; else printf "%.0f", v * 1000 }'; }
cat > "$WORK/distinct.lua" <<'LUA'
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/?n=" .. n)
end
LUA

declare -A READY RSS PODS OVERVIEW OVERVIEW3 ENVPAGE PER1000 CHANGE KUBECTL SEEDED OVERVIEW_P50
for n in $SIZES; do
  echo "scale: $n environments" >&2
  rm -f "$WORK/serve.out" "$WORK/serve.out.part"
  "$SERVE" "$n" 15 "$WORK/kubeconfig" >"$WORK/serve.out.part" 2>"$WORK/serve.err" &
  SIM_PID=$!
  until [ -s "$WORK/serve.out.part" ] && cp "$WORK/serve.out.part" "$WORK/serve.out"; do
    kill -0 "$SIM_PID" 2>/dev/null || { echo "scale: the simulator stopped: $(tail -3 "$WORK/serve.err")" >&2; exit 1; }
    sleep 0.2
  done
  SIM=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$WORK/serve.out")
  PODS[$n]=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pods"])' "$WORK/serve.out")
  SEEDED[$n]=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["seconds"], 1))' "$WORK/serve.out")
  config "$n" >"$WORK/gantry.toml"
  starts=()
  for _ in 1 2 3; do ready_ms; starts+=("$READY_MS"); stop_server; done
  READY[$n]=$(printf '%s\n' "${starts[@]}" | median)
  ready_ms
  sleep 2
  RSS[$n]=$(awk '/VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
  COOKIE=$(sign_in)
  export STREAMS_COOKIES=$WORK/cookies
  for _ in $(seq 1 20); do sign_in; done >"$STREAMS_COOKIES"
  before=$(api_requests)
  out=$(wrk_checked -t2 -c64 -d10s --latency -H "Cookie: $COOKIE" -s "$WORK/distinct.lua" "http://127.0.0.1:$PORT/")
  OVERVIEW[$n]="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out") req/s, p50 $(ms "$(p50 <<<"$out")") ms, p99 $(ms "$(p99 <<<"$out")") ms"
  OVERVIEW_P50[$n]=$(ms "$(p50 <<<"$out")")
  total=$(views <<<"$out")
  out=$(wrk_checked -t2 -c64 -d10s --latency -H "Cookie: $(sign_in developer)" -s "$WORK/distinct.lua" "http://127.0.0.1:$PORT/")
  OVERVIEW3[$n]="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out") req/s, p50 $(ms "$(p50 <<<"$out")") ms, p99 $(ms "$(p99 <<<"$out")") ms"
  total=$(( total + $(views <<<"$out") ))
  # One environment is dev alone; past it, prod.
  environment=/environments/prod; [ "$n" = 1 ] && environment=/environments/dev
  out=$(wrk_checked -t2 -c64 -d10s --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$environment")
  ENVPAGE[$n]="$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out") req/s, p99 $(ms "$(p99 <<<"$out")") ms"
  total=$(( total + $(views <<<"$out") ))
  after=$(api_requests)
  PER1000[$n]=$(awk -v d=$(( after - before )) -v v="$total" 'BEGIN { printf "%.3f", d * 1000 / v }')
  read -r med p95 max got want < <(python3 scripts/changes.py "127.0.0.1:$PORT" "$SIM" 200 5)
  CHANGE[$n]="median $med ms, p95 $p95 ms ($got of $want)"
  runs=()
  for _ in 1 2 3; do
    t0=$(date +%s%N)
    kubectl --kubeconfig "$WORK/kubeconfig" get deployments,statefulsets,replicasets,pods,horizontalpodautoscalers,cronjobs,jobs,events -A >/dev/null
    kubectl --kubeconfig "$WORK/kubeconfig" get applications.argoproj.io -n argocd >/dev/null
    t1=$(date +%s%N); runs+=($(( (t1 - t0) / 1000000 )))
  done
  KUBECTL[$n]=$(printf '%s\n' "${runs[@]}" | median)
  stop_server
  stop_sim
done

set -- $SIZES
header="| at N environments (each 20 workloads) |"; rule="|---|"
for n; do header+=" $n |"; rule+="---|"; done
echo "$header"; echo "$rule"
line="| pods (the cluster seeded and settled before Gantry starts) |"
for n; do line+=" ${PODS[$n]} (settled in ${SEEDED[$n]} s) |"; done; echo "$line"
line="| start to ready (median of 3) |"; for n; do line+=" ${READY[$n]} ms |"; done; echo "$line"
line="| resident memory once ready |"; for n; do line+=" $(( RSS[$n] / 1024 )) MiB |"; done; echo "$line"
first=$1; last=${!#}
per_pod=$(awk -v a="${RSS[$first]}" -v b="${RSS[$last]}" -v p="${PODS[$first]}" -v q="${PODS[$last]}" 'BEGIN { if (q > p) printf "%.1f KiB", (b - a) / (q - p); else print "—" }')
line="| memory per pod (the slope from $first to $last environments) | $per_pod |"; for _ in "${@:2}"; do line+=" |"; done; echo "$line"
line="| overview rendered for every request, 64 connections (the stakeholder: all N environments) |"; for n; do line+=" ${OVERVIEW[$n]} |"; done; echo "$line"
line="| the same for the developer, who may see 3 of them |"; for n; do line+=" ${OVERVIEW3[$n]} |"; done; echo "$line"
line="| environment page, 64 connections |"; for n; do line+=" ${ENVPAGE[$n]} |"; done; echo "$line"
line="| Kubernetes API requests per 1,000 views |"; for n; do line+=" ${PER1000[$n]} |"; done; echo "$line"
line="| change to screen, 200 open streams of dev (5 scales) |"; for n; do line+=" ${CHANGE[$n]} |"; done; echo "$line"
line="| kubectl, the same kinds in every namespace (median of 3) |"; for n; do line+=" ${KUBECTL[$n]} ms |"; done; echo "$line"
line="| kubectl's time ÷ the overview's median answer under load |"
for n; do line+=" $(awk -v k="${KUBECTL[$n]}" -v o="${OVERVIEW_P50[$n]}" 'BEGIN { printf "%.0f×", k / o }') |"; done; echo "$line"
