"""JSON bodies nested too deeply get a 400 in each OpenStack API's own fault format, with a
token or without one, never a 500."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
import yaml

from tests.conftest import RunningCloud

PATCH = "application/openstack-images-v2.1-json-patch"
# (method, path, content type, what each API's 400 looks like)
CALLS = [
    ("POST", "/identity/v3/auth/tokens", "application/json",
     lambda b: b["error"]["code"] == 400 and b["error"]["title"] == "Bad Request"),
    ("POST", "/identity/v3/projects", "application/json",
     lambda b: b["error"]["code"] == 400),
    ("POST", "/compute/v2.1/servers", "application/json",
     lambda b: b["badRequest"]["code"] == 400),
    ("POST", "/image/v2/images", "application/json",
     lambda b: b["code"] == "400 Bad Request"),
    ("PATCH", "/image/v2/images/{image}", PATCH, lambda b: b["code"] == "400 Bad Request"),
    ("POST", "/network/v2.0/security-groups", "application/json",
     lambda b: b["NeutronError"]["type"] == "HTTPBadRequest"),
]


def call(cloud: RunningCloud, method: str, path: str, body: bytes | dict,
         headers: dict[str, str]) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(cloud.endpoint + path, data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def token(cloud: RunningCloud) -> str:
    text = cloud.overcast("credentials", "--format", "clouds-yaml").stdout
    [entry] = yaml.safe_load(text)["clouds"].values()
    request = urllib.request.Request(cloud.endpoint + "/identity/v3/auth/tokens", method="POST",
                                     headers={"Content-Type": "application/json"},
                                     data=json.dumps({"auth": {"identity": {
                                         "methods": ["application_credential"],
                                         "application_credential": {
                                             "id": entry["auth"]["application_credential_id"],
                                             "secret": entry["auth"][
                                                 "application_credential_secret"]}}}}).encode())
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers["X-Subject-Token"]


@pytest.fixture(scope="module")
def image(cloud: RunningCloud, token: str) -> str:
    request = urllib.request.Request(cloud.endpoint + "/image/v2/images",
                                     headers={"X-Auth-Token": token})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["images"][0]["id"]


@pytest.mark.parametrize("authenticated", [False, True], ids=["no-token", "token"])
@pytest.mark.parametrize("nesting", [b"[" * 1000, b"[" * 100000 + b"]" * 100000,
                                     b'{"a":' * 200 + b"1" + b"}" * 200],
                         ids=["open-brackets", "deep-list", "deep-objects"])
@pytest.mark.parametrize(("method", "path", "kind", "looks_right"), CALLS,
                         ids=[f"{c[0]} {c[1]}" for c in CALLS])
def test_deep_nesting_is_a_bad_request(cloud: RunningCloud, token: str, image: str,
                                       authenticated: bool, nesting: bytes, method: str,
                                       path: str, kind: str, looks_right) -> None:
    headers = {"Content-Type": kind, **({"X-Auth-Token": token} if authenticated else {})}
    status, body = call(cloud, method, path.format(image=image), nesting, headers)
    assert status == 400, body
    assert looks_right(body), body


def test_the_limit_is_64_levels(cloud: RunningCloud, token: str) -> None:
    def server_named(levels: int) -> bytes:  # {"server": {"name": [[...]]}}: levels in all
        inner = levels - 2
        return b'{"server": {"name": ' + b"[" * inner + b"]" * inner + b"}}"

    headers = {"Content-Type": "application/json", "X-Auth-Token": token}
    status, body = call(cloud, "POST", "/compute/v2.1/servers", server_named(64), headers)
    assert status == 400 and "nested" not in body["badRequest"]["message"], body
    status, body = call(cloud, "POST", "/compute/v2.1/servers", server_named(65), headers)
    assert status == 400 and "nested too deeply" in body["badRequest"]["message"], body
