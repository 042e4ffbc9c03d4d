"""Real cloud images work: a Debian 12 guest with cloud-init, built here with debootstrap.

The image (overcast/images/debian.py) is cached in $OVERCAST_DEBIAN_IMAGE_DIR (default
/var/tmp/overcast-debian-image) so later runs on the same machine skip the build. The guest
boots through its own boot loader, twice: on the QEMU driver with an OpenStack config drive,
and through a running cloud (boto3: RegisterImage, RunInstances with a key pair and user data)
where cloud-init finds the metadata service. Each time cloud-init must install the key for the
`debian` user and run the user-data script, which we check over SSH as a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.drivers.base import BootImage, LaunchSpec, NetworkSpec, PortForward
from overcast.drivers.qemu import QemuDriver
from overcast.images.debian import ensure_debian_image
from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
    pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client"),
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap needs root"),
    pytest.mark.skipif(shutil.which("debootstrap") is None and
                       not os.path.exists("/usr/sbin/debootstrap"), reason="needs debootstrap"),
]
IMAGE_DIR = os.environ.get("OVERCAST_DEBIAN_IMAGE_DIR", "/var/tmp/overcast-debian-image")
BOOT_TIMEOUT = 600.0  # under TCG on a loaded 2-core host it has taken 400 s
USER_DATA = b"#!/bin/sh\necho \"user-data ran as $(id -un)\" > /var/tmp/ud\n"


@pytest.fixture(scope="module")
def debian_image() -> dict[str, str]:
    return json.loads(ensure_debian_image(IMAGE_DIR).read_text())


@pytest.fixture()
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "debian-e2e", "-f",
                    str(path)], check=True)
    return path


@pytest.fixture()
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QemuDriver]:
    qemu = QemuDriver(str(tmp_path_factory.mktemp("qemu-debian")), accel="auto")
    yield qemu
    for name in qemu.list():
        qemu.destroy(name)


def ssh(key: Path, user: str, port: int, command: str,
        host: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            f"{user}@{host}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def wait_ssh(key: Path, user: str, port: int, command: str, timeout: float,
             host: str = "127.0.0.1") -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            done = ssh(key, user, port, command, host)
        except subprocess.TimeoutExpired as exc:  # a guest still busy booting
            done = subprocess.CompletedProcess(exc.cmd, 255, "", f"timed out: {exc.stderr!r}")
        if done.returncode == 0:
            return done.stdout
        if time.monotonic() > deadline:
            raise AssertionError(f"ssh never succeeded: {done.stderr}")
        time.sleep(2)


def config_drive(public_key: str, mac: str, instance_uuid: str) -> dict[str, bytes]:
    meta = {"uuid": instance_uuid, "name": "debian-e2e", "hostname": "debian-e2e",
            "launch_index": 0, "availability_zone": "overcast-1a",
            "public_keys": {"debian-e2e": public_key}, "meta": {}}
    network = {"links": [{"id": "eth0", "type": "phy", "ethernet_mac_address": mac,
                          "mtu": 1500}],
               "networks": [{"id": "network0", "type": "ipv4_dhcp", "link": "eth0",
                             "network_id": "subnet-e2e"}],
               "services": []}
    return {
        "openstack/latest/meta_data.json": json.dumps(meta).encode(),
        "openstack/latest/network_data.json": json.dumps(network).encode(),
        "openstack/latest/user_data": USER_DATA,
    }


def test_cloud_init_applies_key_and_user_data_from_config_drive(
    debian_image: dict[str, str], driver: QemuDriver, key: Path
) -> None:
    port, mac = free_port(), "52:54:00:de:b1:01"
    instance_uuid = str(uuid.uuid4())
    spec = LaunchSpec(
        name="i-0000000000000deb1", vcpus=1, memory_mib=1024, disk_gib=2,
        image=BootImage(disk_path=debian_image["disk_path"],
                        disk_format=debian_image["disk_format"]),
        # a subnet of the default VPC (172.31.0.0/16): DHCP then hands out a netmask for which
        # Linux adds an on-link route (the restricted user network offers no router)
        network=NetworkSpec(mac, "172.31.16.5", "172.31.16.0/20", "172.31.16.1", None,
                            (PortForward("tcp", "127.0.0.1", port, 22),)),
        config_drive=config_drive(key.with_suffix(".pub").read_text(), mac, instance_uuid),
    )
    started = time.monotonic()
    driver.create(spec)
    user = debian_image["ssh_user"]
    out = wait_ssh(key, user, port, "cat /var/tmp/ud && hostname && "
                   "cat /run/cloud-init/result.json", BOOT_TIMEOUT)
    elapsed = time.monotonic() - started
    ud, hostname, *result = out.splitlines()
    assert ud == "user-data ran as root"
    assert hostname == "debian-e2e"
    status = json.loads("\n".join(result))["v1"]
    assert status["errors"] == []
    assert "ConfigDrive" in status["datasource"]
    console = driver.console_output(spec.name).decode(errors="replace")
    assert "SYSLINUX" in console and "Cloud-init" in console
    assert ssh(key, "root", port, "true").returncode != 0  # only the default user gets the key
    print(f"debian guest: ssh with the key and user data done {elapsed:.1f}s after create")


@pytest.fixture()
def qcloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    tmp = tmp_path_factory.mktemp("debian-cloud")
    cloud = RunningCloud(tmp / "data", free_port(),
                         cloud_env(tmp, driver="qemu", qemu_accel="tcg"))
    cloud.start()
    yield cloud
    cloud.stop()


def test_cloud_init_through_the_cloud_with_the_metadata_service(
    debian_image: dict[str, str], qcloud: RunningCloud, tmp_path: Path
) -> None:
    ec2 = qcloud.client()
    image_id = ec2.register_image(Name="debian-12-cloud-init",
                                  ImageLocation=debian_image["disk_path"])["ImageId"]
    key = tmp_path / "k1.pem"
    key.write_text(ec2.create_key_pair(KeyName="k1")["KeyMaterial"])
    key.chmod(0o600)
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    started = time.monotonic()
    iid = ec2.run_instances(ImageId=image_id, InstanceType="t2.micro", KeyName="k1",
                            MinCount=1, MaxCount=1, UserData=USER_DATA.decode()
                            )["Instances"][0]["InstanceId"]
    try:
        running = wait_for_state(ec2, [iid], "running", timeout=120)[0]
        out = wait_ssh(key, debian_image["ssh_user"], 22, "cat /var/tmp/ud && "
                       "cat /run/cloud-init/result.json", BOOT_TIMEOUT,
                       host=running["PublicIpAddress"])
        elapsed = time.monotonic() - started
        ud, *result = out.splitlines()
        assert ud == "user-data ran as root"
        status = json.loads("\n".join(result))["v1"]
        assert status["errors"] == []
        assert "DataSourceOpenStack" in status["datasource"]  # the metadata service, no drive
        console = ec2.get_console_output(InstanceId=iid, Latest=True).get("Output", "")
        assert "Cloud-init" in console
        print(f"debian guest via the cloud: ssh and user data {elapsed:.1f}s after RunInstances")
    finally:
        ec2.terminate_instances(InstanceIds=[iid])
        wait_for_state(ec2, [iid], "terminated", timeout=120)
