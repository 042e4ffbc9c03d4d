"""The whole cloud with real qemu guests, through boto3 and ssh, as a user would use it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import (
    RunningCloud,
    cloud_env,
    free_port,
    ssh_until_ok,
    wait_for_state,
    wait_for_ticks,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]
BOOT_LINE = "overcast-testimage: booted"
USER_DATA = "#!/bin/sh\necho hello-from-user-data > /tmp/ud\n"


@pytest.fixture(scope="module")
def qcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("qemu-cloud")
    env = cloud_env(tmp, driver="qemu", qemu_accel="tcg", metadata_listen=f"127.0.0.1:"
                    f"{free_port()}")
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    yield cloud
    cloud.stop()
    # Guests outlive `overcast up` by design; a test run must not leave any behind.
    subprocess.run(["pkill", "-f", f"qemu-system-x86_64.*{cloud.data_dir}"], check=False)


@pytest.fixture(scope="module")
def key_file(qcloud: RunningCloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    material = qcloud.client().create_key_pair(KeyName="e2e")["KeyMaterial"]
    path = tmp_path_factory.mktemp("keys") / "e2e.pem"
    path.write_text(material)
    path.chmod(0o600)
    return path


def console(ec2, iid: str) -> str:
    return ec2.get_console_output(InstanceId=iid).get("Output", "")


def wait_console(ec2, iid: str, text: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = console(ec2, iid)
        if text in out:
            return out
        time.sleep(0.5)
    raise AssertionError(f"{text!r} never appeared on {iid}'s console:\n{console(ec2, iid)}")


def ssh(key: Path, host: str, command: str) -> str:
    return ssh_until_ok(key, host, command)


def qemu_pids(data_dir: Path, iid: str) -> list[int]:
    """The qemu processes (not their supervising shells) running this instance."""
    out = subprocess.run(["pgrep", "-f", f"qemu-system-x86_64.*{iid}"], capture_output=True,
                         text=True).stdout
    pids = [int(p) for p in out.split()]
    return [p for p in pids if _comm(p).startswith("qemu-system")]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


def test_boot_ssh_user_data_and_metadata(qcloud: RunningCloud, key_file: Path) -> None:
    ec2 = qcloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    iid = ec2.run_instances(ImageId=image, InstanceType="t3.nano", KeyName="e2e", MinCount=1,
                            MaxCount=1, UserData=USER_DATA)["Instances"][0]["InstanceId"]
    running = wait_for_state(ec2, [iid], "running", timeout=120)[0]
    public_ip = running["PublicIpAddress"]
    assert public_ip.startswith("127.")
    wait_console(ec2, iid, BOOT_LINE)
    assert ssh(key_file, public_ip, "cat /tmp/ud").strip() == "hello-from-user-data"
    seen = ssh(key_file, public_ip, "wget -O - http://169.254.169.254/latest/meta-data/"
                                    "instance-id 2>/dev/null")
    assert seen.strip() == iid
    local_ip = ssh(key_file, public_ip, "wget -O - http://169.254.169.254/latest/meta-data/"
                                        "local-ipv4 2>/dev/null")
    assert local_ip.strip() == running["PrivateIpAddress"]


TOKEN_PUT = ("printf 'PUT /latest/api/token HTTP/1.0\\r\\nX-aws-ec2-metadata-token-ttl-seconds:"
             " 60\\r\\n\\r\\n' | nc 169.254.169.254 80 | tail -n 1")
ID_PATH = "http://169.254.169.254/latest/meta-data/instance-id"


def guest_get(key: Path, host: str, url: str, token: str = "") -> str:
    header = f"--header 'X-aws-ec2-metadata-token: {token}' " if token else ""
    return ssh(key, host, f"wget {header}-O - {url} 2>/dev/null || echo refused").strip()


def test_imdsv2_required_and_each_guest_sees_only_itself(qcloud: RunningCloud,
                                                          key_file: Path) -> None:
    ec2 = qcloud.client()
    first = ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                             "Values": ["running"]}])
    first = first["Reservations"][0]["Instances"][0]
    image = first["ImageId"]
    iid = ec2.run_instances(ImageId=image, InstanceType="t3.nano", KeyName="e2e", MinCount=1,
                            MaxCount=1, MetadataOptions={"HttpTokens": "required"},
                            )["Instances"][0]["InstanceId"]
    host = wait_for_state(ec2, [iid], "running", timeout=120)[0]["PublicIpAddress"]
    wait_console(ec2, iid, BOOT_LINE)
    assert guest_get(key_file, host, ID_PATH) == "refused"  # IMDSv1 is refused
    token = ssh(key_file, host, TOKEN_PUT).strip()
    assert len(token) > 20
    assert guest_get(key_file, host, ID_PATH, token) == iid
    # The first guest sees itself, and the second guest's token means nothing there.
    first_host = first["PublicIpAddress"]
    assert guest_get(key_file, first_host, ID_PATH) == first["InstanceId"]
    assert guest_get(key_file, first_host, ID_PATH, token) == "refused"
    ec2.terminate_instances(InstanceIds=[iid])


def test_port_22_only_when_a_rule_allows_it(qcloud: RunningCloud, key_file: Path) -> None:
    ec2 = qcloud.client()
    ec2.revoke_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                      ToPort=22, CidrIp="0.0.0.0/0")
    found = ec2.describe_instances(Filters=[{"Name": "instance-state-name",
                                             "Values": ["running"]}])
    host = found["Reservations"][0]["Instances"][0]["PublicIpAddress"]
    wait_for_ticks(qcloud)  # the agent has applied the rule's removal
    closed = subprocess.run(["ssh", "-i", str(key_file), "-o", "ConnectTimeout=3", "-o",
                             "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                             f"root@{host}", "true"], capture_output=True, timeout=30)
    assert closed.returncode != 0
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    assert ssh(key_file, host, "echo open").strip() == "open"


def test_stop_start_reboot_crash_restart_terminate(qcloud: RunningCloud) -> None:
    ec2 = qcloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, InstanceType="t3.nano", MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [iid], "running", timeout=120)
    wait_console(ec2, iid, BOOT_LINE)
    ec2.reboot_instances(InstanceIds=[iid])
    deadline = time.monotonic() + 120
    while console(ec2, iid).count(BOOT_LINE) < 2:  # the guest really booted again
        assert time.monotonic() < deadline, console(ec2, iid)
        time.sleep(1)
    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "stopped", timeout=120)
    assert qemu_pids(qcloud.data_dir, iid) == []
    ec2.start_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "running", timeout=120)
    pids = qemu_pids(qcloud.data_dir, iid)
    assert len(pids) == 1
    # the controller restarts: the guest keeps running and is adopted, not started twice
    qcloud.stop()
    qcloud.start()
    ec2 = qcloud.client()
    assert wait_for_state(ec2, [iid], "running")
    wait_for_ticks(qcloud, 3)  # the new agent has looked at the guest several times
    assert qemu_pids(qcloud.data_dir, iid) == pids
    # kill -9 from outside: the instance goes to stopped with a reason
    os.kill(pids[0], signal.SIGKILL)
    stopped = wait_for_state(ec2, [iid], "stopped", timeout=60)[0]
    assert stopped["StateReason"]["Code"] == "Server.InternalError"
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "terminated", timeout=120)
    assert qemu_pids(qcloud.data_dir, iid) == []


MARK = "dd if=/dev/vda bs=512 skip=2000000 count=1 2>/dev/null | head -c 16"


def test_create_image_carries_what_the_guest_wrote(qcloud: RunningCloud,
                                                   key_file: Path) -> None:
    ec2 = qcloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, InstanceType="t3.nano", KeyName="e2e", MinCount=1,
                            MaxCount=1)["Instances"][0]["InstanceId"]
    ip = wait_for_state(ec2, [iid], "running", timeout=120)[0]["PublicIpAddress"]
    ssh(key_file, ip, "printf written-by-guest | dd of=/dev/vda bs=512 seek=2000000 "
                      "conv=fsync 2>/dev/null")
    made = ec2.create_image(InstanceId=iid, Name="guest-image")["ImageId"]
    ec2.get_waiter("image_available").wait(ImageIds=[made],
                                           WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    copy = ec2.run_instances(ImageId=made, InstanceType="t3.nano", KeyName="e2e", MinCount=1,
                             MaxCount=1)["Instances"][0]["InstanceId"]
    copy_ip = wait_for_state(ec2, [copy], "running", timeout=120)[0]["PublicIpAddress"]
    assert ssh(key_file, copy_ip, MARK) == "written-by-guest"
    ec2.terminate_instances(InstanceIds=[iid, copy])
    wait_for_state(ec2, [iid, copy], "terminated", timeout=60)
