"""Driver construction by name, from settings."""

from __future__ import annotations

from pathlib import Path

from overcast.config import Settings
from overcast.drivers.base import Driver, HostCapacity

DRIVERS = ("fake", "qemu")
# Drivers that write images of instances (Capabilities.snapshot): the API asks this first.
SNAPSHOT_DRIVERS = ("fake", "qemu")
# Drivers for hosts Overcast reaches over the network (`overcast host add --driver ...`).
REMOTE_DRIVERS = ("hyperv",)


def make_driver(settings: Settings) -> Driver:
    state_dir = settings.data_dir / "hosts" / settings.host_name
    state_dir.mkdir(parents=True, exist_ok=True)
    if settings.driver == "fake":
        from overcast.drivers.fake import FakeDriver

        capacity = HostCapacity(settings.fake_vcpus, settings.fake_memory_mib,
                                settings.fake_disk_gib)
        return FakeDriver(capacity, settings.fake_boot_delay, state_dir / "fake-vms.json")
    if settings.driver == "qemu":
        from overcast.drivers.qemu import QemuDriver
        from overcast.metadata.relayauth import key_path

        return QemuDriver(str(state_dir / "qemu"), accel=settings.qemu_accel,
                          relay_key_file=key_path(settings.data_dir))
    raise ValueError(f"unknown driver '{settings.driver}' (choose from {', '.join(DRIVERS)})")


def make_remote_driver(kind: str, config: object, state_dir: Path) -> Driver:
    """A driver for a remote host from its stored settings (e.g. a Hyper-V HostConfig)."""
    if kind == "hyperv":
        from overcast.drivers.hyperv import HostConfig, HyperVDriver
        from overcast.drivers.hyperv.transport import PsrpTransport

        assert isinstance(config, HostConfig)
        state_dir.mkdir(parents=True, exist_ok=True)
        return HyperVDriver(config, PsrpTransport(config), state_dir)
    raise ValueError(f"unknown remote driver '{kind}' (choose from {', '.join(REMOTE_DRIVERS)})")
