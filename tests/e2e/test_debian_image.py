"""Real cloud images work: a Debian 12 guest with cloud-init, built here with debootstrap.

The image (overcast/images/debian.py) is cached in $OVERCAST_DEBIAN_IMAGE_DIR (default
/var/tmp/overcast-debian-image) so later runs on the same machine skip the build. The guest
boots through its own boot loader on the QEMU driver with an OpenStack config drive holding a
key pair and a user-data script; cloud-init must install the key for the `debian` user and run
the script, which we check over SSH as a user would.
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

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
    pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client"),
    pytest.mark.skipif(os.geteuid() != 0, reason="debootstrap needs root"),
    pytest.mark.skipif(shutil.which("debootstrap") is None and
                       not os.path.exists("/usr/sbin/debootstrap"), reason="needs debootstrap"),
]
IMAGE_DIR = os.environ.get("OVERCAST_DEBIAN_IMAGE_DIR", "/var/tmp/overcast-debian-image")
BOOT_TIMEOUT = 420.0
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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ssh(key: Path, user: str, port: int, command: str) -> subprocess.CompletedProcess[str]:
    argv = ["ssh", "-i", str(key), "-p", str(port), "-o", "StrictHostKeyChecking=no", "-o",
            "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5",
            f"{user}@127.0.0.1", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def wait_ssh(key: Path, user: str, port: int, command: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        done = ssh(key, user, port, command)
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
