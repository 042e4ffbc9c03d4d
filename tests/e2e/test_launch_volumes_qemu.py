"""A launch's block-device mapping with a real qemu guest: the blank volume mapped at
RunInstances is on the VM's command line from its first start (cold attach, no hot-plug), the
guest sees it in /sys/block with the volume's serial and its size, and DeleteOnTermination
removes the volume and its backing file when the instance is terminated."""

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


@pytest.fixture(scope="module")
def qcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("launch-volume-cloud")
    cloud = RunningCloud(tmp / "data", free_port(), cloud_env(tmp, driver="qemu",
                                                              qemu_accel="tcg"))
    cloud.start()
    yield cloud
    cloud.stop()
    for pid in _qemu_pids(cloud.data_dir):  # guests outlive `overcast up` by design
        os.kill(pid, signal.SIGKILL)


def _command_lines(data_dir: Path) -> list[bytes]:
    return [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in _qemu_pids(data_dir)]


def test_mapped_volume_is_there_from_boot(qcloud: RunningCloud, tmp_path: Path) -> None:
    ec2 = qcloud.client()
    key = tmp_path / "k.pem"
    key.write_text(ec2.create_key_pair(KeyName="mapped")["KeyMaterial"])
    key.chmod(0o600)
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    [launched] = ec2.run_instances(
        ImageId=image, InstanceType="t3.nano", KeyName="mapped", MinCount=1, MaxCount=1,
        BlockDeviceMappings=[{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 2}}],
    )["Instances"]
    iid = launched["InstanceId"]
    vid = next(m["Ebs"]["VolumeId"] for m in launched["BlockDeviceMappings"]
               if m["DeviceName"] == "/dev/sdf")
    [running] = wait_for_state(ec2, [iid], "running", timeout=180)
    _console_says(ec2, iid, BOOT_LINE)
    wait_volume(ec2, vid, "in-use", "attached", timeout=60)
    [argv] = _command_lines(qcloud.data_dir)  # started with the disk: not hot-plugged
    assert f"{vid}.qcow2".encode() in argv
    ip = running["PublicIpAddress"]
    serial = vid.replace("-", "")[:20]
    assert ssh_until_ok(key, ip, "cat /sys/block/vdb/serial").strip() == serial
    assert int(ssh_until_ok(key, ip, "cat /sys/block/vdb/size")) * 512 == 2 * 1024**3
    files = list(Path(qcloud.data_dir, "hosts").glob(f"*/volumes/**/{vid}.qcow2"))
    assert len(files) == 1

    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "terminated", timeout=120)
    deadline = time.monotonic() + 60
    while ec2.describe_volumes(Filters=[{"Name": "volume-id", "Values": [vid]}])["Volumes"]:
        assert time.monotonic() < deadline, "the volume outlived its DeleteOnTermination"
        time.sleep(0.5)
    assert not files[0].exists()
