#!/usr/bin/env bash
# The EC2 conformance suite (ec2api-tempest-plugin 1.7.0) against Overcast on the fake driver.
# Installs the plugin in its own virtualenv (it pins OpenStack libraries we do not want in
# .venv), then runs tests/conformance/run.py. Extra arguments go to pytest (e.g. -k images).
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${CONFORMANCE_VENV:-tests/conformance/.venv}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import ec2api_tempest_plugin" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "ec2api-tempest-plugin==1.7.0" "pytest>=8"
fi
exec .venv/bin/python tests/conformance/run.py --python "$VENV/bin/python" \
  --report tests/conformance/last-run.txt "$@"
