"""EC2 access keys as IAM manages them (`overcast access-key …`): listed without secrets,
deactivated, activated and deleted, each change refused or accepted at the very next request,
on every controller that shares the database; and users deleted with their keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.api.app import App
from overcast.api.server import HttpServer
from overcast.cloud.service import Cloud
from overcast.config import load_settings
from tests.conftest import RunningCloud, _fresh_database, wait_for_state

PASSWORD = "correct horse battery"


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def _new_key(cloud: RunningCloud, project: str, user: str) -> dict[str, str]:
    out = cloud.overcast("access-key", "create", "--project", project, "--user", user).stdout
    fields = dict(line.split(":", 1) for line in out.splitlines()
                  if line.startswith(("AccessKeyId", "SecretAccessKey")))
    return {**cloud.credentials, "AWS_ACCESS_KEY_ID": fields["AccessKeyId"].strip(),
            "AWS_SECRET_ACCESS_KEY": fields["SecretAccessKey"].strip()}


def _listed(cloud: RunningCloud, *args: str) -> dict[str, list[str]]:
    lines = cloud.overcast("access-key", "list", *args).stdout.splitlines()
    assert lines[0].split() == ["ACCESS-KEY-ID", "USER", "PROJECT", "STATUS", "CREATED"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


def _refused(ec2) -> str:
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances()
    return _code(exc)


def test_list_deactivate_activate_delete(cloud) -> None:
    cloud.overcast("project", "create", "keys")
    cloud.overcast("user", "create", "keys-dora", "--project", "keys", "--password", PASSWORD)
    creds = _new_key(cloud, "keys", "keys-dora")
    key_id, secret = creds["AWS_ACCESS_KEY_ID"], creds["AWS_SECRET_ACCESS_KEY"]
    ec2 = cloud.client(creds)
    assert ec2.describe_instances()["Reservations"] == []

    listing = cloud.overcast("access-key", "list").stdout
    assert secret not in listing
    row = _listed(cloud, "--project", "keys")[key_id]
    assert row[:3] == ["keys-dora", "keys", "Active"] and row[3].endswith("Z")
    assert set(_listed(cloud, "--user", "keys-dora")) == {key_id}

    cloud.overcast("access-key", "deactivate", key_id)
    assert _refused(ec2) == "AuthFailure"
    assert _listed(cloud, "--project", "keys")[key_id][2] == "Inactive"
    cloud.overcast("access-key", "activate", key_id)
    assert ec2.describe_instances()["Reservations"] == []
    cloud.overcast("access-key", "delete", key_id)
    assert _refused(ec2) == "AuthFailure"
    assert key_id not in _listed(cloud)
    gone = cloud.overcast("access-key", "delete", key_id, check=False)
    assert gone.returncode != 0 and "does not exist" in gone.stderr


def test_a_key_needs_a_role_on_its_project(cloud) -> None:
    cloud.overcast("project", "create", "norole")
    refused = cloud.overcast("access-key", "create", "--project", "norole", "--user", "admin",
                             check=False)
    assert refused.returncode != 0 and "holds no role" in refused.stderr
    assert _listed(cloud, "--project", "norole") == {}


def test_user_delete_takes_keys_and_leaves_instances(cloud, image_id) -> None:
    cloud.overcast("project", "create", "leavers")
    cloud.overcast("user", "create", "leavers-ed", "--project", "leavers", "--password",
                   PASSWORD)
    cloud.overcast("user", "create", "leavers-fay", "--project", "leavers", "--password",
                   PASSWORD)
    ed = cloud.client(_new_key(cloud, "leavers", "leavers-ed"))
    fay = cloud.client(_new_key(cloud, "leavers", "leavers-fay"))
    iid = ed.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    wait_for_state(ed, [iid], "running")
    out = cloud.overcast("user", "delete", "leavers-ed").stdout
    assert "leavers-ed deleted" in out
    assert _refused(ed) == "AuthFailure"
    assert "leavers-ed" not in cloud.overcast("user", "list").stdout
    assert [k for k, row in _listed(cloud).items() if row[0] == "leavers-ed"] == []
    assert wait_for_state(fay, [iid], "running")  # the project's instance stays
    again = cloud.overcast("user", "delete", "leavers-ed", check=False)
    assert again.returncode != 0 and "leavers-ed" in again.stderr
    last = cloud.overcast("user", "delete", "admin", check=False)
    assert last.returncode != 0 and "last administrator" in last.stderr


@pytest.fixture()
def two_controllers(tmp_path: Path) -> Iterator[tuple[Cloud, list[str]]]:
    """Two Cloud objects on one database and one data directory, each serving HTTP."""
    database = _fresh_database() or ""
    clouds = [Cloud(load_settings(data_dir=tmp_path, database_url=database))
              for _ in range(2)]
    clouds[0].prepare()
    clouds[0].identity.bootstrap()
    servers = [HttpServer(App(c), "127.0.0.1", 0) for c in clouds]
    for server in servers:
        server.start()
    yield clouds[0], [f"http://127.0.0.1:{s.port}" for s in servers]
    for server in servers:
        server.stop()


def test_every_controller_refuses_at_once(two_controllers) -> None:
    first, endpoints = two_controllers
    creds = first.identity.credentials("admin")
    clients = [boto3.client("ec2", endpoint_url=url, region_name=first.settings.region,
                            aws_access_key_id=creds.access_key_id,
                            aws_secret_access_key=creds.secret_access_key,
                            config=Config(retries={"max_attempts": 1}))
               for url in endpoints]
    for ec2 in clients:  # each controller has seen the key
        assert ec2.describe_regions()["Regions"]
    first.identity.access_keys.set_status(creds.access_key_id, "Inactive")
    assert [_refused(ec2) for ec2 in clients] == ["AuthFailure", "AuthFailure"]
    first.identity.access_keys.set_status(creds.access_key_id, "Active")
    assert all(ec2.describe_regions()["Regions"] for ec2 in clients)
    first.identity.roles.assign("admin", "admin", "reader")
    first.identity.roles.unassign("admin", "admin", "admin")
    for ec2 in clients:
        with pytest.raises(ClientError) as exc:
            ec2.create_key_pair(KeyName="k")
        assert _code(exc) == "UnauthorizedOperation"
    first.identity.access_keys.delete(creds.access_key_id)
    assert [_refused(ec2) for ec2 in clients] == ["AuthFailure", "AuthFailure"]
