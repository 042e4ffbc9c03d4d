"""Elastic IPs with real qemu guests in user-mode networking: ssh reaches whichever guest the
address is associated with, and nothing once it is disassociated."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningCloud, cloud_env, free_port, ssh_until_ok, wait_for_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]
BOOT_LINE = "overcast-testimage: booted"
INSTANCE_ID = "wget -O - http://169.254.169.254/latest/meta-data/instance-id 2>/dev/null"
PUBLIC_IPV4 = "wget -O - http://169.254.169.254/latest/meta-data/public-ipv4 2>/dev/null"


def _qemu_pids(data_dir: Path) -> list[int]:
    """qemu processes whose command line names this cloud's data dir."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"qemu-system-x86_64") and any(
                str(data_dir).encode() in arg for arg in argv):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def qcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("eip-cloud")
    env = cloud_env(tmp, driver="qemu", qemu_accel="tcg")
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    yield cloud
    cloud.stop()
    for pid in _qemu_pids(cloud.data_dir):  # guests outlive `overcast up` by design
        os.kill(pid, signal.SIGKILL)


def _console_says(ec2, iid: str, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in ec2.get_console_output(InstanceId=iid).get("Output", ""):
        assert time.monotonic() < deadline, f"{iid} never printed {text!r}"
        time.sleep(0.5)


def _answers_on_22(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=3):
            return True
    except OSError:
        return False


def _until(check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.3)


def _ssh_reaches(key: Path, address: str, iid: str, timeout: float = 90) -> None:
    """ssh to `address` ends up in instance `iid` (its metadata says so)."""
    _until(lambda: ssh_until_ok(key, address, INSTANCE_ID, timeout=30).strip() == iid,
           timeout)


def test_ssh_follows_the_elastic_ip(qcloud: RunningCloud, tmp_path: Path) -> None:
    ec2 = qcloud.client()
    key = tmp_path / "k.pem"
    key.write_text(ec2.create_key_pair(KeyName="eip")["KeyMaterial"])
    key.chmod(0o600)
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    first, second = (i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, InstanceType="t3.nano", KeyName="eip", MinCount=2,
        MaxCount=2)["Instances"])
    running = {i["InstanceId"]: i for i in
               wait_for_state(ec2, [first, second], "running", timeout=180)}
    for iid in (first, second):
        _console_says(ec2, iid, BOOT_LINE)
    auto_ip = running[first]["PublicIpAddress"]
    eip = ec2.allocate_address(Domain="vpc")
    elastic_ip = eip["PublicIp"]
    assert not _answers_on_22(elastic_ip)

    assoc = ec2.associate_address(AllocationId=eip["AllocationId"],
                                  InstanceId=first)["AssociationId"]
    _ssh_reaches(key, elastic_ip, first)
    assert ssh_until_ok(key, elastic_ip, PUBLIC_IPV4).strip() == elastic_ip
    _until(lambda: not _answers_on_22(auto_ip))  # the auto-assigned address was given back

    ec2.disassociate_address(AssociationId=assoc)
    _until(lambda: not _answers_on_22(elastic_ip))
    new_ip = wait_for_state(ec2, [first], "running")[0]["PublicIpAddress"]
    assert new_ip not in (elastic_ip, None)
    _ssh_reaches(key, new_ip, first)
    assert not _answers_on_22(elastic_ip)

    ec2.associate_address(AllocationId=eip["AllocationId"], InstanceId=second)
    _ssh_reaches(key, elastic_ip, second)
    assert ssh_until_ok(key, new_ip, INSTANCE_ID).strip() == first  # the first keeps its own

    ec2.terminate_instances(InstanceIds=[first, second])
    wait_for_state(ec2, [first, second], "terminated", timeout=120)
    _until(lambda: not _answers_on_22(elastic_ip))
    assert "AssociationId" not in ec2.describe_addresses()["Addresses"][0]
    ec2.release_address(AllocationId=eip["AllocationId"])
