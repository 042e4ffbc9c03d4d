"""Pause and suspend of a real QEMU guest (TCG here). The guest's user data prints a numbered
tick every half second on its serial console: while paused no tick comes; suspended, QEMU is
gone and the guest lives as a file; resumed, the numbering goes on where it stopped (the
guest was not booted again)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator

import pytest

from overcast.drivers.base import BootImage, LaunchSpec, NetworkSpec, PowerState
from overcast.drivers.qemu import QemuDriver, power, process
from overcast.drivers.qemu.layout import InstanceDir
from tests.e2e.test_qemu_driver import BOOT_LINE, BOOT_TIMEOUT, image, wait_for  # noqa: F401

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]

TICKER = b"#!/bin/sh\ni=0\nwhile true; do i=$((i+1)); echo tick-$i; sleep 0.5; done\n"
TICK = re.compile(rb"tick-(\d+)")
NAME = "i-00000000000e2e0a5"


def last_tick(driver: QemuDriver) -> int:
    found = TICK.findall(driver.console_output(NAME))
    return int(found[-1]) if found else 0


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory, image: BootImage,  # noqa: F811
           ) -> Iterator[QemuDriver]:
    made = QemuDriver(str(tmp_path_factory.mktemp("qemu-power")), accel="auto")
    spec = LaunchSpec(name=NAME, vcpus=1, memory_mib=256, disk_gib=1, image=image,
                      network=NetworkSpec("52:54:00:e2:e0:a5", "10.20.0.9", "10.20.0.0/24",
                                          "10.20.0.1"),
                      config_drive={"openstack/latest/user_data": TICKER,
                                    "openstack/latest/meta_data.json": b"{}"})
    made.create(spec)
    try:
        yield made
    finally:
        made.destroy(NAME)


def test_pause_freezes_the_guest_and_unpause_lets_it_go_on(driver: QemuDriver) -> None:
    wait_for(lambda: last_tick(driver) >= 2, BOOT_TIMEOUT, "the guest's ticks")
    driver.pause(NAME)
    assert driver.list()[NAME].state == PowerState.PAUSED
    frozen = last_tick(driver)
    time.sleep(2.0)  # a running guest would print four ticks meanwhile
    assert last_tick(driver) == frozen
    driver.pause(NAME)  # again: nothing changes
    driver.unpause(NAME)
    assert driver.list()[NAME].state == PowerState.RUNNING
    wait_for(lambda: last_tick(driver) > frozen, 20, "ticks after unpause")


def test_suspend_saves_the_guest_to_a_file_and_start_restores_it(driver: QemuDriver) -> None:
    inst = InstanceDir(driver.state_dir, NAME)
    wait_for(lambda: last_tick(driver) >= 1, BOOT_TIMEOUT, "the guest's ticks")
    driver.suspend(NAME)
    assert driver.list()[NAME].state == PowerState.SUSPENDED
    assert process.running_pid(inst) is None
    assert power.saved_state(inst).stat().st_size > 1024 * 1024
    saved = last_tick(driver)
    driver.start(NAME)
    assert driver.list()[NAME].state == PowerState.RUNNING
    assert not power.saved_state(inst).exists()
    wait_for(lambda: last_tick(driver) > saved + 1, 30, "ticks after resume")
    console = driver.console_output(NAME)
    assert console.count(BOOT_LINE) == 1  # restored, not booted again
    ticks = [int(n) for n in TICK.findall(console)]
    after = ticks[len(ticks) - 1 - ticks[::-1].index(saved) + 1:]
    assert after and all(n > saved for n in after)  # numbering went on


def test_stop_of_a_paused_guest_is_a_hard_stop(driver: QemuDriver) -> None:
    driver.pause(NAME)
    started = time.monotonic()
    driver.stop(NAME, timeout=30)
    assert time.monotonic() - started < 10  # no waiting on a power button it cannot hear
    assert driver.list()[NAME].state == PowerState.STOPPED
