"""Nova's block_device_mapping_v2 through openstacksdk: a server created with a blank volume,
a volume from a snapshot and an existing volume has them attached (seen through EC2 too);
Nova's delete_on_termination is honoured; booting from a volume is refused with a 400."""

from __future__ import annotations

import time

import pytest
from openstack import exceptions

from tests.api.test_volumes import wait_gone, wait_volume
from tests.openstack.conftest import OsCloud, wait_status


def _attached(ec2, name: str) -> dict[str, dict]:
    [reservation] = ec2.describe_instances(Filters=[
        {"Name": "tag:Name", "Values": [name]}])["Reservations"]
    [instance] = reservation["Instances"]
    return {m["DeviceName"]: m["Ebs"] for m in instance["BlockDeviceMappings"]}


def test_server_with_volumes(osc: OsCloud, admin, image_id: str) -> None:
    ec2 = osc.cloud.client()
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    existing = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    wait_volume(ec2, existing, "available")
    snap = ec2.create_snapshot(VolumeId=existing)["SnapshotId"]
    deadline = time.monotonic() + 30
    while ec2.describe_snapshots(SnapshotIds=[snap])["Snapshots"][0]["State"] != "completed":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    server = admin.compute.create_server(
        name="bdm-volumes", flavor_id="m1.tiny", networks="auto", block_device_mapping=[
            {"boot_index": 0, "uuid": image_id, "source_type": "image",
             "destination_type": "local"},
            {"source_type": "blank", "destination_type": "volume", "volume_size": 2,
             "delete_on_termination": True},
            {"source_type": "snapshot", "uuid": snap, "destination_type": "volume",
             "device_name": "/dev/vdd"},
            {"source_type": "volume", "uuid": existing, "destination_type": "volume"}])
    wait_status(admin, server.id, "ACTIVE")
    devices = _attached(ec2, "bdm-volumes")
    assert set(devices) == {"/dev/xvda", "/dev/vdb", "/dev/vdc", "/dev/vdd"}
    assert devices["/dev/vdc"]["VolumeId"] == existing
    blank = wait_volume(ec2, devices["/dev/vdb"]["VolumeId"], "in-use", "attached")
    restored = wait_volume(ec2, devices["/dev/vdd"]["VolumeId"], "in-use", "attached")
    assert blank["Size"] == 2 and restored["SnapshotId"] == snap
    assert (devices["/dev/vdb"]["DeleteOnTermination"],
            devices["/dev/vdd"]["DeleteOnTermination"]) == (True, False)

    admin.compute.delete_server(server)
    wait_gone(ec2, blank["VolumeId"])
    for kept in (existing, restored["VolumeId"]):
        wait_volume(ec2, kept, "available")
        ec2.delete_volume(VolumeId=kept)
    ec2.delete_snapshot(SnapshotId=snap)


@pytest.mark.parametrize("mapping", [
    {"boot_index": 0, "uuid": "vol-0123456789abcdef0", "source_type": "volume",
     "destination_type": "volume"},
    {"boot_index": 1, "source_type": "blank", "destination_type": "local", "volume_size": 1},
    {"boot_index": 1, "source_type": "blank", "destination_type": "volume"},
])
def test_unsupported_mappings_are_bad_requests(admin, image_id: str, mapping: dict) -> None:
    with pytest.raises(exceptions.BadRequestException):
        admin.compute.create_server(name="bdm-bad", flavor_id="m1.tiny", networks="auto",
                                    image_id=image_id, block_device_mapping=[mapping])
    assert not list(admin.compute.servers(name="bdm-bad"))
