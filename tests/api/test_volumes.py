"""EBS volumes through boto3 against a running cloud (fake driver, local backend): the life
cycle, attach and detach to running and stopped instances, filters, tenancy, quotas and
every refusal EC2 answers, with its own codes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud, wait_for_state

PROJECT = "volume-tests"
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
def other(cloud: RunningCloud):
    cloud.overcast("project", "create", "volume-others")
    return cloud.client(cloud.project_credentials("volume-others"))


def _launch(client) -> str:
    image = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    iid = client.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    wait_for_state(client, [iid], "running")
    return iid


@pytest.fixture(scope="module")
def instance(api) -> str:
    return _launch(api)


def _volume(client, vid: str) -> dict:
    return client.describe_volumes(VolumeIds=[vid])["Volumes"][0]


def wait_volume(client, vid: str, state: str, attachment: str | None = None,
                timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = _volume(client, vid)
        attached = [a["State"] for a in found["Attachments"]]
        if found["State"] == state and (attachment is None or attached == [attachment]):
            return found
        assert time.monotonic() < deadline, f"{vid} not {state}/{attachment}: {found}"
        time.sleep(0.1)


def wait_gone(client, vid: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _volume(client, vid)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "InvalidVolume.NotFound"
            return
        assert time.monotonic() < deadline, f"{vid} still there"
        time.sleep(0.1)


def _create(client, size: int = 1, **more) -> str:
    vid = client.create_volume(AvailabilityZone=ZONE, Size=size, **more)["VolumeId"]
    wait_volume(client, vid, "available")
    return vid


def _ids(client, *filters: tuple[str, str]) -> set[str]:
    given = [{"Name": name, "Values": [value]} for name, value in filters]
    return {v["VolumeId"] for v in client.describe_volumes(Filters=given)["Volumes"]}


def _backing_files(cloud: RunningCloud) -> set[str]:
    return {p.name for p in Path(cloud.data_dir, "hosts").glob("*/volumes/vol-*.qcow2")}


def test_life_cycle_attach_detach_delete(cloud: RunningCloud, api, instance: str) -> None:
    made = api.create_volume(AvailabilityZone=ZONE, Size=2, VolumeType="gp3",
                             TagSpecifications=[{"ResourceType": "volume", "Tags": [
                                 {"Key": "Name", "Value": "data"}]}])
    vid = made["VolumeId"]
    assert made["State"] == "creating" and made["Size"] == 2 and made["Iops"] == 3000
    assert made["Tags"] == [{"Key": "Name", "Value": "data"}] and made["Encrypted"] is False
    volume = wait_volume(api, vid, "available")
    assert volume["Attachments"] == [] and volume["Throughput"] == 125
    assert f"{vid}.qcow2" in _backing_files(cloud)  # the host made its disk

    attached = api.attach_volume(VolumeId=vid, InstanceId=instance, Device="/dev/sdf")
    assert attached["State"] == "attaching" and attached["Device"] == "/dev/sdf"
    volume = wait_volume(api, vid, "in-use", "attached")
    assert volume["Attachments"][0]["InstanceId"] == instance
    assert volume["Attachments"][0]["DeleteOnTermination"] is False

    assert vid in _ids(api, ("attachment.instance-id", instance))
    assert vid in _ids(api, ("status", "in-use"), ("tag:Name", "data"), ("size", "2"))
    assert vid in _ids(api, ("attachment.device", "/dev/sdf"), ("volume-type", "gp3"))
    assert vid not in _ids(api, ("status", "available"))
    root = "vol-" + instance.removeprefix("i-")  # the instance's root volume stays listed
    assert root in _ids(api, ("attachment.instance-id", instance))
    [status] = api.describe_volume_status(VolumeIds=[vid])["VolumeStatuses"]
    assert status["VolumeStatus"]["Status"] == "ok"
    assert api.describe_volume_attribute(VolumeId=vid, Attribute="autoEnableIO")[
        "AutoEnableIO"] == {"Value": False}

    _fails("VolumeInUse", api.delete_volume, VolumeId=vid)
    _fails("VolumeInUse", api.attach_volume, VolumeId=vid, InstanceId=instance,
           Device="/dev/sdg")
    detaching = api.detach_volume(VolumeId=vid)
    assert detaching["State"] == "detaching" and detaching["InstanceId"] == instance
    wait_volume(api, vid, "available")
    _fails("IncorrectState", api.detach_volume, VolumeId=vid)

    api.delete_volume(VolumeId=vid)
    wait_gone(api, vid)
    assert f"{vid}.qcow2" not in _backing_files(cloud)
    assert not api.describe_tags(Filters=[{"Name": "resource-id", "Values": [vid]}])["Tags"]


def test_cold_attach_to_stopped_instance_and_modify(api) -> None:
    iid = _launch(api)
    api.stop_instances(InstanceIds=[iid])
    wait_for_state(api, [iid], "stopped")
    vid = _create(api, 1)
    api.attach_volume(VolumeId=vid, InstanceId=iid, Device="xvdh")
    wait_volume(api, vid, "in-use", "attached")
    api.start_instances(InstanceIds=[iid])
    wait_for_state(api, [iid], "running")
    assert _volume(api, vid)["Attachments"][0]["State"] == "attached"

    change = api.modify_volume(VolumeId=vid, Size=3, VolumeType="gp3")["VolumeModification"]
    assert (change["OriginalSize"], change["TargetSize"]) == (1, 3)
    assert (change["OriginalVolumeType"], change["TargetVolumeType"]) == ("gp2", "gp3")
    assert _volume(api, vid)["Size"] == 3
    deadline = time.monotonic() + 30
    while True:  # the host grows the disk of the running instance
        [mod] = api.describe_volumes_modifications(VolumeIds=[vid])["VolumesModifications"]
        if mod["ModificationState"] == "completed":
            break
        assert mod["ModificationState"] == "optimizing" and time.monotonic() < deadline
        time.sleep(0.1)
    assert (mod["OriginalSize"], mod["TargetSize"], mod["TargetVolumeType"]) == (1, 3, "gp3")
    untouched = _create(api)
    _fails("InvalidVolumeModification.NotFound", api.describe_volumes_modifications,
           VolumeIds=[untouched])
    api.delete_volume(VolumeId=untouched)
    _fails("InvalidParameterValue", api.modify_volume, VolumeId=vid, Size=2)
    api.detach_volume(VolumeId=vid, InstanceId=iid, Force=True)
    wait_volume(api, vid, "available")
    api.terminate_instances(InstanceIds=[iid])


def test_terminate_honours_delete_on_termination(api) -> None:
    iid = _launch(api)
    kept, dropped = _create(api), _create(api)
    api.attach_volume(VolumeId=kept, InstanceId=iid, Device="/dev/sdf")
    api.attach_volume(VolumeId=dropped, InstanceId=iid, Device="/dev/sdg")
    wait_volume(api, kept, "in-use", "attached")
    wait_volume(api, dropped, "in-use", "attached")
    api.modify_instance_attribute(InstanceId=iid, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdg", "Ebs": {"DeleteOnTermination": True}}])
    assert _volume(api, dropped)["Attachments"][0]["DeleteOnTermination"] is True
    mappings = api.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
        "BlockDeviceMappings"]
    assert {m["DeviceName"]: m["Ebs"]["VolumeId"] for m in mappings if m["DeviceName"] !=
            "/dev/xvda"} == {"/dev/sdf": kept, "/dev/sdg": dropped}
    _fails("InvalidInstanceAttributeValue", api.modify_instance_attribute, InstanceId=iid,
           BlockDeviceMappings=[{"DeviceName": "/dev/sdz", "Ebs": {"DeleteOnTermination": True}}])
    api.terminate_instances(InstanceIds=[iid])
    wait_for_state(api, [iid], "terminated")
    # as on EC2: once the instance reads terminated, its volumes are already let go
    # (ec2api-tempest's test_volume_auto_termination_swithed_off reads at once)
    after = _volume(api, kept)
    assert (after["State"], after.get("Attachments", [])) == ("available", [])
    assert _volume_state_or_gone(api, dropped) in ("deleting", "deleted", None)
    wait_gone(api, dropped)
    api.delete_volume(VolumeId=kept)


def _volume_state_or_gone(client, vid: str) -> str | None:
    found = client.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid]}])["Volumes"]
    return found[0]["State"] if found else None


def test_refusals(api, other, instance: str) -> None:
    create = api.create_volume
    _fails("InvalidParameterValue", create, AvailabilityZone=ZONE, Size=0)
    _fails("InvalidParameterValue", create, AvailabilityZone=ZONE, Size=16385)
    _fails("InvalidParameterValue", create, AvailabilityZone=ZONE, Size=1, VolumeType="ssd")
    _fails("MissingParameter", create, AvailabilityZone=ZONE, Size=10, VolumeType="io1")
    _fails("InvalidParameterCombination", create, AvailabilityZone=ZONE, Size=1, Iops=500)
    _fails("MissingParameter", create, AvailabilityZone=ZONE)
    _fails("InvalidParameterValue", create, AvailabilityZone="overcast-1z", Size=1)
    _fails("InvalidSnapshot.NotFound", create, AvailabilityZone=ZONE,
           SnapshotId="snap-0123456789abcdef0")
    _fails("InvalidParameterValue", create, AvailabilityZone=ZONE, Size=1, Encrypted=True)
    _fails("DryRunOperation", create, AvailabilityZone=ZONE, Size=1, DryRun=True)
    _fails("InvalidVolumeID.Malformed", api.describe_volumes, VolumeIds=["vol-xyz"])
    _fails("InvalidVolume.NotFound", api.describe_volumes, VolumeIds=["vol-0123456789abcdef0"])
    _fails("InvalidVolume.NotFound", api.delete_volume, VolumeId="vol-0123456789abcdef0")

    vid, second = _create(api), _create(api)
    theirs = _create(other)
    for call, kwargs in ((api.describe_volumes, {"VolumeIds": [theirs]}),
                         (api.delete_volume, {"VolumeId": theirs}),
                         (api.detach_volume, {"VolumeId": theirs}),
                         (api.attach_volume, {"VolumeId": theirs, "InstanceId": instance,
                                              "Device": "/dev/sdk"})):
        _fails("InvalidVolume.NotFound", call, **kwargs)
    _fails("InvalidInstanceID.NotFound", other.attach_volume, VolumeId=theirs,
           InstanceId=instance, Device="/dev/sdk")

    _fails("InvalidParameterValue", api.attach_volume, VolumeId=vid, InstanceId=instance,
           Device="/dev/floppy")
    _fails("InvalidParameterValue", api.attach_volume, VolumeId=vid, InstanceId=instance,
           Device="/dev/sda1")  # the root device
    api.attach_volume(VolumeId=vid, InstanceId=instance, Device="/dev/sdk")
    message = _fails("InvalidParameterValue", api.attach_volume, VolumeId=second,
                     InstanceId=instance, Device="/dev/xvdk")  # the same disk to EC2
    assert "already in use" in message
    _fails("DryRunOperation", api.attach_volume, VolumeId=second, InstanceId=instance,
           Device="/dev/sdl", DryRun=True)
    wait_volume(api, vid, "in-use", "attached")
    _fails("InvalidAttachment.NotFound", api.detach_volume, VolumeId=vid,
           InstanceId="i-0123456789abcdef0")
    root = "vol-" + instance.removeprefix("i-")
    _fails("VolumeInUse", api.delete_volume, VolumeId=root)
    _fails("UnsupportedOperation", api.detach_volume, VolumeId=root)
    api.detach_volume(VolumeId=vid)
    wait_volume(api, vid, "available")

    gone = _launch(api)
    api.terminate_instances(InstanceIds=[gone])
    wait_for_state(api, [gone], "terminated")
    _fails("IncorrectInstanceState", api.attach_volume, VolumeId=vid, InstanceId=gone,
           Device="/dev/sdf")
    for volume in (vid, second):
        api.delete_volume(VolumeId=volume)
    other.delete_volume(VolumeId=theirs)


def test_quotas(cloud: RunningCloud) -> None:
    cloud.overcast("project", "create", "volume-quota")
    cloud.overcast("project", "set-quota", "volume-quota", "--volumes", "2", "--volume-gib", "5")
    client = cloud.client(cloud.project_credentials("volume-quota"))
    first = _create(client, 3)
    message = _fails("VolumeLimitExceeded", client.create_volume, AvailabilityZone=ZONE,
                     Size=3)
    assert "5 GiB" in message
    second = _create(client, 2)
    _fails("VolumeLimitExceeded", client.create_volume, AvailabilityZone=ZONE, Size=1)
    _fails("VolumeLimitExceeded", client.modify_volume, VolumeId=first, Size=4)
    client.delete_volume(VolumeId=second)
    wait_gone(client, second)
    client.modify_volume(VolumeId=first, Size=5)


def test_paging(api) -> None:
    made = [_create(api) for _ in range(6)]
    seen: list[str] = []
    token = None
    while True:
        page = api.describe_volumes(MaxResults=5, **({"NextToken": token} if token else {}))
        seen += [v["VolumeId"] for v in page["Volumes"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(made) <= set(seen) and len(seen) == len(set(seen))
    for vid in made:
        api.delete_volume(VolumeId=vid)


def wait_snapshot(client, sid: str, state: str = "completed", timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        [found] = client.describe_snapshots(SnapshotIds=[sid])["Snapshots"]
        if found["State"] == state:
            return found
        assert time.monotonic() < deadline, f"{sid} not {state}: {found}"
        time.sleep(0.1)


def test_snapshots_and_volumes_from_them(cloud: RunningCloud, api, other,
                                         instance: str) -> None:
    vid = _create(api, 2)
    api.attach_volume(VolumeId=vid, InstanceId=instance, Device="/dev/sdm")
    wait_volume(api, vid, "in-use", "attached")
    made = api.create_snapshot(VolumeId=vid, Description="nightly", TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "k", "Value": "v"}]}])
    sid = made["SnapshotId"]
    assert made["State"] == "pending" and made["VolumeSize"] == 2
    snap = wait_snapshot(api, sid)  # copied from the running instance's disk
    assert snap["Progress"] == "100%" and snap["Description"] == "nightly"
    assert snap["Tags"] == [{"Key": "k", "Value": "v"}]
    mine = {s["SnapshotId"] for s in api.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert sid in mine
    found = api.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [vid]},
                                            {"Name": "status", "Values": ["completed"]}])
    assert [s["SnapshotId"] for s in found["Snapshots"]] == [sid]
    assert not other.describe_snapshots()["Snapshots"]
    _fails("InvalidSnapshot.NotFound", other.describe_snapshots, SnapshotIds=[sid])
    _fails("InvalidSnapshot.NotFound", other.create_volume, AvailabilityZone=ZONE,
           SnapshotId=sid)
    _fails("InvalidSnapshotID.Malformed", api.delete_snapshot, SnapshotId="snap-x")

    restored = api.create_volume(AvailabilityZone=ZONE, SnapshotId=sid)
    assert restored["SnapshotId"] == sid and restored["Size"] == 2
    wait_volume(api, restored["VolumeId"], "available")
    bigger = _create(api, 4, SnapshotId=sid)
    assert _volume(api, bigger)["Size"] == 4
    assert restored["VolumeId"] in _ids(api, ("snapshot-id", sid))
    _fails("InvalidParameterValue", api.create_volume, AvailabilityZone=ZONE, Size=1,
           SnapshotId=sid)
    files = Path(cloud.data_dir, "hosts").glob("*/volumes/snapshots/*.qcow2")
    assert f"{sid}.qcow2" in {p.name for p in files}

    api.delete_snapshot(SnapshotId=sid)
    _fails("InvalidSnapshot.NotFound", api.describe_snapshots, SnapshotIds=[sid])
    deadline = time.monotonic() + 30
    while list(Path(cloud.data_dir, "hosts").glob(f"*/volumes/snapshots/{sid}.qcow2")):
        assert time.monotonic() < deadline, "the snapshot's file stayed"
        time.sleep(0.1)
    api.detach_volume(VolumeId=vid)
    wait_volume(api, vid, "available")
    for volume in (vid, restored["VolumeId"], bigger):
        api.delete_volume(VolumeId=volume)
