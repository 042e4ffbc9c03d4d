"""CreateImage through boto3 on the fake driver: an instance's image becomes available, boots,
carries its tags, and the API refuses what EC2 refuses. A cloud with no agent shows what a
user sees while the image is still being written."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from overcast.cloud.compute.launch import RunRequest
from overcast.cloud.compute.snapshots import SnapshotRequest
from overcast.drivers.base import HostCapacity
from overcast.errors import CloudError
from tests.conftest import RunningCloud, in_process_cloud, wait_for_state


def code_of(call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    return exc.value.response["Error"]["Code"]


def launch(ec2, image_id: str) -> str:
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1,
                                    InstanceType="t3.micro")["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [instance_id], "running")
    return instance_id


def wait_available(ec2, image_id: str) -> dict:
    ec2.get_waiter("image_available").wait(ImageIds=[image_id],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return ec2.describe_images(ImageIds=[image_id])["Images"][0]


def test_image_of_a_running_instance_boots(ec2, image_id: str, cloud: RunningCloud) -> None:
    store = cloud.data_dir / "images" / "store"
    before = set(store.glob("*.qcow2"))
    instance_id = launch(ec2, image_id)
    made = ec2.create_image(InstanceId=instance_id, Name="web-server-v1",
                            Description="from a running instance", TagSpecifications=[
                                {"ResourceType": "image", "Tags": [{"Key": "v", "Value": "1"}]}])
    image = wait_available(ec2, made["ImageId"])
    assert image["Name"] == "web-server-v1" and image["Description"] == "from a running instance"
    assert image["SourceInstanceId"] == instance_id and not image["Public"]
    assert image["Tags"] == [{"Key": "v", "Value": "1"}]
    mine = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name",
                                                          "Values": ["web-server-*"]}])
    assert [i["ImageId"] for i in mine["Images"]] == [made["ImageId"]]
    # the image is a file in the store, and instances boot from it
    stored = set(store.glob("*.qcow2")) - before
    assert len(stored) == 1 and stored.pop().stat().st_size > 0
    copy = launch(ec2, made["ImageId"])
    assert ec2.describe_instances(InstanceIds=[copy])["Reservations"][0]["Instances"][0][
        "ImageId"] == made["ImageId"]
    ec2.terminate_instances(InstanceIds=[instance_id, copy])
    ec2.deregister_image(ImageId=made["ImageId"])


def test_image_of_a_stopped_instance(ec2, image_id: str) -> None:
    instance_id = launch(ec2, image_id)
    ec2.stop_instances(InstanceIds=[instance_id])
    wait_for_state(ec2, [instance_id], "stopped")
    made = ec2.create_image(InstanceId=instance_id, Name="stopped-image")
    assert wait_available(ec2, made["ImageId"])["State"] == "available"
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.deregister_image(ImageId=made["ImageId"])  # the session's cloud: leave nothing behind


def test_create_image_refusals(ec2, image_id: str, cloud: RunningCloud) -> None:
    instance_id = launch(ec2, image_id)
    assert code_of(ec2.create_image, InstanceId=instance_id, Name="dry",
                   DryRun=True) == "DryRunOperation"
    assert code_of(ec2.create_image, InstanceId="i-0123456789abcdef0",
                   Name="x-image") == "InvalidInstanceID.NotFound"
    assert code_of(ec2.create_image, InstanceId="bogus", Name="x-image") \
        == "InvalidInstanceID.Malformed"
    assert code_of(ec2.create_image, InstanceId=instance_id,
                   Name="bad*name!") == "InvalidAMIName.Malformed"
    made = ec2.create_image(InstanceId=instance_id, Name="taken-name")
    assert code_of(ec2.create_image, InstanceId=instance_id,
                   Name="taken-name") == "InvalidAMIName.Duplicate"
    wait_available(ec2, made["ImageId"])
    cloud.overcast("project", "create", "snapshot-other")
    other = cloud.client(cloud.project_credentials("snapshot-other"))
    assert code_of(other.create_image, InstanceId=instance_id,
                   Name="not-mine") == "InvalidInstanceID.NotFound"
    assert code_of(other.describe_images, ImageIds=[made["ImageId"]]) == "InvalidAMIID.NotFound"
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for_state(ec2, [instance_id], "terminated")
    assert code_of(ec2.create_image, InstanceId=instance_id,
                   Name="too-late") == "IncorrectInstanceState"
    assert not ec2.describe_images(Filters=[{"Name": "name", "Values": ["dry", "too-late"]}])[
        "Images"]
    ec2.deregister_image(ImageId=made["ImageId"])


def test_pending_image_cannot_launch_and_ended_instance_fails_it(tmp_path: Path) -> None:
    cloud, ctx, image_id = in_process_cloud(tmp_path, HostCapacity(8, 16384, 100))
    launched = cloud.run_instances(ctx, RunRequest(image_id=image_id))
    instance_id = launched.instances[0].id
    cloud.instances.observe(instance_id, "booted")
    image = cloud.snapshots.create(ctx, SnapshotRequest(instance_id, "still-writing"))
    assert cloud.images.get(ctx, image.id).state == "pending"
    with pytest.raises(CloudError) as exc:
        cloud.run_instances(ctx, RunRequest(image_id=image.id))
    assert exc.value.code == "InvalidAMIID.Unavailable"
    [job] = cloud.snapshots.jobs(launched.instances[0].host_id)
    assert (job.image_id, job.instance_id) == (image.id, instance_id)
    cloud.snapshots.fail(image.id, "The instance ended before its image was written.")
    failed = cloud.images.get(ctx, image.id)
    assert (failed.state, failed.state_reason) == (
        "failed", "The instance ended before its image was written.")
    assert cloud.snapshots.jobs(launched.instances[0].host_id) == []
