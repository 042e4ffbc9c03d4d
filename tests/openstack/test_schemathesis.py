"""schemathesis against the served OpenAPI description: a bounded number of generated
requests per operation, none of which may get a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.openstack.conftest import OsCloud

EXAMPLES_PER_OPERATION = 8


def test_openapi_document_is_served(osc: OsCloud) -> None:
    document = requests.get(f"{osc.cloud.endpoint}/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.")
    assert "/compute/v2.1/servers/{server_id}" in document["paths"]
    assert "/image/v2/images/{image_id}/file" in document["paths"]


def test_no_server_errors_under_fuzzing(osc: OsCloud) -> None:
    token = osc.user("alice", "p2").session.get_token()
    binary = Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(binary), "run", f"{osc.cloud.endpoint}/openapi.json", "--url",
         osc.cloud.endpoint, "--checks", "not_a_server_error", "--max-examples",
         str(EXAMPLES_PER_OPERATION), "--header", f"X-Auth-Token: {token}",
         "--no-color"],
        capture_output=True, text=True, timeout=600, env={**osc.cloud.env,
                                                          "HOME": str(osc.home)})
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
