"""Identity v3 through openstacksdk and raw HTTP: discovery, password and
application-credential tokens, validation, revocation, roles on every call."""

from __future__ import annotations

import openstack
import pytest
import requests
from openstack import exceptions

from tests.openstack.conftest import PASSWORD, OsCloud


def _token(osc: OsCloud, user: str, project: str, password: str = PASSWORD) -> requests.Response:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    return requests.post(f"{osc.auth_url}/v3/auth/tokens", json=body, timeout=10)


def test_version_discovery(osc: OsCloud) -> None:
    found = requests.get(osc.auth_url, timeout=10)
    assert found.status_code == 300
    version = found.json()["versions"]["values"][0]
    assert version["id"].startswith("v3.") and version["status"] == "stable"
    assert version["links"][0]["href"] == f"{osc.auth_url}/v3/"
    for path in ("compute", "image"):
        assert requests.get(f"{osc.cloud.endpoint}/{path}", timeout=10).status_code in (200,
                                                                                        300)


def test_password_token_has_catalog_scope_and_roles(osc: OsCloud) -> None:
    issued = _token(osc, "alice", "p2")
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert issued.headers["X-Subject-Token"]
    assert token["project"]["name"] == "p2" and token["project"]["domain"]["id"] == "default"
    assert token["user"]["name"] == "alice"
    assert {r["name"] for r in token["roles"]} == {"member", "reader"}
    assert token["expires_at"].endswith("Z")
    types = {entry["type"]: entry for entry in token["catalog"]}
    assert set(types) >= {"identity", "compute", "image", "network"}
    assert types["compute"]["endpoints"][0]["url"] == f"{osc.cloud.endpoint}/compute/v2.1"
    assert types["compute"]["endpoints"][0]["interface"] == "public"


def test_bad_password_and_foreign_project_are_401(osc: OsCloud) -> None:
    assert _token(osc, "alice", "p2", "wrong password").status_code == 401
    assert _token(osc, "nobody", "p2").status_code == 401
    refused = _token(osc, "alice", "admin")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 401


def test_validate_and_revoke(osc: OsCloud) -> None:
    token = _token(osc, "alice", "p2").headers["X-Subject-Token"]
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    url = f"{osc.auth_url}/v3/auth/tokens"
    assert requests.get(url, headers=headers, timeout=10).json()["token"]["user"]["name"] \
        == "alice"
    assert requests.head(url, headers=headers, timeout=10).status_code == 200
    assert requests.delete(url, headers=headers, timeout=10).status_code == 204
    servers = requests.get(f"{osc.cloud.endpoint}/compute/v2.1/servers",
                           headers={"X-Auth-Token": token}, timeout=10)
    assert servers.status_code == 401
    assert "unauthorized" in servers.json()


def test_malformed_auth_is_400_never_500(osc: OsCloud) -> None:
    url = f"{osc.auth_url}/v3/auth/tokens"
    for body in (b"not json", b"[]", b'{"auth": 3}', b'{"auth": {"identity": {}}}',
                 b'{"auth": {"identity": {"methods": ["password"], "password": []}}}'):
        found = requests.post(url, data=body, timeout=10,
                              headers={"Content-Type": "application/json"})
        assert found.status_code == 400, body


def test_admin_lists_projects_and_users_members_cannot(osc: OsCloud, admin) -> None:
    assert {"admin", "p2"} <= {p.name for p in admin.identity.projects()}
    assert {"admin", "alice", "rita"} <= {u.name for u in admin.identity.users()}
    alice = osc.user("alice", "p2")
    with pytest.raises(exceptions.ForbiddenException):
        list(alice.identity.projects())
    with pytest.raises(exceptions.ForbiddenException):
        list(alice.identity.users())


def test_application_credential_round_trip(osc: OsCloud) -> None:
    alice = osc.user("alice", "p2")
    user_id = alice.current_user_id
    made = alice.identity.create_application_credential(user_id, "ci", roles=[{"name":
                                                                               "reader"}])
    assert made.secret and [r["name"] for r in made.roles] == ["reader"]
    reader = openstack.connect(
        auth_type="v3applicationcredential", load_yaml_config=False, load_envvars=False,
        auth={"auth_url": osc.auth_url, "application_credential_id": made.id,
              "application_credential_secret": made.secret}, region_name="overcast-1")
    assert list(reader.compute.servers()) == []
    with pytest.raises(exceptions.ForbiddenException):
        reader.compute.create_keypair(name="from-reader-credential")
    alice.identity.delete_application_credential(user_id, made.id)
    body = {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": {"id": made.id,
                                                             "secret": made.secret}}}}
    refused = requests.post(f"{osc.auth_url}/v3/auth/tokens", json=body, timeout=10)
    assert refused.status_code == 401


def test_reader_reads_but_cannot_change(osc: OsCloud) -> None:
    rita = osc.user("rita", "p2")
    assert isinstance(list(rita.compute.flavors()), list)
    assert list(rita.compute.keypairs()) is not None
    with pytest.raises(exceptions.ForbiddenException):
        rita.compute.create_keypair(name="k-reader")
    with pytest.raises(exceptions.ForbiddenException):
        rita.image.create_image(name="reader-image", disk_format="raw",
                                container_format="bare")


def test_role_add_on_the_command_line_grants_access(osc: OsCloud) -> None:
    osc.cloud.overcast("role", "add", "--user", "rita", "--project", "admin", "reader")
    assert _token(osc, "rita", "admin").status_code == 201
    osc.cloud.overcast("role", "remove", "--user", "rita", "--project", "admin", "reader")
    assert _token(osc, "rita", "admin").status_code == 401
