"""The QEMU driver: real VMs, one detached qemu-system-x86_64 per running instance."""

from overcast.drivers.qemu.driver import QemuDriver

__all__ = ["QemuDriver"]
