#!/usr/bin/env bash
# Docker smoke test: builds the Dockerfile, runs the image, and drives it from the host with real clients.
# It checks the image's metadata (user, HEALTHCHECK, ports, /data volume), that the container becomes healthy,
# runs the router as node and loads lmdb's native module, that MQTT and WAMP clients reach each other through
# the published ports, that SIGTERM stops it cleanly, that a retained message survives a restart and a new
# container on the same volume, and that with a TLS certificate it stays healthy and serves wss:// and MQTT/TLS.
#
# CI has no Docker engine and no Docker Hub, so podman builds and runs the image, on a Node 24 base that
# .ci/make-node-base.sh makes from Debian and the npm registry (cached between runs on the same machine).
# Needs root, podman, runc, debootstrap and binutils (.ci/run installs them) and node_modules (npm ci).
# Everything it creates lives in one temp folder and is removed on exit, failure included.
set -euo pipefail
cd "$(dirname "$0")/.."

START_NS=$(date +%s%N)
say() {
  local ms=$((($(date +%s%N) - START_NS) / 1000000))
  printf '[docker-smoke %3d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}
fail() {
  say "FAILED: $*"
  exit 1
}

IMAGE=localhost/switchboard:smoke
BASE=localhost/node-base:24
CACHE=${SWITCHBOARD_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard-ci}/node-base-24.tar
SECRET="smoke-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
SMOKE_TMP=$(mktemp -d /tmp/switchboard-smoke.XXXXXX)
CID=""
VOLUME=""

cleanup() {
  local status=$?
  set +e
  if [ -n "$CID" ]; then
    if [ "$status" -ne 0 ]; then
      say "container log (last 30 lines):"
      podman logs --tail 30 "$CID" 2>&1 | sed 's/^/  | /'
    fi
    podman rm -f -t 3 "$CID" >/dev/null 2>&1
  fi
  [ -n "$VOLUME" ] && podman volume rm -f "$VOLUME" >/dev/null 2>&1
  # Images and layers go with the storage folder; reset unmounts whatever overlay still holds under it. Only
  # ever with this run's own configuration: a reset of the machine's default storage would wipe other work.
  if [ "${CONTAINERS_STORAGE_CONF:-}" = "$SMOKE_TMP/storage.conf" ] && [ -f "$CONTAINERS_STORAGE_CONF" ]; then
    podman system reset -f >/dev/null 2>&1
  fi
  grep -o " $SMOKE_TMP[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$SMOKE_TMP"
  if [ "$status" -eq 0 ]; then say "passed; container, volume and $SMOKE_TMP removed"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Podman configured for this run only: its storage, state and events stay in the temp folder. runc and
# cgroupfs because crun and systemd cgroups do not work on CI's hybrid cgroup layout; explicit ulimits because
# podman's defaults exceed what the machine grants and fail with EPERM.
NOFILE=$(ulimit -Hn)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
export CONTAINERS_CONF=$SMOKE_TMP/containers.conf
export CONTAINERS_STORAGE_CONF=$SMOKE_TMP/storage.conf
cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=$NOFILE:$NOFILE", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$SMOKE_TMP/events.log"
tmp_dir = "$SMOKE_TMP/libpod"

[network]
network_config_dir = "$SMOKE_TMP/networks"
EOF
cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "overlay"
graphroot = "$SMOKE_TMP/storage"
runroot = "$SMOKE_TMP/run"
EOF
say "podman $(podman version --format '{{.Client.Version}}'), storage in $SMOKE_TMP"

bash .ci/make-node-base.sh "$CACHE" | sed 's/^/  /'
say "base image $BASE ready"

if ! podman build --format docker --network host --build-arg NODE_IMAGE="$BASE" -t "$IMAGE" . \
  >"$SMOKE_TMP/build.log" 2>&1; then
  tail -n 40 "$SMOKE_TMP/build.log"
  fail "podman build"
fi
say "built $IMAGE ($(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%d MB", $1 / 1e6}'))"

# What the Dockerfile promises, read from the image's own metadata.
inspect() { podman image inspect --format "$1" "$IMAGE"; }
[ "$(inspect '{{.Config.User}}')" = node ] || fail "image USER is '$(inspect '{{.Config.User}}')', expected node"
inspect '{{json .Config.Healthcheck}}' | grep -q healthz || fail "image has no HEALTHCHECK on /healthz"
for port in 8080 1883 8883; do
  inspect '{{json .Config.ExposedPorts}}' | grep -q "\"$port/tcp\"" || fail "image does not EXPOSE $port"
done
inspect '{{json .Config.Volumes}}' | grep -q '"/data"' || fail "image has no VOLUME /data"
inspect '{{json .Config.Env}}' | grep -q 'SWITCHBOARD_DATA_DIR=/data' || fail "image does not set SWITCHBOARD_DATA_DIR=/data"
say "ok: image runs as node, has a HEALTHCHECK, exposes 8080 1883 8883, declares VOLUME /data"

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
WS_PORT=$(free_port)
MQTT_PORT=$(free_port)
[ "$WS_PORT" != "$MQTT_PORT" ] || MQTT_PORT=$(free_port)
VOLUME=switchboard-smoke-$(basename "$SMOKE_TMP" | cut -d. -f2 | tr 'A-Z' 'a-z')
podman volume create "$VOLUME" >/dev/null

# The way README and examples/docker-compose.yml run it: JWT login, the compose example's config file mounted
# read-only, and a named volume for the data directory.
# Arguments are more `podman run` options.
start_container() {
  CID=$(podman run -d \
    -p "127.0.0.1:$WS_PORT:8080" -p "127.0.0.1:$MQTT_PORT:1883" \
    -v "$VOLUME:/data" \
    -v "$PWD/examples/compose-config.json:/config/config.json:ro" \
    -e SWITCHBOARD_CONFIG=/config/config.json \
    -e SWITCHBOARD_JWT_SECRET="$SECRET" \
    "$@" "$IMAGE" 2>"$SMOKE_TMP/run.log") || { cat "$SMOKE_TMP/run.log"; fail "podman run"; }
  say "started container ${CID:0:12} (WebSocket 127.0.0.1:$WS_PORT, MQTT 127.0.0.1:$MQTT_PORT, volume $VOLUME)"
}

# Podman runs HEALTHCHECKs from systemd timers, which CI lacks, so run the image's check by hand until it passes.
wait_healthy() {
  local deadline=$((SECONDS + 60))
  until podman healthcheck run "$CID" >/dev/null 2>&1; do
    [ "$(podman inspect --format '{{.State.Running}}' "$CID")" = true ] || fail "the container exited"
    [ "$SECONDS" -lt "$deadline" ] || fail "the container did not become healthy within 60 s"
    sleep 0.5
  done
  local status
  status=$(podman inspect --format '{{.State.Health.Status}}' "$CID")
  [ "$status" = healthy ] || fail "health status is '$status' after a passing check"
  say "ok: HEALTHCHECK reports healthy"
}

# A graceful stop: SIGTERM reaches the router as PID 1, which closes its sessions and the store and exits 0.
stop_container() {
  quietly podman stop -t 15 "$CID"
  local code
  code=$(podman inspect --format '{{.State.ExitCode}}' "$CID")
  [ "$code" = 0 ] || fail "the router exited with $code on SIGTERM, expected 0"
  podman logs --tail 3 "$CID" 2>&1 | grep -q '"msg":"switchboard stopped"' || fail "the router did not log its shutdown last"
  say "ok: SIGTERM stopped the router cleanly (exit 0)"
}

export SMOKE_WS_URL="ws://127.0.0.1:$WS_PORT/" SMOKE_MQTT_URL="mqtt://127.0.0.1:$MQTT_PORT" SMOKE_JWT_SECRET="$SECRET"
check_retained() {
  node .ci/docker-smoke-clients.mjs retained || fail "retained message $1"
  say "ok: a new WAMP subscriber got the retained message $1"
}

# Podman's own complaints (the missing systemd for health-check timers) only matter when a command fails.
quietly() {
  "$@" >/dev/null 2>"$SMOKE_TMP/podman.log" || { cat "$SMOKE_TMP/podman.log"; fail "$*"; }
}

start_container
wait_healthy

# /proc/1 belongs to the user the router process runs as.
owner=$(podman exec "$CID" stat -c '%U %u' /proc/1)
[ "$owner" = "node 1000" ] || fail "the router runs as '$owner', expected 'node 1000'"
cmdline=$(podman exec "$CID" sh -c 'tr "\0" " " </proc/1/cmdline')
cmdline=${cmdline% }
say "ok: the router process ($cmdline) runs as user node (uid 1000)"

# The lmdb package's prebuilt native binary loads in the image (checked apart from the router, in a scratch
# directory, so that a failure names the module rather than the store)...
lmdb_check='
const { open } = require("lmdb");
const fs = require("fs");
const dir = fs.mkdtempSync("/tmp/smoke-lmdb-");
(async () => {
  const db = open({ path: dir });
  await db.put("key", { written: "in the image" });
  const value = db.get("key");
  await db.close();
  fs.rmSync(dir, { recursive: true });
  if (value?.written !== "in the image") throw new Error("read back " + JSON.stringify(value));
  console.log("lmdb " + process.arch + " native module wrote and read back a record, as " + require("os").userInfo().username);
})().catch((error) => { console.error(error); process.exit(1); });'
result=$(podman exec "$CID" node -e "$lmdb_check" 2>&1) || fail "lmdb in the image: $result"
say "ok: $result"
# ...and the router opened its store in the volume, writing there as node.
podman logs "$CID" 2>&1 | grep '"msg":"store opened"' | grep -q '"dataDir":"/data"' || fail "the router did not open its store in /data"
files=$(podman exec "$CID" find /data -maxdepth 1 -type f -user node)
[ -n "$files" ] || fail "no store files owned by node in /data"
say "ok: the store is open in /data ($(echo $files | tr '\n' ' '))"

node .ci/docker-smoke-clients.mjs exchange || fail "MQTT <-> WAMP exchange"
say "ok: MQTT -> WAMP and WAMP -> MQTT through the container"

node .ci/docker-smoke-clients.mjs retain || fail "retained publish"
check_retained "right away"

# Durability: the retained message must outlive a restart of the container, and its replacement by a new
# container on the same volume (as an image upgrade does).
stop_container
quietly podman start "$CID"
say "restarted container ${CID:0:12}"
wait_healthy
check_retained "after a restart"

stop_container
quietly podman rm "$CID"
CID=""
start_container
wait_healthy
check_retained "after replacing the container (same volume)"

# TLS: with tls.cert and tls.key the main port speaks https/wss, and the HEALTHCHECK must still pass; the same
# clients then go over wss:// and MQTT over TLS (port 8883), trusting the test certificate.
stop_container
quietly podman rm "$CID"
CID=""
mkdir "$SMOKE_TMP/certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=switchboard-smoke -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$SMOKE_TMP/certs/key.pem" -out "$SMOKE_TMP/certs/cert.pem" 2>/dev/null
# Readable by the node user in the container; the key is a throwaway made for this run.
chmod 644 "$SMOKE_TMP/certs/key.pem"
MQTTS_PORT=$(free_port)
start_container -p "127.0.0.1:$MQTTS_PORT:8883" -v "$SMOKE_TMP/certs:/certs:ro" \
  -e SWITCHBOARD_TLS_CERT=/certs/cert.pem -e SWITCHBOARD_TLS_KEY=/certs/key.pem
wait_healthy
NODE_EXTRA_CA_CERTS="$SMOKE_TMP/certs/cert.pem" SMOKE_WS_URL="wss://127.0.0.1:$WS_PORT/" \
  SMOKE_MQTT_URL="mqtts://127.0.0.1:$MQTTS_PORT" node .ci/docker-smoke-clients.mjs exchange || fail "exchange over TLS"
say "ok: MQTT -> WAMP and WAMP -> MQTT over wss:// and MQTT over TLS"
