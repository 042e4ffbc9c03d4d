"""The built-in image's SSH host key, as a user meets it through the cloud: the fingerprint on
the console (GetConsoleOutput) is the key ssh is shown, the key stays across a reboot and a
stop/start (ssh with the known_hosts of the first boot and strict checking), each instance
has its own, and the guest's wget works."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
    pytest.mark.skipif(shutil.which("ssh-keyscan") is None, reason="needs openssh-client"),
]
BOOT_LINE = "overcast-testimage: booted"
FINGERPRINTS = re.compile(r"-----BEGIN SSH HOST KEY FINGERPRINTS-----\r?\n(.*?)\r?\n"
                          r"-----END SSH HOST KEY FINGERPRINTS-----")


@pytest.fixture(scope="module")
def qcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("host-key-cloud")
    env = cloud_env(tmp, driver="qemu", qemu_accel="tcg",
                    metadata_listen=f"127.0.0.1:{free_port()}")
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    yield cloud
    cloud.stop()
    subprocess.run(["pkill", "-f", f"qemu-system-x86_64.*{cloud.data_dir}"], check=False)


def console(ec2, iid: str) -> str:
    return ec2.get_console_output(InstanceId=iid).get("Output", "")


def wait_boots(ec2, iid: str, count: int, timeout: float = 180) -> str:
    """The console once it shows `count` finished boots."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = console(ec2, iid)
        if out.count(BOOT_LINE) >= count:
            return out
        time.sleep(0.5)
    raise AssertionError(f"{iid} never booted {count} times:\n{console(ec2, iid)[-3000:]}")


def console_fingerprints(out: str) -> list[str]:
    """Each boot's fingerprint lines, as cloud-init prints them."""
    return FINGERPRINTS.findall(out)


def keyscan(host: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        found = subprocess.run(["ssh-keyscan", "-T", "5", "-t", "ed25519", host],
                               capture_output=True, text=True).stdout
        if found.strip() or time.monotonic() > deadline:
            assert found.strip(), f"no host key from {host}"
            return found
        time.sleep(1)


def fingerprint_of(known_hosts: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(known_hosts)], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


def strict_ssh(key: Path, known_hosts: Path, host: str, command: str,
               timeout: float = 60) -> str:
    """ssh that trusts only `known_hosts`; retried while the guest is not yet listening,
    never past a host key that does not match."""
    argv = ["ssh", "-i", str(key), "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "ConnectTimeout=5",
            "-o", "BatchMode=yes", f"root@{host}", command]
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            return done.stdout
        assert "Host key verification failed" not in done.stderr, done.stderr
        assert time.monotonic() < deadline, done.stderr
        time.sleep(1)


@pytest.fixture(scope="module")
def key_file(qcloud: RunningCloud, tmp_path_factory: pytest.TempPathFactory) -> Path:
    material = qcloud.client().create_key_pair(KeyName="host-key")["KeyMaterial"]
    path = tmp_path_factory.mktemp("keys") / "k.pem"
    path.write_text(material)
    path.chmod(0o600)
    return path


def test_host_key_is_shown_kept_and_per_instance(qcloud: RunningCloud, key_file: Path,
                                                 tmp_path: Path) -> None:
    ec2 = qcloud.client()
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, InstanceType="t3.nano", KeyName="host-key", MinCount=2,
        MaxCount=2)["Instances"]]
    running = wait_for_state(ec2, ids, "running", timeout=120)
    iid, other = ids
    host = next(i["PublicIpAddress"] for i in running if i["InstanceId"] == iid)
    first_console = wait_boots(ec2, iid, 1)
    shown = console_fingerprints(first_console)
    assert len(shown) == 1 and re.fullmatch(r"256 SHA256:\S+ root@\S+ \(ED25519\)", shown[0])

    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(keyscan(host))
    assert shown[0].split()[1] == fingerprint_of(known_hosts)  # the console tells the truth

    # wget in the guest (with -T, which busybox-static's wget died on) reads the metadata.
    got = strict_ssh(key_file, known_hosts, host, "wget -q -T 10 -O - "
                     "http://169.254.169.254/latest/meta-data/instance-id")
    assert got.strip() == iid

    ec2.reboot_instances(InstanceIds=[iid])
    after_reboot = wait_boots(ec2, iid, 2)
    strict_ssh(key_file, known_hosts, host, "true")
    assert console_fingerprints(after_reboot)[-1] == shown[0]

    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "stopped", timeout=120)
    ec2.start_instances(InstanceIds=[iid])
    host = wait_for_state(ec2, [iid], "running", timeout=120)[0]["PublicIpAddress"]
    after_restart = wait_boots(ec2, iid, 3)
    strict_ssh(key_file, known_hosts, host, "true")
    assert console_fingerprints(after_restart)[-1] == shown[0]

    other_shown = console_fingerprints(wait_boots(ec2, other, 1))
    assert other_shown and other_shown[0].split()[1] != shown[0].split()[1]
    ec2.terminate_instances(InstanceIds=ids)
