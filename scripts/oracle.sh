#!/usr/bin/env bash
# The conformance oracle: a real kube-apiserver and kube-controller-manager (1.20.2, built
# from Debian bookworm's `kubernetes` source package) with etcd, on loopback. The contract
# tests run against it and against the simulated cluster alike.
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
  local apt_opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::State::Lists=$work/lists")
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

case "${1:-}" in
  build) build ;;
  *) echo "usage: oracle.sh build" >&2; exit 2 ;;
esac
