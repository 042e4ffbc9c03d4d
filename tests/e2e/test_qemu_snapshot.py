"""Images of instances' disks with the QEMU driver: live (a backup job) and stopped (qemu-img),
each a standalone qcow2 holding what the guest wrote, and bootable."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from overcast.drivers.base import BootImage, LaunchSpec
from overcast.drivers.qemu import QemuDriver
from tests.e2e.test_qemu_driver import BOOT_TIMEOUT, boots, image, network, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]
__all__ = ["image"]  # the session fixture, shared

MARKER = b"overcast-snapshot-marker"
SECTOR = 2_000_000  # near the end of the 1 GiB disk, past the boot loader's files
WRITE_MARKER = (
    b"#!/bin/sh\n"
    b"printf %s | dd of=/dev/vda bs=512 seek=%d conv=fsync 2>/dev/null && echo marker-written\n"
    % (MARKER, SECTOR)
)


def qemu_img_info(path: Path) -> dict[str, object]:
    out = subprocess.run(["qemu-img", "info", "--output=json", str(path)], check=True,
                         capture_output=True).stdout
    return dict(json.loads(out))


def sector(path: Path, tmp: Path) -> bytes:
    raw = tmp / "sector.raw"  # qemu-img dd counts the skipped blocks in count
    subprocess.run(["qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", f"skip={SECTOR}",
                    f"count={SECTOR + 1}", f"if={path}", f"of={raw}"],
                   check=True, capture_output=True)
    return raw.read_bytes()


def assert_standalone_with_marker(path: Path, tmp: Path) -> None:
    info = qemu_img_info(path)
    assert info["format"] == "qcow2" and "backing-filename" not in info
    assert info["virtual-size"] == 1024**3
    assert sector(path, tmp).startswith(MARKER)


def test_snapshot_running_and_stopped_instance(tmp_path: Path, image: BootImage) -> None:
    driver = QemuDriver(str(tmp_path / "vms"))
    name, copy = "i-00000000000005a01", "i-00000000000005a02"
    spec = LaunchSpec(name=name, vcpus=1, memory_mib=256, disk_gib=1, image=image,
                      network=network("52:54:00:e2:5a:01", "10.20.0.8"),
                      config_drive={"openstack/latest/user_data": WRITE_MARKER,
                                    "openstack/latest/meta_data.json": b"{}"})
    try:
        driver.create(spec)
        wait_for(lambda: b"marker-written" in driver.console_output(name), BOOT_TIMEOUT,
                 "the guest to write its marker")
        live = tmp_path / "live.qcow2"
        driver.snapshot(name, str(live))
        assert_standalone_with_marker(live, tmp_path)
        assert driver.list()[name].state.value == "running"  # the guest ran on throughout

        driver.stop(name, force=True)
        stopped = tmp_path / "stopped.qcow2"
        driver.snapshot(name, str(stopped))
        assert_standalone_with_marker(stopped, tmp_path)

        # the image boots on its own (the instance it came from is gone)
        driver.destroy(name)
        driver.create(LaunchSpec(name=copy, vcpus=1, memory_mib=256, disk_gib=1,
                                 image=BootImage(disk_path=str(live), disk_format="qcow2"),
                                 network=network("52:54:00:e2:5a:02", "10.20.0.9")))
        wait_for(lambda: boots(driver, copy), BOOT_TIMEOUT, "the copy to boot")
    finally:
        for vm in (name, copy):
            driver.destroy(vm)
