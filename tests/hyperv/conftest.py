"""Fixtures for the Hyper-V driver's tests: a tiny real qcow2 image, host settings, launch
specs; drivers build their config drives with the real overcast.metadata.configdrive."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from overcast.drivers.base import BootImage, LaunchSpec, NetworkSpec
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.driver import HyperVDriver

PASSWORD = "s3cret-Pa55word!"


@pytest.fixture(scope="session")
def qcow2_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("image") / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "64M"], check=True)
    return path


@pytest.fixture
def host_config() -> HostConfig:
    return HostConfig(name="hv01", address="hv01.example.test", username="OVERCAST\\svc",
                      password=PASSWORD, vm_path="D:\\overcast", switch="External")


def make_spec(disk: Path, name: str = "i-0123456789abcdef0", **extra: object) -> LaunchSpec:
    network = NetworkSpec(mac_address="52:54:00:ab:cd:ef", private_ip="172.31.0.5",
                          subnet_cidr="172.31.0.0/16", gateway_ip="172.31.0.1")
    return LaunchSpec(**{"name": name, "vcpus": 2, "memory_mib": 1024, "disk_gib": 10,
                         "image": BootImage(disk_path=str(disk)), "network": network,
                         "config_drive": {"openstack/latest/meta_data.json": b'{"uuid": "x"}'},
                         **extra})


def make_driver(config: HostConfig, transport: object, state_dir: Path) -> HyperVDriver:
    return HyperVDriver(config, transport, state_dir)  # type: ignore[arg-type]
