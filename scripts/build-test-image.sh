#!/bin/sh
# Build (or confirm up to date) Overcast's bootable test image from Debian packages.
# usage: scripts/build-test-image.sh [OUT_DIR]   (default: /var/tmp/overcast-test-image)
# needs: apt-get install linux-image-cloud-amd64 busybox-static dropbear-bin e2fsprogs qemu-utils
set -eu
cd "$(dirname "$0")/.."
exec python3 -m overcast.images.testimage "${1:-${OVERCAST_TEST_IMAGE_DIR:-/var/tmp/overcast-test-image}}"
