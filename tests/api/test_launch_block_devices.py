"""RunInstances' BlockDeviceMappings through boto3 (fake driver, local backend): each mapping
becomes a volume attached at its device from the start, from a snapshot when named; the
mappings show in DescribeInstances and DescribeVolumes; DeleteOnTermination is honoured; bad
mappings get EC2's errors and leave nothing behind."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.api.test_volumes import wait_gone, wait_volume
from tests.conftest import RunningCloud, wait_for_state

PROJECT = "launch-mappings"
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


def _run(api, image: str, mappings: list[dict], **extra) -> dict:
    return api.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                             BlockDeviceMappings=mappings, **extra)["Instances"][0]


def _by_device(instance: dict) -> dict[str, dict]:
    return {m["DeviceName"]: m["Ebs"] for m in instance["BlockDeviceMappings"]}


def _counts(api) -> tuple[int, int]:
    instances = [i for r in api.describe_instances()["Reservations"] for i in r["Instances"]
                 if i["State"]["Name"] not in ("shutting-down", "terminated")]
    volumes = [v for v in api.describe_volumes()["Volumes"] if v["State"] != "deleting"
               and not any(a["Device"] == "/dev/xvda" for a in v["Attachments"])]
    return len(instances), len(volumes)


def test_blank_volumes_at_launch_and_delete_on_termination(api, image: str) -> None:
    launched = _run(api, image, [
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2, "VolumeType": "gp3"}},
        {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 1, "DeleteOnTermination": False}},
        {"DeviceName": "/dev/sdh", "NoDevice": ""},
        {"DeviceName": "/dev/sdb", "VirtualName": "ephemeral0"}],
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "k", "Value": "v"}]}])
    iid = launched["InstanceId"]
    shown = _by_device(launched)
    assert set(shown) == {"/dev/xvda", "/dev/sdf", "/dev/sdg"}
    assert shown["/dev/sdf"]["DeleteOnTermination"] is True
    assert shown["/dev/sdg"]["DeleteOnTermination"] is False
    wait_for_state(api, [iid], "running")
    sdf = wait_volume(api, shown["/dev/sdf"]["VolumeId"], "in-use", "attached")
    sdg = wait_volume(api, shown["/dev/sdg"]["VolumeId"], "in-use", "attached")
    assert (sdf["Size"], sdf["VolumeType"], sdf["AvailabilityZone"]) == \
        (2, "gp3", launched["Placement"]["AvailabilityZone"])
    assert sdf["Attachments"][0]["InstanceId"] == iid
    assert {"Key": "k", "Value": "v"} in sdg["Tags"]
    described = api.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert {d: e["Status"] for d, e in _by_device(described).items()} == {
        "/dev/xvda": "attached", "/dev/sdf": "attached", "/dev/sdg": "attached"}
    api.terminate_instances(InstanceIds=[iid])
    wait_gone(api, sdf["VolumeId"])
    kept = wait_volume(api, sdg["VolumeId"], "available")
    assert kept["Attachments"] == []
    api.delete_volume(VolumeId=sdg["VolumeId"])


def test_modify_delete_on_termination_of_a_mapped_volume(api, image: str) -> None:
    launched = _run(api, image, [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}}])
    iid, vid = launched["InstanceId"], _by_device(launched)["/dev/sdf"]["VolumeId"]
    wait_volume(api, vid, "in-use", "attached")
    api.modify_instance_attribute(InstanceId=iid, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdf", "Ebs": {"DeleteOnTermination": False}}])
    api.terminate_instances(InstanceIds=[iid])
    wait_volume(api, vid, "available")
    api.delete_volume(VolumeId=vid)


def test_volume_from_snapshot_at_launch(api, image: str) -> None:
    source = api.create_volume(AvailabilityZone=ZONE, Size=3)["VolumeId"]
    wait_volume(api, source, "available")
    snap = api.create_snapshot(VolumeId=source)["SnapshotId"]
    api.get_waiter("snapshot_completed").wait(SnapshotIds=[snap],
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    _fails("InvalidBlockDeviceMapping", _run, api, image, [
        {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": snap, "VolumeSize": 2}}])
    launched = _run(api, image, [{"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": snap}}])
    vid = _by_device(launched)["/dev/sdf"]["VolumeId"]
    made = wait_volume(api, vid, "in-use", "attached")
    assert (made["Size"], made["SnapshotId"]) == (3, snap)
    api.terminate_instances(InstanceIds=[launched["InstanceId"]])
    wait_gone(api, vid)
    api.delete_snapshot(SnapshotId=snap)
    api.delete_volume(VolumeId=source)


def test_root_device_mapping_sets_the_root_size(api, image: str) -> None:
    launched = _run(api, image, [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 5}}])
    root = _by_device(launched)["/dev/xvda"]["VolumeId"]
    assert api.describe_volumes(VolumeIds=[root])["Volumes"][0]["Size"] == 5
    _fails("InvalidBlockDeviceMapping", _run, api, image,
           [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}])
    api.terminate_instances(InstanceIds=[launched["InstanceId"]])


@pytest.mark.parametrize(("code", "mapping"), [
    ("InvalidBlockDeviceMapping", {"DeviceName": "/dev/sdf", "Ebs": {}}),
    ("InvalidBlockDeviceMapping", {"DeviceName": "/dev/bogus", "Ebs": {"VolumeSize": 1}}),
    ("InvalidSnapshot.NotFound",
     {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "snap-0123456789abcdef0"}}),
    ("InvalidSnapshotID.Malformed", {"DeviceName": "/dev/sdf", "Ebs": {"SnapshotId": "x"}}),
    ("InvalidParameterValue", {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 0}}),
    ("InvalidParameterValue",
     {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "VolumeType": "fast"}}),
    ("InvalidParameterValue",
     {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1, "Encrypted": True}}),
])
def test_bad_mappings_make_nothing(api, image: str, code: str, mapping: dict) -> None:
    before = _counts(api)
    _fails(code, _run, api, image, [mapping])
    assert _counts(api) == before


def test_device_named_twice(api, image: str) -> None:
    before = _counts(api)
    message = _fails("InvalidBlockDeviceMapping", _run, api, image, [
        {"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 1}},
        {"DeviceName": "/dev/xvdf", "Ebs": {"VolumeSize": 1}}])
    assert "more than one" in message
    assert _counts(api) == before


def test_volume_quota_checked_with_the_launch(cloud: RunningCloud, image: str) -> None:
    cloud.overcast("project", "create", "mapping-quota")
    cloud.overcast("project", "set-quota", "mapping-quota", "--volumes", "3",
                   "--volume-gib", "4")
    client = cloud.client(cloud.project_credentials("mapping-quota"))
    mappings = [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2}},
                {"DeviceName": "/dev/sdg", "Ebs": {"VolumeSize": 1}}]
    _fails("VolumeLimitExceeded", client.run_instances, ImageId=image, MinCount=2,
           MaxCount=2, BlockDeviceMappings=mappings)
    assert _counts(client) == (0, 0)
    _fails("DryRunOperation", client.run_instances, ImageId=image, MinCount=1, MaxCount=1,
           BlockDeviceMappings=mappings, DryRun=True)
    launched = client.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                    BlockDeviceMappings=mappings)["Instances"][0]
    assert _counts(client) == (1, 2)
    client.terminate_instances(InstanceIds=[launched["InstanceId"]])
