"""Keystone's EC2 credentials through `openstack ec2 credentials …` (a subprocess), boto3
signing with what Keystone made; users deleted through Keystone; a home-project role removed
leaves no access."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.openstack.conftest import PASSWORD, OsCloud


def _as_user(osc: OsCloud, tmp: Path, user: str, project: str, *args: str,
             check: bool = True) -> subprocess.CompletedProcess:
    """The `openstack` CLI signed in with a user's password (no clouds.yaml)."""
    env = {k: v for k, v in osc.cloud.env.items() if not k.startswith("OS_")}
    env.update({"HOME": str(tmp), "OS_AUTH_URL": osc.auth_url, "OS_USERNAME": user,
                "OS_PASSWORD": PASSWORD, "OS_PROJECT_NAME": project,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_REGION_NAME": osc.cloud.env.get("OVERCAST_REGION", "overcast-1"),
                "OS_IDENTITY_API_VERSION": "3", "OS_INTERFACE": "public"})
    result = subprocess.run([osc.openstack_binary, *args], env=env, capture_output=True,
                            text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"openstack {' '.join(args)} failed:\n{result.stderr}")
    return result


def _ec2(osc: OsCloud, access: str, secret: str):
    return boto3.client("ec2", endpoint_url=osc.cloud.endpoint,
                        region_name=osc.cloud.credentials["AWS_DEFAULT_REGION"],
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))


def _token(osc: OsCloud, user: str, project: str) -> requests.Response:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}
    return requests.post(f"{osc.auth_url}/v3/auth/tokens", json=body, timeout=10)


def _sees_the_project(osc: OsCloud, ec2: Any, user: str, project: str) -> None:
    """The key acts in the credential's project: EC2 lists exactly the servers Nova shows
    the same user there (other tests may have launched some)."""
    token = _token(osc, user, project).headers["X-Subject-Token"]
    servers = requests.get(f"{osc.cloud.endpoint}/compute/v2.1/servers",
                           headers={"X-Auth-Token": token}, timeout=10).json()["servers"]
    live = ["pending", "running", "stopping", "stopped", "shutting-down"]
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                                    "Values": live}])
    ids = {i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]}
    assert len(ids) == len(servers)


def _admin_token(osc: OsCloud) -> str:
    return osc.admin().session.get_token()


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_openstack_ec2_credentials_round_trip(osc: OsCloud, tmp_path: Path) -> None:
    made = json.loads(_as_user(osc, tmp_path, "alice", "p2", "ec2", "credentials", "create",
                               "-f", "json").stdout)
    access, secret = made["access"], made["secret"]
    assert access.startswith("AKIA") and secret
    alice_id = _token(osc, "alice", "p2").json()["token"]["user"]["id"]
    assert made["user_id"] == alice_id
    ec2 = _ec2(osc, access, secret)
    _sees_the_project(osc, ec2, "alice", "p2")
    ec2.create_key_pair(KeyName="from-keystone-credential")  # alice is a member of p2

    listed = json.loads(_as_user(osc, tmp_path, "alice", "p2", "ec2", "credentials", "list",
                                 "-f", "json").stdout)
    assert access in [row["Access"] for row in listed]
    assert all(row["Secret"] in (None, "") for row in listed)
    shown = json.loads(_as_user(osc, tmp_path, "alice", "p2", "ec2", "credentials", "show",
                                access, "-f", "json").stdout)
    assert shown["access"] == access and shown["project_id"] == made["project_id"]

    _as_user(osc, tmp_path, "alice", "p2", "ec2", "credentials", "delete", access)
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances()
    assert _code(exc) == "AuthFailure"
    again = _as_user(osc, tmp_path, "alice", "p2", "ec2", "credentials", "delete", access,
                     check=False)
    assert again.returncode != 0


