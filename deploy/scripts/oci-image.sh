#!/usr/bin/env bash
# Optional, not in CI: assembles the example image offline with buildah (Debian package) — no base
# image pull: the npm-shipped Node binary this repository runs on (scripts/setup.sh), the shared
# libraries it links (copied from this machine), CA certificates, a passwd entry for UID 10001 and the
# bundle from scripts/bundle.sh. Same user, workdir, environment, port, health check and command as
# deploy/Dockerfile's runtime stage.
#   deploy/scripts/oci-image.sh <knex|typeorm> [image-name]     (root, or inside `buildah unshare`)
# Then e.g. (host network, the local stack's environment from `npm run example -- knex` style setups):
#   podman --storage-driver vfs run --rm --network host -e DBCREDS_SECRET_ID -e AWS_REGION -e AWS_ENDPOINT_URL_SECRETS_MANAGER \
#     -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e PORT=3000 localhost/dbcreds-example:knex
#
# Tried on the dev machine (Debian 12, buildah 1.28.2, podman 4.3.1 from apt; 2026-12-01):
#   - assembling works offline: ~30-45 s on the shared machine, image 322 MB (Node 24.21 binary
#     ~120 MB + the knex bundle ~200 MB), no shell or package manager inside;
#   - `podman run` does NOT work in this sandbox: crun fails with "setrlimit `RLIMIT_NOFILE`
#     (or RLIMIT_NPROC): Operation not permitted" whatever --ulimit says, and the health-check timer
#     needs systemd. So the image's root filesystem was run without a container runtime instead:
#     `chroot --userspec=10001:10001 <buildah mount> /usr/local/bin/node /app/dist/main.js` against
#     the local stack answered GET /health 200 as the app user, and dist/healthcheck.js exited 0.
#   Not in CI: it needs root and apt packages, and it copies this machine's shared libraries, so
#   the result depends on the host. deploy/Dockerfile is the reproducible build.
# STORAGE_DRIVER defaults to vfs (works where overlay-on-overlay does not, e.g. inside a container); give
# podman the same: podman --storage-driver vfs run ...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
example="${1:?usage: deploy/scripts/oci-image.sh <knex|typeorm> [image-name]}"
image="${2:-dbcreds-example:$example}"
driver="${STORAGE_DRIVER:-vfs}"
b() { buildah --storage-driver "$driver" "$@"; }
# Docker image format: OCI images cannot carry HEALTHCHECK.
export BUILDAH_FORMAT=docker
command -v buildah >/dev/null || { echo "buildah is not installed (apt-get install buildah podman)" >&2; exit 1; }
work="$(mktemp -d)"
ctr=""
cleanup() { [ -z "$ctr" ] || b rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
bash "$ROOT/deploy/scripts/bundle.sh" "$example" "$work/app" >/dev/null
node_bin="$(readlink -f "$(command -v node)")"
ctr="$(b from scratch)"
mnt="$(b mount "$ctr")"
mkdir -p "$mnt/usr/local/bin" "$mnt/etc/ssl/certs" "$mnt/tmp"
chmod 1777 "$mnt/tmp"
cp "$node_bin" "$mnt/usr/local/bin/node"
# The dynamic loader and every library node links.
for lib in $(ldd "$node_bin" | awk '/=> \// {print $3} /^\s*\/lib/ {print $1}'); do cp --parents -L "$lib" "$mnt"; done
cp -L /etc/ssl/certs/ca-certificates.crt "$mnt/etc/ssl/certs/"
printf 'root:x:0:0::/:/nonexistent\napp:x:10001:10001::/app:/nonexistent\n' > "$mnt/etc/passwd"
printf 'root:x:0:\napp:x:10001:\n' > "$mnt/etc/group"
cp -a "$work/app" "$mnt/app"
chown -R 0:0 "$mnt/app"
b unmount "$ctr" >/dev/null
b config --user 10001:10001 --workingdir /app --port 3000 \
  --env NODE_ENV=production --env HOST=0.0.0.0 --env PORT=3000 \
  --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --healthcheck 'CMD ["node", "dist/healthcheck.js"]' --healthcheck-interval 30s --healthcheck-timeout 5s \
  --cmd '["node", "dist/main.js"]' "$ctr"
b commit --quiet --format docker "$ctr" "$image" >/dev/null
echo "$image"
