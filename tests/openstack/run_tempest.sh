#!/usr/bin/env bash
# Tempest 47.0.0 (compute servers/flavors/keypairs/limits/versions/volume attachments, image v2,
# volume v3: the Cinder subset listed in run_tempest.py) against Overcast
# on the fake driver. Installs Tempest in its own virtualenv (it pins OpenStack libraries we do
# not want in .venv), then runs tests/openstack/run_tempest.py. Extra arguments go to it
# (e.g. --regex 'tempest.api.compute.flavors').
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${TEMPEST_VENV:-tests/openstack/.tempest-venv}"
if [ ! -x "$VENV/bin/tempest" ] || ! "$VENV/bin/python" -c "import tempest" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "tempest==47.0.0"
fi
exec .venv/bin/python tests/openstack/run_tempest.py --venv "$VENV" "$@"
