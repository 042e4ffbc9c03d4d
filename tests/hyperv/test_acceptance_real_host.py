"""Acceptance test against a REAL Windows Server Hyper-V host (docs/hyperv.md).

Skipped unless OVERCAST_HYPERV_ADDRESS and the other variables below are set; no such host
exists where CI runs, so this has not been run there. With OVERCAST_HYPERV_RECORD=FILE the
run is written as a cassette that ReplayTransport can replay.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from overcast.drivers.base import BootImage, PowerState
from overcast.drivers.hyperv import HostConfig, HyperVDriver
from overcast.drivers.hyperv.replay import RecordingTransport
from overcast.drivers.hyperv.transport import PsrpTransport, Transport
from tests.hyperv.conftest import make_spec

REQUIRED = ("ADDRESS", "USERNAME", "PASSWORD", "VM_PATH", "SWITCH", "IMAGE")
ENV = {k: os.environ.get(f"OVERCAST_HYPERV_{k}", "") for k in
       (*REQUIRED, "PORT", "AUTH", "CERT_VALIDATION", "RECORD", "BOOT_TIMEOUT")}
pytestmark = pytest.mark.skipif(
    not all(ENV[k] for k in REQUIRED),
    reason="no real Hyper-V host: set OVERCAST_HYPERV_" + ", _".join(REQUIRED))


def wait_for(driver: HyperVDriver, name: str, state: PowerState, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while driver.list().get(name, None) is None or driver.list()[name].state != state:
        assert time.monotonic() < deadline, f"{name} not {state} in {timeout}s"
        time.sleep(3)


def test_lifecycle_on_a_real_host(tmp_path: Path) -> None:
    config = HostConfig(
        name="acceptance", address=ENV["ADDRESS"], username=ENV["USERNAME"],
        password=ENV["PASSWORD"], port=int(ENV["PORT"] or 5986),
        auth=ENV["AUTH"] or "negotiate", cert_validation=ENV["CERT_VALIDATION"] != "off",
        vm_path=ENV["VM_PATH"], switch=ENV["SWITCH"])
    transport: Transport = PsrpTransport(config)
    if ENV["RECORD"]:
        transport = RecordingTransport(transport, Path(ENV["RECORD"]))
    driver = HyperVDriver(config, transport, tmp_path)
    steps = list(driver.smoke_test())
    assert all(step.ok for step in steps), steps

    name = "i-" + secrets.token_hex(8)
    image = Path(ENV["IMAGE"])
    disk_format = "raw" if image.suffix in (".raw", ".img") else "qcow2"
    spec = make_spec(image, name=name, image=BootImage(disk_path=str(image),
                                                       disk_format=disk_format))
    boot_timeout = float(ENV["BOOT_TIMEOUT"] or 300)
    try:
        driver.create(spec)
        wait_for(driver, name, PowerState.RUNNING, 120)
        deadline = time.monotonic() + boot_timeout
        while not driver.console_output(name):
            assert time.monotonic() < deadline, "nothing on COM1 (does the guest log there?)"
            time.sleep(5)
        driver.stop(name, timeout=120)
        wait_for(driver, name, PowerState.STOPPED, 30)
        driver.start(name)
        wait_for(driver, name, PowerState.RUNNING, 60)
        driver.reboot(name)
        driver.stop(name, force=True)
    finally:
        driver.destroy(name)
        transport.close()
    assert name not in driver.list()
