"""Images and data volumes through boto3 (fake driver, local backend): CreateImage snapshots
an instance's data volumes into the image's mappings, RegisterImage takes mappings that name
snapshots, launching such an image makes volumes from them, and DeregisterImage leaves the
snapshots."""

from __future__ import annotations

import subprocess

import pytest
from botocore.exceptions import ClientError

from tests.api.test_volumes import wait_volume
from tests.conftest import RunningCloud, wait_for_state

PROJECT = "image-mappings"
ZONE = "overcast-1a"


def _fails(code: str, call, *args, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    error = exc.value.response["Error"]
    assert error["Code"] == code, error
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    return error["Message"]


@pytest.fixture(scope="module")
def api(cloud: RunningCloud):
    cloud.overcast("project", "create", PROJECT)
    return cloud.client(cloud.project_credentials(PROJECT))


@pytest.fixture(scope="module")
def image(api) -> str:
    return api.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def _devices(found: dict) -> dict[str, dict]:
    return {m["DeviceName"]: m.get("Ebs", {}) for m in found["BlockDeviceMappings"]}


def _launch(api, image: str, **extra) -> dict:
    iid = api.run_instances(ImageId=image, MinCount=1, MaxCount=1, **extra)["Instances"][0][
        "InstanceId"]
    return wait_for_state(api, [iid], "running")[0]


def _snapshot_done(api, sid: str) -> None:
    api.get_waiter("snapshot_completed").wait(SnapshotIds=[sid],
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def test_create_image_snapshots_data_volumes(api, image: str) -> None:
    source = _launch(api, image, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2, "DeleteOnTermination": False}}])
    data = _devices(source)["/dev/sdf"]["VolumeId"]
    wait_volume(api, data, "in-use", "attached")
    ami = api.create_image(InstanceId=source["InstanceId"], Name="with-data")["ImageId"]
    [made] = api.describe_images(ImageIds=[ami])["Images"]
    mapped = _devices(made)
    assert set(mapped) == {"/dev/xvda", "/dev/sdf"}
    sid = mapped["/dev/sdf"]["SnapshotId"]
    assert mapped["/dev/sdf"]["VolumeSize"] == 2
    assert mapped["/dev/sdf"]["DeleteOnTermination"] is False
    [snap] = api.describe_snapshots(SnapshotIds=[sid])["Snapshots"]
    assert snap["VolumeId"] == data and ami in snap["Description"]
    _snapshot_done(api, sid)
    api.get_waiter("image_available").wait(ImageIds=[ami],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    copy = _launch(api, ami)
    restored = _devices(copy)["/dev/sdf"]["VolumeId"]
    assert restored != data
    volume = wait_volume(api, restored, "in-use", "attached")
    assert (volume["SnapshotId"], volume["Size"]) == (sid, 2)
    bare = _launch(api, ami, BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "NoDevice": ""}])
    assert set(_devices(bare)) == {"/dev/xvda"}

    api.deregister_image(ImageId=ami)
    assert api.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] == "completed"
    api.terminate_instances(InstanceIds=[source["InstanceId"], copy["InstanceId"],
                                         bare["InstanceId"]])
    wait_volume(api, restored, "available")
    for vid in (data, restored):
        wait_volume(api, vid, "available")
        api.delete_volume(VolumeId=vid)
    api.delete_snapshot(SnapshotId=sid)


@pytest.fixture(scope="module")
def store_name(cloud: RunningCloud, tmp_path_factory: pytest.TempPathFactory) -> str:
    disk = tmp_path_factory.mktemp("image-mappings") / "one-gib.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "1G"], check=True)
    out = cloud.overcast("image", "import", str(disk), "--name", "mapped", "--project",
                         PROJECT, "--quiet").stdout
    return out.split("stored as ", 1)[1].split()[0]


def test_register_image_with_snapshot_mappings(api, store_name: str) -> None:
    volume = api.create_volume(AvailabilityZone=ZONE, Size=1)["VolumeId"]
    wait_volume(api, volume, "available")
    sid = api.create_snapshot(VolumeId=volume)["SnapshotId"]
    _snapshot_done(api, sid)
    _fails("InvalidSnapshot.NotFound", api.register_image, Name="bad-snap",
           ImageLocation=store_name, BlockDeviceMappings=[
               {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}])
    _fails("InvalidBlockDeviceMapping", api.register_image, Name="bad-size",
           ImageLocation=store_name, BlockDeviceMappings=[
               {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": sid, "VolumeSize": 0}}])
    _fails("InvalidBlockDeviceMapping", api.register_image, Name="bad-root",
           ImageLocation=store_name, BlockDeviceMappings=[
               {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": sid}}])
    ami = api.register_image(Name="with-snapshots", ImageLocation=store_name, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdg", "Ebs": {"SnapshotId": sid, "VolumeSize": 3}}])["ImageId"]
    [image] = api.describe_images(ImageIds=[ami])["Images"]
    assert _devices(image)["/dev/sdg"] == {
        "SnapshotId": sid, "VolumeSize": 3, "DeleteOnTermination": True, "VolumeType": "gp2",
        "Encrypted": False}
    api.deregister_image(ImageId=ami)
    api.delete_snapshot(SnapshotId=sid)
    api.delete_volume(VolumeId=volume)