def test_a_user_manages_only_their_own(osc: OsCloud, tmp_path: Path) -> None:
    made = json.loads(_as_user(osc, tmp_path, "rita", "p2", "ec2", "credentials", "create",
                               "-f", "json").stdout)
    rita_ec2 = _ec2(osc, made["access"], made["secret"])
    _sees_the_project(osc, rita_ec2, "rita", "p2")
    with pytest.raises(ClientError) as exc:  # rita is a reader: her key is one too
        rita_ec2.create_key_pair(KeyName="from-reader")
    assert _code(exc) == "UnauthorizedOperation"
    url = f"{osc.auth_url}/v3/users/{made['user_id']}/credentials/OS-EC2"
    alice = {"X-Auth-Token": _token(osc, "alice", "p2").headers["X-Subject-Token"]}
    assert requests.get(url, headers=alice, timeout=10).status_code == 403
    assert requests.delete(f"{url}/{made['access']}", headers=alice,
                           timeout=10).status_code == 403
    assert requests.post(url, json={"tenant_id": made["project_id"]}, headers=alice,
                         timeout=10).status_code == 403
    admin = {"X-Auth-Token": _admin_token(osc)}
    assert made["access"] in [c["access"] for c in
                              requests.get(url, headers=admin, timeout=10).json()["credentials"]]
    # an application credential (the admin's clouds.yaml) cannot mint keys that outlive it
    refused = osc.cli("ec2", "credentials", "create", check=False)
    assert refused.returncode != 0
    alice_id = _token(osc, "alice", "p2").json()["token"]["user"]["id"]
    alice_url = f"{osc.auth_url}/v3/users/{alice_id}/credentials/OS-EC2"
    assert requests.post(alice_url, json={}, headers=alice, timeout=10).status_code == 400
    assert requests.post(alice_url, json={"tenant_id": "nope"}, headers=alice,
                         timeout=10).status_code == 404
    admin_project = osc.admin().identity.find_project("admin").id
    assert requests.post(alice_url, json={"tenant_id": admin_project}, headers=alice,
                         timeout=10).status_code == 403  # she holds no role there
    assert requests.delete(f"{url}/{made['access']}", headers=admin,
                           timeout=10).status_code == 204
    with pytest.raises(ClientError) as exc:
        rita_ec2.describe_instances()
    assert _code(exc) == "AuthFailure"


def test_delete_user_through_keystone(osc: OsCloud, tmp_path: Path) -> None:
    admin = {"X-Auth-Token": _admin_token(osc)}
    p2 = osc.admin().identity.find_project("p2").id
    body = {"user": {"name": "gone-gus", "default_project_id": p2, "password": PASSWORD}}
    user = requests.post(f"{osc.auth_url}/v3/users", json=body, headers=admin,
                         timeout=10).json()["user"]
    token = _token(osc, "gone-gus", "p2").headers["X-Subject-Token"]
    made = json.loads(_as_user(osc, tmp_path, "gone-gus", "p2", "ec2", "credentials",
                               "create", "-f", "json").stdout)
    ec2 = _ec2(osc, made["access"], made["secret"])
    _sees_the_project(osc, ec2, "gone-gus", "p2")
    servers = f"{osc.cloud.endpoint}/compute/v2.1/servers"
    assert requests.get(servers, headers={"X-Auth-Token": token}, timeout=10).ok

    url = f"{osc.auth_url}/v3/users/{user['id']}"
    gus = {"X-Auth-Token": token}
    assert requests.delete(url, headers=gus, timeout=10).status_code == 403
    assert requests.delete(url, headers=admin, timeout=10).status_code == 204
    assert requests.get(servers, headers=gus, timeout=10).status_code == 401
    assert _token(osc, "gone-gus", "p2").status_code == 401
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances()
    assert _code(exc) == "AuthFailure"
    assert requests.get(url, headers=admin, timeout=10).status_code == 404
    assert requests.delete(url, headers=admin, timeout=10).status_code == 404


def test_removing_the_home_role_refuses_token_scoping(osc: OsCloud) -> None:
    osc.cloud.overcast("user", "create", "hana", "--project", "p2", "--password", PASSWORD,
                       "--role", "reader")
    assert _token(osc, "hana", "p2").status_code == 201
    admin = {"X-Auth-Token": _admin_token(osc)}
    roles = osc.admin().identity
    hana, p2 = roles.find_user("hana").id, roles.find_project("p2").id
    revoked = requests.delete(f"{osc.auth_url}/v3/projects/{p2}/users/{hana}/roles/reader",
                              headers=admin, timeout=10)
    assert revoked.status_code == 204
    assert _token(osc, "hana", "p2").status_code == 401
    listed = requests.get(f"{osc.auth_url}/v3/role_assignments?user.id={hana}",
                          headers=admin, timeout=10).json()["role_assignments"]
    assert listed == []
