"""The driver against recorded-shape request/response pairs (tests/hyperv/cassettes): the
lifecycle, a failed start, and a host that stops answering."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from overcast.drivers.base import BootImage, DriverError, PowerState
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.replay import ReplayTransport
from overcast.drivers.hyperv.transport import HostUnreachable, RemoteError
from tests.hyperv.conftest import make_driver, make_spec
from tests.hyperv.simulator import SimulatedHost

CASSETTES = Path(__file__).parent / "cassettes"
NAME = "i-0123456789abcdef0"


def replay(name: str, vhdx: Path) -> ReplayTransport:
    text = (CASSETTES / name).read_text()
    text = text.replace("@IMAGE@", vhdx.stem).replace("@VHDX_SIZE@", str(vhdx.stat().st_size))
    return ReplayTransport(json.loads(text)["interactions"])


def converted(tmp_path: Path, host_config: HostConfig, image: Path) -> Path:
    """Convert the image ahead (as the driver would), to know its cache name and size."""
    driver = make_driver(host_config, ReplayTransport([]), tmp_path)
    vhdx, _ = driver.images.vhdx_for(make_spec(image).image)
    return vhdx


def test_lifecycle(tmp_path: Path, host_config: HostConfig, qcow2_image: Path) -> None:
    vhdx = converted(tmp_path, host_config, qcow2_image)
    assert vhdx.read_bytes()[:8] == b"vhdxfile"  # qemu-img made a real VHDX
    transport = replay("lifecycle.json", vhdx)
    driver = make_driver(host_config, transport, tmp_path)

    driver.create(make_spec(qcow2_image))
    remote_image = f"D:\\overcast\\images\\{vhdx.stem}.vhdx"
    assert transport.copied[remote_image] == vhdx.read_bytes()
    iso = transport.copied[f"D:\\overcast\\instances\\{NAME}\\config-drive.iso"]
    assert iso[0x8001:0x8006] == b"CD001" and b"config-2" in iso  # ISO 9660, cloud-init's label
    assert b'{"uuid": "x"}' in iso

    vm = driver.list()[NAME]
    assert vm.state == PowerState.RUNNING
    assert vm.addresses == ("192.168.10.57", "fe80::5054:ff:feab:cdef")
    assert driver.console_output(NAME).endswith(b"ubuntu login: ")

    driver.stop(NAME)
    assert driver.list()[NAME].state == PowerState.STOPPED
    driver.start(NAME)
    driver.reboot(NAME)
    driver.stop(NAME, force=True, timeout=5)
    driver.destroy(NAME)
    assert driver.list() == {}

    # a second instance of the same image: the host's copy is reused, nothing uploaded
    transport.copied.clear()
    driver.create(make_spec(qcow2_image, name="i-0fedcba9876543210", config_drive=None))
    assert transport.copied == {}
    transport.assert_done()
    assert all(0 < t < math.inf for t in transport.timeouts)


def test_failed_start_reports_the_hosts_error_and_keeps_the_vm(
        tmp_path: Path, host_config: HostConfig, qcow2_image: Path) -> None:
    vhdx = converted(tmp_path, host_config, qcow2_image)
    transport = replay("failed_start.json", vhdx)
    driver = make_driver(host_config, transport, tmp_path)
    with pytest.raises(DriverError) as failure:
        driver.create(make_spec(qcow2_image, config_drive=None))
    assert isinstance(failure.value, RemoteError)
    assert str(failure.value).startswith(f"Hyper-V host: '{NAME}' failed to start.")
    assert failure.value.has_id("OutOfMemory")
    assert driver.list()[NAME].state == PowerState.STOPPED
    with pytest.raises(DriverError, match="no virtual machine named i-0404040404040404"):
        driver.start("i-0404040404040404")
    transport.assert_done()


def test_a_host_that_times_out_loses_nothing(tmp_path: Path, host_config: HostConfig,
                                             qcow2_image: Path) -> None:
    vhdx = converted(tmp_path, host_config, qcow2_image)
    transport = replay("host_timeout.json", vhdx)
    driver = make_driver(host_config, transport, tmp_path)
    assert driver.list()[NAME].state == PowerState.RUNNING
    # Not a DriverError: the agent must not fail or forget anything over a silent host.
    for call in (driver.list, driver.capacity, lambda: driver.stop(NAME)):
        with pytest.raises(HostUnreachable) as failure:
            call()
        assert not isinstance(failure.value, DriverError)
        assert "did not finish in time" in driver.last_error
    assert driver.console_output(NAME) == b""
    assert driver.list()[NAME].state == PowerState.RUNNING
    assert driver.last_error == ""
    transport.assert_done()
    stop_timeout = transport.timeouts[3]
    assert 60 < stop_timeout <= 60 + 30  # the graceful wait plus a margin, never unbounded


def test_unusable_images_and_names_are_refused_before_anything_is_sent(
        tmp_path: Path, host_config: HostConfig, qcow2_image: Path) -> None:
    transport = ReplayTransport([])
    driver = make_driver(host_config, transport, tmp_path)

    with pytest.raises(DriverError, match="disk images only"):
        driver.create(make_spec(qcow2_image, image=BootImage(disk_path=None,
                                                             kernel_path="/boot/vmlinuz")))
    with pytest.raises(DriverError, match="cannot name"):
        driver.destroy("..")
    transport.assert_done()


def test_capacity_comes_from_the_host_and_is_asked_again_after_a_failure(
        tmp_path: Path, host_config: HostConfig) -> None:
    host = SimulatedHost()
    driver = make_driver(host_config, host, tmp_path)
    capacity = driver.capacity()
    # 64 GiB less 4 GiB held by VMs that are not Overcast's, less 2 GiB for Windows
    assert (capacity.vcpus, capacity.memory_mib, capacity.disk_gib) == (16, 58 * 1024, 1000)
    assert driver.capacity() == capacity
    assert [name for name, _ in host.calls] == ["host_info"]  # reused while answering
    host.silent = True
    with pytest.raises(HostUnreachable):
        driver.list()
    with pytest.raises(HostUnreachable):
        driver.capacity()  # not the cached answer: the host is silent
    host.silent = False
    assert driver.capacity() == capacity
    assert [name for name, _ in host.calls] == ["host_info", "host_info"]
