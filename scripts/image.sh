#!/usr/bin/env bash
# Gantry's container image, built and run without a registry.
#   scripts/image.sh dist [release|debug]   the static binary, the browser assets and the CA
#                                           certificates in target/dist (what the image holds)
#   scripts/image.sh build [release|debug]  dist, then the image's `runtime-from-dist` stage
#                                           with buildah: localhost/gantry:<version>, also
#                                           written as an OCI layout to target/image
#   scripts/image.sh test                   hadolint, then the debug image run by runc as the
#                                           chart runs the pod (read-only root, UID 10001, no
#                                           capabilities, no privilege escalation, tmpfs /tmp)
#                                           against the test PostgreSQL, reached by a DNS name,
#                                           and its simulated cluster: /health and /ready answer,
#                                           SIGTERM stops it
# The binary is linked statically with glibc (-C target-feature=+crt-static on the gnu
# target): rustup's musl target cannot be added on machines without its download site,
# and glibc 2.34+ has its DNS and files lookups inside libc, so a static binary resolves
# names with nothing else in the image.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
say() { echo "image: $*" >&2; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
TARGET=x86_64-unknown-linux-gnu
# The static build has flags of its own: a folder of its own keeps the normal build's cache.
STATIC_DIR=target/static
BUILDAH=(buildah --storage-driver vfs)

dist() {
  local profile=${1:-release} flag=() folder=debug
  if [ "$profile" = release ]; then flag=(--release); folder=release; fi
  [ -f target/site/pkg/gantry_bg.wasm ] || { say "target/site is not built: run ./run site first"; exit 1; }
  say "static $profile binary (glibc, crt-static)"
  RUSTFLAGS="-C target-feature=+crt-static" cargo build -q -p gantry-server "${flag[@]}" \
    --target "$TARGET" --target-dir "$STATIC_DIR"
  local bin=$STATIC_DIR/$TARGET/$folder/gantry
  # A dynamic binary names its loader (PT_INTERP); a static one has none.
  if readelf -l "$bin" | grep -q "program interpreter"; then say "$bin is not static"; exit 1; fi
  rm -rf target/dist; mkdir -p target/dist/site target/dist/etc/ssl/certs
  # Debug information is for a debugger, not for the image.
  objcopy --strip-debug "$bin" target/dist/gantry
  cp -r target/site/pkg target/dist/site/pkg
  cp /etc/ssl/certs/ca-certificates.crt target/dist/etc/ssl/certs/
  say "target/dist: $(du -sh target/dist | cut -f1) ($(du -h target/dist/gantry | cut -f1) binary)"
}

build() {
  dist "${1:-release}"
  "${BUILDAH[@]}" rm --all >/dev/null 2>&1 || true
  "${BUILDAH[@]}" bud -q --isolation chroot --layers=false -f deploy/Dockerfile \
    --target runtime-from-dist -t "localhost/gantry:$VERSION" . >/dev/null
  rm -rf target/image
  "${BUILDAH[@]}" push -q "localhost/gantry:$VERSION" "oci:target/image:$VERSION" >/dev/null
  # The image the tag named before: not kept (each build would add its size).
  "${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true
  say "localhost/gantry:$VERSION built; OCI layout in target/image"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Waits up to $1 seconds for `$2...` to succeed.
wait_for() {
  local seconds=$1; shift
  local until=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $until ] || return 1
    sleep 0.2
  done
}

run_test() {
  say "hadolint"
  "$GANTRY_TOOLS/venv/bin/hadolint" deploy/Dockerfile
  build debug
  # Globals: the EXIT trap reads them after this function has returned.
  work=$(mktemp -d)
  id="gantry-image-test-$$" db=gantry_image_test
  pg_url=$(scripts/postgres.sh url)
  cleanup() {
    runc kill "$id" KILL >/dev/null 2>&1 || true
    runc delete --force "$id" >/dev/null 2>&1 || true
    [ -n "${dns_pid:-}" ] && kill "$dns_pid" 2>/dev/null || true
    psql -q "$pg_url" -c "drop database if exists $db" >/dev/null 2>&1 || true
    rm -rf "$work"
  }
  trap cleanup EXIT
  # What an interrupted run left behind.
  for stale in $(runc list -q 2>/dev/null | grep '^gantry-image-test-' || true); do
    runc delete --force "$stale" >/dev/null 2>&1 || true
  done
  psql -q "$pg_url" -c "drop database if exists $db" -c "create database $db" >/dev/null
  # The database is reached by a name only a DNS server knows: the static binary's
  # resolver is what is tested.
  python3 scripts/dns-stub.py 127.0.0.53 db.gantry.test=127.0.0.1 >"$work/dns.log" 2>&1 &
  dns_pid=$!
  wait_for 10 python3 scripts/dns-stub.py --ask 127.0.0.53 db.gantry.test \
    || { say "the DNS stub did not start: $(cat "$work/dns.log")"; exit 1; }
  kill -0 "$dns_pid" 2>/dev/null || { say "the DNS stub stopped (127.0.0.53:53 taken?): $(cat "$work/dns.log")"; exit 1; }
  umoci unpack --image "target/image:$VERSION" "$work/bundle" >/dev/null
  echo "nameserver 127.0.0.53" >"$work/resolv.conf"
  printf '127.0.0.1 localhost\n' >"$work/hosts"
  local port metrics; port=$(free_port); metrics=$(free_port)
  local container_url=${pg_url/@127.0.0.1:/@db.gantry.test:}
  container_url=${container_url%/*}/$db
  python3 - "$work/bundle/config.json" "$work" <<PY
import json, sys
path, work = sys.argv[1], sys.argv[2]
c = json.load(open(path))
p = c["process"]
p["terminal"] = False
p["user"] = {"uid": 10001, "gid": 10001}
p["noNewPrivileges"] = True
p["capabilities"] = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
p["env"] += [
    "GANTRY_LISTEN=127.0.0.1:$port", "GANTRY_METRICS_LISTEN=127.0.0.1:$metrics",
    "GANTRY_DATABASE_URL=$container_url",
    "GANTRY_SIMULATOR=true", "GANTRY_SIMULATOR_PORT=0", "GANTRY_AUTH_MODE=demo", "GANTRY_LOG_FORMAT=json",
]
c["root"]["readonly"] = True
c["hostname"] = "gantry-image-test"
c["mounts"] += [
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "noexec", "size=64m"]},
    {"destination": "/etc/resolv.conf", "type": "bind", "source": work + "/resolv.conf", "options": ["rbind", "ro"]},
    {"destination": "/etc/hosts", "type": "bind", "source": work + "/hosts", "options": ["rbind", "ro"]},
]
# The host's network: PostgreSQL and the DNS stub listen on its loopback.
c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]
json.dump(c, open(path, "w"), indent=2)
PY
  say "running the image with runc"
  (cd "$work/bundle" && runc run -d --pid-file "$work/pid" "$id" >"$work/out.log" 2>&1 </dev/null)
  local pid; pid=$(cat "$work/pid")
  local ok=1
  if ! wait_for 120 curl -fsS "http://127.0.0.1:$port/health"; then
    say "FAIL: /health did not answer"; ok=0
  elif ! wait_for 120 curl -fsS "http://127.0.0.1:$port/ready"; then
    say "FAIL: /ready did not say ready: $(curl -sS "http://127.0.0.1:$port/ready" 2>&1)"; ok=0
  fi
  if [ $ok = 1 ]; then
    say "/health: $(curl -sS "http://127.0.0.1:$port/health"); /ready: $(curl -sS "http://127.0.0.1:$port/ready")"
    # The constraints, as the kernel sees the running process.
    grep -q $'^Uid:\t10001\t10001\t10001\t10001' "/proc/$pid/status" || { say "FAIL: not running as 10001"; ok=0; }
    grep -q $'^CapEff:\t0000000000000000' "/proc/$pid/status" || { say "FAIL: it holds capabilities"; ok=0; }
    grep -q $'^NoNewPrivs:\t1' "/proc/$pid/status" || { say "FAIL: privilege escalation is possible"; ok=0; }
    awk '$5 == "/" { print $6 }' "/proc/$pid/mountinfo" | grep -q '^ro' || { say "FAIL: the root file system is writable"; ok=0; }
    grep -q 'db.gantry.test' "$work/dns.log" || { say "FAIL: the database name was not looked up by DNS"; ok=0; }
  fi
  # SIGTERM, as the kubelet sends it: the server stops by itself.
  runc kill "$id" TERM >/dev/null 2>&1 || true
  stopped() { [ "$(runc state "$id" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" = stopped ]; }
  wait_for 60 stopped || { say "FAIL: SIGTERM did not stop it within 60 s"; ok=0; }
  if [ $ok = 0 ]; then say "its output:"; tail -n 40 "$work/out.log" >&2; exit 1; fi
  say "the image runs under the pod's constraints: /health and /ready answer, SIGTERM stops it"
}

case "${1:-}" in
  dist) dist "${2:-release}" ;;
  build) build "${2:-release}" ;;
  test) run_test ;;
  *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
