#!/usr/bin/env bash
# Makes localhost/loupe-node:20-bookworm, this machine's stand-in for node:20-bookworm-slim where no
# container registry answers: Debian bookworm (debootstrap minbase, from Debian's apt mirror) with
# the machine's own Node.js 20, npm, corepack and Node's headers (native addons build against them),
# under /usr/local as the official image has them, so that deploy/Dockerfile finds the same paths in
# either. Debian's own nodejs is 18, too old for Loupe.
# Does nothing when the image exists; LOUPE_BASE_REBUILD=1 makes it again.
set -euo pipefail

BASE=${LOUPE_NODE_BASE:-localhost/loupe-node:20-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [[ ${LOUPE_BASE_REBUILD:-0} != 1 ]] && podman image exists "$BASE"; then
  echo "base $BASE exists"
  exit 0
fi

node_version=$(node -v)
[[ $node_version == v20.* ]] || { echo "base-image.sh: needs Node.js 20 on this machine, found $node_version" >&2; exit 1; }
[[ -f /usr/include/node/node_api.h ]] || { echo "base-image.sh: Node's headers are not in /usr/include/node" >&2; exit 1; }

# Under $TMPDIR (default /tmp): point it at a disk-backed folder where /tmp is a small tmpfs (the tree is ~300 MB).
rootfs=$(mktemp -d -t loupe-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR"

usr_local=$rootfs/usr/local
mkdir -p "$usr_local/bin" "$usr_local/lib/node_modules" "$usr_local/include"
install -m 0755 "$(readlink -f "$(command -v node)")" "$usr_local/bin/node"
cp -a /usr/lib/node_modules/npm /usr/lib/node_modules/corepack "$usr_local/lib/node_modules/"
cp -a /usr/include/node "$usr_local/include/"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$usr_local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$usr_local/bin/npx"
ln -sf ../lib/node_modules/corepack/dist/corepack.js "$usr_local/bin/corepack"

# The official image's user: uid and gid 1000, named node, which the manifests run as.
chroot "$rootfs" groupadd --gid 1000 node
chroot "$rootfs" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
chroot "$rootfs" /usr/local/bin/node -e 'process.exit(process.versions.node.startsWith("20.") ? 0 : 1)'

# debootstrap keeps the downloaded .debs and apt's lists; an image needs neither.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  --message "debootstrap minbase bookworm + Node.js $node_version" \
  - "$BASE"
echo "base $BASE made (Node.js $node_version)"
