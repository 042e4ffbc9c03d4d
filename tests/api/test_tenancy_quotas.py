"""Projects are walls; quotas and capacity are enforced at RunInstances."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import start_cloud, wait_for_state


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def other(cloud):
    cloud.overcast("project", "create", "tenant-b")
    return cloud.client(cloud.project_credentials("tenant-b"))


def test_projects_have_their_own_accounts(cloud, other, ec2) -> None:
    listing = cloud.overcast("project", "list").stdout
    assert "tenant-b" in listing and "admin" in listing
    mine = ec2.describe_instances()
    theirs = other.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"],
                                 MinCount=1, MaxCount=1)
    assert len(theirs["OwnerId"]) == 12
    assert theirs["OwnerId"] != ec2.run_instances(
        ImageId=theirs["Instances"][0]["ImageId"], MinCount=1, MaxCount=1)["OwnerId"]
    assert mine is not None


def test_another_projects_instance_is_not_found(cloud, other, ec2, image_id) -> None:
    iid = other.run_instances(ImageId=image_id, MinCount=1, MaxCount=1,
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": "secret", "Value": "b"}]}])["Instances"][0][
        "InstanceId"]
    visible = [i["InstanceId"] for r in ec2.describe_instances()["Reservations"]
               for i in r["Instances"]]
    assert iid not in visible
    for call in (lambda: ec2.describe_instances(InstanceIds=[iid]),
                 lambda: ec2.terminate_instances(InstanceIds=[iid]),
                 lambda: ec2.get_console_output(InstanceId=iid),
                 lambda: ec2.create_tags(Resources=[iid], Tags=[{"Key": "x", "Value": "y"}])):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "InvalidInstanceID.NotFound"
    assert ec2.describe_tags(Filters=[{"Name": "key", "Values": ["secret"]}])["Tags"] == []
    other.create_key_pair(KeyName="b-key")
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, KeyName="b-key")
    assert _code(exc) == "InvalidKeyPair.NotFound"
    assert wait_for_state(other, [iid], "running")


def test_quotas(cloud, image_id) -> None:
    cloud.overcast("project", "create", "small")
    small = cloud.client(cloud.project_credentials("small"))
    told = cloud.overcast("project", "set-quota", "small", "--instances", "3", "--vcpus", "4")
    # what is in force, defaults included: never "None" for a limit the project did not set
    assert "max instances 3, max vCPUs 4" in told.stdout and "None" not in told.stdout
    with pytest.raises(ClientError) as exc:
        small.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=3, MaxCount=3)
    assert _code(exc) == "VcpuLimitExceeded"
    made = small.run_instances(ImageId=image_id, InstanceType="t2.micro", MinCount=1,
                               MaxCount=10)["Instances"]
    assert len(made) == 3  # MaxCount is trimmed to what the quota allows
    with pytest.raises(ClientError) as exc:
        small.run_instances(ImageId=image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1)
    assert _code(exc) == "InstanceLimitExceeded"
    small.terminate_instances(InstanceIds=[i["InstanceId"] for i in made])
    wait_for_state(small, [i["InstanceId"] for i in made], "terminated")
    assert small.run_instances(ImageId=image_id, InstanceType="t2.micro", MinCount=1,
                               MaxCount=1)["Instances"]


def test_capacity_is_finite(tmp_path) -> None:
    tiny = start_cloud(tmp_path, fake_vcpus=2, fake_memory_mib=4096,
                       cpu_allocation_ratio=1.0, ram_allocation_ratio=1.0)
    try:
        ec2 = tiny.client()
        image = ec2.describe_images()["Images"][0]["ImageId"]
        made = ec2.run_instances(ImageId=image, InstanceType="t2.small", MinCount=1,
                                 MaxCount=5)["Instances"]
        assert len(made) == 2  # two 1-vCPU instances fill the 2-vCPU host
        with pytest.raises(ClientError) as exc:
            ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1, MaxCount=1)
        assert _code(exc) == "InsufficientInstanceCapacity"
        status = tiny.overcast("status").stdout
        assert "up" in status and "vCPUs   2 of 2 (2 × 1.0)" in status
        ec2.stop_instances(InstanceIds=[made[0]["InstanceId"]])
        wait_for_state(ec2, [made[0]["InstanceId"]], "stopped")
        assert ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=1,
                                 MaxCount=1)["Instances"]
        # the stopped one's vCPU went to the new one: it cannot start until there is room
        with pytest.raises(ClientError) as exc:
            ec2.start_instances(InstanceIds=[made[0]["InstanceId"]])
        assert _code(exc) == "InsufficientInstanceCapacity"
        assert wait_for_state(ec2, [made[0]["InstanceId"]], "stopped")
        ec2.terminate_instances(InstanceIds=[made[1]["InstanceId"]])
        wait_for_state(ec2, [made[1]["InstanceId"]], "terminated")
        ec2.start_instances(InstanceIds=[made[0]["InstanceId"]])
        assert wait_for_state(ec2, [made[0]["InstanceId"]], "running")
    finally:
        tiny.stop()


def test_starting_stopped_instances_counts_against_the_vcpu_quota(cloud, image_id) -> None:
    cloud.overcast("project", "create", "tight")
    tight = cloud.client(cloud.project_credentials("tight"))
    cloud.overcast("project", "set-quota", "tight", "--instances", "5", "--vcpus", "4")
    first, second = (i["InstanceId"] for i in tight.run_instances(
        ImageId=image_id, InstanceType="t3.micro", MinCount=2, MaxCount=2)["Instances"])
    wait_for_state(tight, [first, second], "running")
    tight.stop_instances(InstanceIds=[first])
    wait_for_state(tight, [first], "stopped")
    third = tight.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1,
                                MaxCount=1)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as exc:  # 2 + 2 running, 2 more would be 6 > 4
        tight.start_instances(InstanceIds=[first])
    assert _code(exc) == "VcpuLimitExceeded"
    assert wait_for_state(tight, [first], "stopped")
    tight.terminate_instances(InstanceIds=[second, third])
    wait_for_state(tight, [second, third], "terminated")
    tight.start_instances(InstanceIds=[first])
    assert wait_for_state(tight, [first], "running")
