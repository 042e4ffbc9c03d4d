"""Driver construction by name, from settings."""

from __future__ import annotations

from overcast.config import Settings
from overcast.drivers.base import Driver, HostCapacity

DRIVERS = ("fake", "qemu")


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

        return QemuDriver(str(state_dir / "qemu"), accel=settings.qemu_accel)
    raise ValueError(f"unknown driver '{settings.driver}' (choose from {', '.join(DRIVERS)})")
