#!/usr/bin/env bash
# The Helm chart's proofs (./run test runs them; ./run chart alone):
#   - helm lint --strict for each CI values file (deploy/helm/gantry/ci/*-values.yaml)
#   - helm template of each, diffed with its golden render (ci/../golden/); with
#     GANTRY_UPDATE_GOLDEN=1 the golden renders are written instead
#   - kubernetes-validate --strict (schemas of Kubernetes 1.33) on every render: any
#     warning but "no schema" for the Prometheus operator's two kinds fails
#   - the Pod Security "restricted" check of every pod template, and proof that the
#     check catches violations (tests/fixtures/pod-security)
#   - `gantry config check` on the configuration each render carries
#   - each ci/fail/*.yaml must fail, with the message on its "# expect:" line
# Usage: scripts/chart.sh GANTRY_BINARY
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CHART=$ROOT/deploy/helm/gantry
GANTRY=${1:?the gantry binary (for gantry config check)}
HELM=${GANTRY_HELM:-$GANTRY_TOOLS/bin/helm}
PYTHON=$GANTRY_TOOLS/venv/bin/python
KUBE_VERSION=1.33.0
# With the Prometheus operator's API present, as on most clusters that run it.
OPERATOR=(--api-versions monitoring.coreos.com/v1/ServiceMonitor --api-versions monitoring.coreos.com/v1/PrometheusRule)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "chart: FAIL: $*" >&2; failures=$((failures + 1)); }

render() { # values-file output [extra helm args]
  "$HELM" template gantry "$CHART" --namespace gantry --kube-version "$KUBE_VERSION" -f "$1" "${@:3}" >"$2"
}

for values in "$CHART"/ci/*-values.yaml; do
  name=$(basename "$values" -values.yaml)
  extra=()
  # The prod-style and EPFL installs are rendered as on a cluster with the Prometheus operator.
  case "$name" in epfl | prod) extra=("${OPERATOR[@]}") ;; esac
  before=$failures
  lint=$("$HELM" lint --strict --kube-version "$KUBE_VERSION" "$CHART" -f "$values" 2>&1) \
    || fail "helm lint $name: $lint"
  if ! render "$values" "$work/$name.yaml" "${extra[@]}" 2>"$work/$name.err"; then
    fail "helm template $name: $(cat "$work/$name.err")"; continue
  fi
  golden=$CHART/golden/$name.yaml
  if [ "${GANTRY_UPDATE_GOLDEN:-}" = 1 ]; then
    mkdir -p "$CHART/golden"; cp "$work/$name.yaml" "$golden"
  elif ! diff -u "$golden" "$work/$name.yaml" >"$work/$name.diff"; then
    fail "$name renders differently from golden/$name.yaml (GANTRY_UPDATE_GOLDEN=1 scripts/chart.sh … rewrites it once the change is meant):"
    cat "$work/$name.diff" >&2
  fi
  validated=$("$GANTRY_KUBERNETES_VALIDATE" --kubernetes-version "$KUBE_VERSION" --strict "$work/$name.yaml" 2>&1) \
    || fail "kubernetes-validate $name: $validated"
  unexpected=$(grep -v '^INFO ' <<<"$validated" \
    | grep -v -E "^WARN .* Couldn't find schema for kind (ServiceMonitor|PrometheusRule) with api version monitoring.coreos.com/v1 " || true)
  [ -z "$unexpected" ] || fail "kubernetes-validate $name warned: $unexpected"
  security=$("$PYTHON" "$ROOT/scripts/pod-security.py" "$work/$name.yaml") || fail "$security"
  # The ConfigMap's gantry.toml, as the pod reads it.
  "$PYTHON" - "$work/$name.yaml" "$work/$name.toml" <<'PY'
import sys, yaml
for doc in yaml.safe_load_all(open(sys.argv[1])):
    if doc and doc.get("kind") == "ConfigMap" and "gantry.toml" in (doc.get("data") or {}):
        open(sys.argv[2], "w").write(doc["data"]["gantry.toml"])
PY
  checked=$(env -i PATH="$PATH" "$GANTRY" config check "$work/$name.toml" 2>&1) || fail "gantry config check $name: $checked"
  if [ "$failures" = "$before" ]; then
    echo "chart: $name: linted, rendered as golden, valid for $KUBE_VERSION, restricted, configuration valid" >&2
  fi
done

# The checker itself: a render with violations must fail, naming each one.
fixture=$ROOT/tests/fixtures/pod-security/violations.yaml
if said=$("$PYTHON" "$ROOT/scripts/pod-security.py" "$fixture"); then
  fail "the Pod Security check passed a manifest with violations"
fi
while IFS= read -r expected; do
  grep -qF -- "$expected" <<<"$said" || fail "the Pod Security check did not say: $expected"
done < <(sed -n 's/^# expect: //p' "$fixture")

for values in "$CHART"/ci/fail/*.yaml; do
  expected=$(sed -n 's/^# expect: //p' "$values")
  if out=$(render "$values" /dev/null 2>&1); then
    fail "$(basename "$values") rendered; it must fail with: $expected"
  elif ! grep -qF -- "$expected" <<<"$out"; then
    fail "$(basename "$values") failed without saying \"$expected\": $out"
  fi
done
echo "chart: $(ls "$CHART"/ci/fail/*.yaml | wc -l) refused values, each with its message" >&2

[ "$failures" = 0 ] || { echo "chart: $failures failures" >&2; exit 1; }
