"""Fixtures for the Hyper-V driver's tests: a tiny real qcow2 image, host settings, and a
stand-in for the config drive ISO builder (overcast.metadata.configdrive is written
separately; these tests only need the bytes it is given to arrive on the host)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from overcast.drivers.base import BootImage, LaunchSpec, NetworkSpec
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.driver import HyperVDriver

PASSWORD = "s3cret-Pa55word!"


def iso_standin(out_path: Path, files: dict[str, bytes]) -> None:
    out_path.write_bytes(json.dumps({k: v.decode("latin-1") for k, v in files.items()},
                                    sort_keys=True).encode())


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
    return HyperVDriver(config, transport, state_dir, iso_builder=iso_standin)  # type: ignore[arg-type]
