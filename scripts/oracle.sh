#!/usr/bin/env bash
# The conformance oracle: a real kube-apiserver and kube-controller-manager (1.20.2, built
# from Debian bookworm's `kubernetes` source package) with etcd, on loopback. The contract
# tests run against it and against the simulated cluster alike. RBAC decides what each
# caller may do (the admin token is in system:masters): the chart's Roles are proven on it.
#   scripts/oracle.sh build          build once; binaries cached in $GANTRY_TOOLS/oracle
#   scripts/oracle.sh start DIR      start etcd + apiserver + controller-manager with state
#                                    in DIR; prints the kubeconfig path
#   scripts/oracle.sh stop DIR
set -euo pipefail

TOOLS=${GANTRY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/gantry}
VERSION=1.20.2
BIN=$TOOLS/oracle/$VERSION
SUDO=""; [ "$(id -u)" != 0 ] && SUDO=sudo
say() { echo "oracle: $*" >&2; }

build() {
  if [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ]; then return 0; fi
  say "building kube-apiserver $VERSION from Debian's source (about 7 minutes, once)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    golang-1.19-go rsync etcd-server golang-github-modern-go-reflect2-dev dpkg-dev openssl >/dev/null
  local work=$TOOLS/oracle/src
  rm -rf "$work"; mkdir -p "$work/lists/partial"
  # A private source list: the machine's own apt configuration is left alone.
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main" >"$work/sources.list"
  local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::State::Lists=$work/lists" -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" -qq update
  (cd "$work" && apt-get "${apt_opts[@]}" -qq source --download-only kubernetes >/dev/null)
  (cd "$work" && dpkg-source --no-check -x kubernetes_*.dsc tree >/dev/null)
  # Go >= 1.18 crashes the 1.20 apiserver with the vendored reflect2 1.0.1; Debian's 1.0.2 works.
  rm -rf "$work/tree/vendor/github.com/modern-go/reflect2"
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 "$work/tree/vendor/github.com/modern-go/reflect2"
  mkdir -p "$work/gopath/src/k8s.io"
  ln -s "$work/tree" "$work/gopath/src/k8s.io/kubernetes"
  (cd "$work/gopath/src/k8s.io/kubernetes" \
    && GOROOT=/usr/lib/go-1.19 PATH=/usr/lib/go-1.19/bin:$PATH GOPATH=$work/gopath CGO_ENABLED=0 \
       GOCACHE=$TOOLS/oracle/gocache GOFLAGS=-mod=vendor \
       make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$work/build.log" 2>&1) \
    || { say "build failed; see $work/build.log"; exit 1; }
  mkdir -p "$BIN"
  cp "$work/tree/_output/bin/kube-apiserver" "$work/tree/_output/bin/kube-controller-manager" "$BIN/"
  rm -rf "$work"
  say "built $BIN"
}

# Ports are fixed per state folder (derived from its path), so two runs do not collide.
ports() {
  local base=$(( 20000 + $(printf '%s' "$1" | cksum | cut -d' ' -f1) % 20000 ))
  ETCD_PORT=$base; ETCD_PEER=$((base + 1)); API_PORT=$((base + 2))
}

start() {
  local dir=$1
  build
  ports "$dir"
  mkdir -p "$dir/etcd" "$dir/certs"
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/sa.key" ] || openssl genrsa -out "$dir/sa.key" 2048 2>/dev/null
  openssl rsa -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
  local token; token=$(cat "$dir/token" 2>/dev/null || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$token" >"$dir/token"
  echo "$token,admin,admin-uid,\"system:masters\"" >"$dir/tokens.csv"
  etcd --data-dir "$dir/etcd" --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" \
    >"$dir/etcd.log" 2>&1 &
  echo $! >"$dir/etcd.pid"
  "$BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$ETCD_PORT" --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 --secure-port="$API_PORT" --insecure-port=0 --cert-dir="$dir/certs" \
    --token-auth-file="$dir/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$dir/sa.pub" \
    --service-account-signing-key-file="$dir/sa.key" --service-cluster-ip-range=10.0.0.0/24 \
    --disable-admission-plugins=ServiceAccount >"$dir/apiserver.log" 2>&1 &
  echo $! >"$dir/apiserver.pid"
  cat >"$dir/kubeconfig" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: oracle
  cluster:
    server: https://127.0.0.1:$API_PORT
    insecure-skip-tls-verify: true
contexts:
- name: oracle
  context: {cluster: oracle, user: admin}
current-context: oracle
users:
- name: admin
  user: {token: $token}
KUBECONFIG
  for _ in $(seq 1 120); do
    curl -fsk -H "Authorization: Bearer $token" "https://127.0.0.1:$API_PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.5
  done
  curl -fsk -H "Authorization: Bearer $token" "https://127.0.0.1:$API_PORT/readyz" >/dev/null \
    || { say "the apiserver did not become ready; see $dir/apiserver.log"; stop "$dir"; exit 1; }
  "$BIN/kube-controller-manager" --kubeconfig="$dir/kubeconfig" --leader-elect=false \
    --bind-address=127.0.0.1 --secure-port=0 --port=0 \
    --controllers=deployment,replicaset,statefulset,job,cronjob,garbagecollector,namespace \
    --service-account-private-key-file="$dir/sa.key" >"$dir/controller-manager.log" 2>&1 &
  echo $! >"$dir/controller-manager.pid"
  echo "$dir/kubeconfig"
}

stop() {
  local dir=$1
  for name in controller-manager apiserver etcd; do
    if [ -f "$dir/$name.pid" ]; then
      kill "$(cat "$dir/$name.pid")" 2>/dev/null || true
      rm -f "$dir/$name.pid"
    fi
  done
}

case "${1:-}" in
  build) build ;;
  start) start "${2:?state folder}" ;;
  stop) stop "${2:?state folder}" ;;
  *) echo "usage: oracle.sh build | start DIR | stop DIR" >&2; exit 2 ;;
esac
