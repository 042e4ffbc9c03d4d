"""`overcast burst …` as an admin uses it."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from tests.burst.conftest import BURST_ZONE, Bursting, remote_instances
from tests.conftest import wait_for_state


def test_burst_cli(bursting: Bursting) -> None:
    cloud = bursting.cloud
    listing = cloud.overcast("burst", "list").stdout
    assert "remote" in listing and BURST_ZONE in listing and "admin" in listing
    assert bursting.remote_ami in listing
    assert "remote-secret" not in listing
    for db_file in cloud.data_dir.glob("overcast.db*"):  # sealed at rest (SQLite runs)
        assert b"remote-secret" not in db_file.read_bytes()

    bad = cloud.overcast("burst", "add", "x", "--endpoint", "ftp://nowhere", "--region", "r",
                         "--access-key", "a", "--secret-key", "s", check=False)
    assert bad.returncode == 1 and "Invalid endpoint" in bad.stderr
    twice = cloud.overcast("burst", "add", "remote", "--endpoint", "http://127.0.0.1:9",
                           "--region", "r", "--access-key", "a", "--secret-key", "s",
                           check=False)
    assert twice.returncode == 1 and "exists" in twice.stderr
    nobody = cloud.overcast("burst", "allow", "--project", "nobody", "remote", check=False)
    assert nobody.returncode == 1 and "No project" in nobody.stderr
    cloud.overcast("burst", "map-type", "remote", "t3.micro", "t3.small")
    assert "t3.micro=t3.small" in cloud.overcast("burst", "list").stdout

    iid = bursting.ec2.run_instances(ImageId=bursting.local_image, InstanceType="t3.micro",
                                     MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    [running] = wait_for_state(bursting.ec2, [iid], "running")
    assert running["InstanceType"] == "t3.micro"
    assert remote_instances(bursting.remote, [iid])[0]["InstanceType"] == "t3.small"
    refused = cloud.overcast("burst", "remove", "remote", check=False)
    assert refused.returncode == 1 and "still has 1 instance" in refused.stderr
    status = cloud.overcast("status").stdout
    assert "BURST TARGET" in status and "1/8" in status

    bursting.ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(bursting.ec2, [iid], "terminated")
    cloud.overcast("burst", "disallow", "--project", "admin", "remote")
    cloud.overcast("burst", "remove", "remote")
    assert "remote" not in cloud.overcast("burst", "list").stdout
    zones = bursting.ec2.describe_availability_zones()["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["overcast-1a"]


def _launch(bursting: Bursting) -> str:
    return bursting.ec2.run_instances(ImageId=bursting.local_image, InstanceType="t3.micro",
                                      MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]


def test_burst_set_changes_a_running_clouds_target(bursting: Bursting) -> None:
    cloud, ec2 = bursting.cloud, bursting.ec2
    out = cloud.overcast("burst", "set", "remote", "--max-instances", "1").stdout
    assert "instances 1," in out
    first = _launch(bursting)
    wait_for_state(ec2, [first], "running")
    with pytest.raises(ClientError, match="InsufficientInstanceCapacity"):
        _launch(bursting)
    cloud.overcast("burst", "set", "remote", "--max-instances", "none")
    assert " 1/-" in cloud.overcast("burst", "list").stdout
    second = _launch(bursting)
    wait_for_state(ec2, [second], "running")
    bad = cloud.overcast("burst", "set", "remote", "--max-vcpus", "-2", check=False)
    assert bad.returncode == 1 and "cannot be negative" in bad.stderr

    # a rotated key: sealed at rest, and the restarted agent carries on with it
    out = cloud.overcast("burst", "set", "remote", "--access-key", "AKIAROTATED",
                         "--secret-key", "rotated-secret").stdout
    assert "access key AKIAROTATED" in out and "rotated-secret" not in out
    for db_file in cloud.data_dir.glob("overcast.db*"):
        assert b"rotated-secret" not in db_file.read_bytes()
    deadline = time.monotonic() + 10  # the supervisor looks every 2 s
    while "burst target remote changed: agent restarted" not in cloud.log_path.read_text():
        assert time.monotonic() < deadline, "the agent was not restarted with the new key"
        time.sleep(0.2)
    ec2.stop_instances(InstanceIds=[first])
    wait_for_state(ec2, [first], "stopped", timeout=60)
    assert remote_instances(bursting.remote, [first])[0]["State"]["Name"] == "stopped"
    ec2.terminate_instances(InstanceIds=[first, second])
    wait_for_state(ec2, [first, second], "terminated", timeout=60)
