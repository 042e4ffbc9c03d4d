"""EBS volumes with real qemu guests: a volume hot-plugged into a running guest appears in
its /sys/block with the volume's serial, takes a write, leaves the guest when detached, and
the second guest it is then attached to reads the same bytes; a snapshot taken live from that
guest restores into a volume the first guest reads them from."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_volumes import wait_volume
from tests.conftest import RunningCloud, cloud_env, free_port, ssh_until_ok, wait_for_state
from tests.e2e.test_elastic_ips_qemu import _console_says, _qemu_pids

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]
BOOT_LINE = "overcast-testimage: booted"
MARKER = "overcast-volume-marker"


@pytest.fixture(scope="module")
def qcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("volume-cloud")
    cloud = RunningCloud(tmp / "data", free_port(), cloud_env(tmp, driver="qemu",
                                                              qemu_accel="tcg"))
    cloud.start()
    yield cloud
    cloud.stop()
    for pid in _qemu_pids(cloud.data_dir):  # guests outlive `overcast up` by design
        os.kill(pid, signal.SIGKILL)


def _until_guest(key: Path, ip: str, command: str, expected: str, timeout: float = 60) -> str:
    """Run `command` in the guest until its output holds `expected` (hot-plug is the
    guest's to finish)."""
    deadline = time.monotonic() + timeout
    while True:
        out = ssh_until_ok(key, ip, command, timeout=30)
        if expected in out:
            return out
        assert time.monotonic() < deadline, f"{command!r} never said {expected!r}: {out!r}"
        time.sleep(0.5)


def test_volume_moves_between_running_guests(qcloud: RunningCloud, tmp_path: Path) -> None:
    ec2 = qcloud.client()
    key = tmp_path / "k.pem"
    key.write_text(ec2.create_key_pair(KeyName="vol")["KeyMaterial"])
    key.chmod(0o600)
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    first, second = (i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, InstanceType="t3.nano", KeyName="vol", MinCount=2,
        MaxCount=2)["Instances"])
    ips = {i["InstanceId"]: i["PublicIpAddress"] for i in
           wait_for_state(ec2, [first, second], "running", timeout=180)}
    for iid in (first, second):
        _console_says(ec2, iid, BOOT_LINE)
    zone = ec2.describe_instances(InstanceIds=[first])["Reservations"][0]["Instances"][0][
        "Placement"]["AvailabilityZone"]
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    wait_volume(ec2, vid, "available")
    serial = vid.replace("-", "")
    assert "vdb" not in ssh_until_ok(key, ips[first], "ls /sys/block")

    ec2.attach_volume(VolumeId=vid, InstanceId=first, Device="/dev/sdf")
    wait_volume(ec2, vid, "in-use", "attached", timeout=60)
    _until_guest(key, ips[first], "cat /sys/block/vdb/serial 2>/dev/null", serial)
    size = ssh_until_ok(key, ips[first], "cat /sys/block/vdb/size").strip()
    assert int(size) * 512 == 1024**3
    write = (f"printf {MARKER} | dd of=/dev/vdb bs=512 seek=2048 conv=fsync 2>/dev/null "
             "&& echo written")
    assert "written" in ssh_until_ok(key, ips[first], write)

    started = time.monotonic()
    ec2.detach_volume(VolumeId=vid)
    wait_volume(ec2, vid, "available", timeout=60)
    detach_seconds = time.monotonic() - started
    assert "vdb" not in ssh_until_ok(key, ips[first], "ls /sys/block")  # the guest let go

    ec2.attach_volume(VolumeId=vid, InstanceId=second, Device="/dev/sdg")
    wait_volume(ec2, vid, "in-use", "attached", timeout=60)
    read = f"dd if=/dev/vdb bs=512 skip=2048 count=1 2>/dev/null | head -c {len(MARKER)}"
    assert _until_guest(key, ips[second], read, MARKER).strip() == MARKER
    print(f"detach took {detach_seconds:.2f}s through the API")

    sid = ec2.create_snapshot(VolumeId=vid)["SnapshotId"]  # a block job in the running VM
    deadline = time.monotonic() + 60
    while ec2.describe_snapshots(SnapshotIds=[sid])["Snapshots"][0]["State"] != "completed":
        assert time.monotonic() < deadline, "the snapshot was never completed"
        time.sleep(0.5)
    copy = ec2.create_volume(AvailabilityZone=zone, SnapshotId=sid, Size=2)["VolumeId"]
    wait_volume(ec2, copy, "available")
    ec2.attach_volume(VolumeId=copy, InstanceId=first, Device="/dev/sdh")
    wait_volume(ec2, copy, "in-use", "attached", timeout=60)
    assert _until_guest(key, ips[first], read, MARKER).strip() == MARKER
    size = ssh_until_ok(key, ips[first], "cat /sys/block/vdb/size").strip()
    assert int(size) * 512 == 2 * 1024**3
    ec2.delete_snapshot(SnapshotId=sid)

    ec2.modify_instance_attribute(InstanceId=second, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdg", "Ebs": {"DeleteOnTermination": True}}])
    ec2.modify_instance_attribute(InstanceId=first, BlockDeviceMappings=[
        {"DeviceName": "/dev/sdh", "Ebs": {"DeleteOnTermination": True}}])
    ec2.terminate_instances(InstanceIds=[first, second])
    wait_for_state(ec2, [first, second], "terminated", timeout=120)
    deadline = time.monotonic() + 60
    while ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid, copy]}])[
            "Volumes"]:
        assert time.monotonic() < deadline, "the volume outlived its DeleteOnTermination"
        time.sleep(0.5)
    assert not list(Path(qcloud.data_dir, "hosts").glob("*/volumes/**/*.qcow2"))
