"""Choosing the accelerator: KVM only when the host truly runs guests with it, else TCG.

A /dev/kvm that exists is not enough (nested-virtualization shims can hang guests), so KVM is
chosen only when the CPU flags show vmx or svm, /dev/kvm opens read-write, and a probe guest
boots under KVM and reports back within a few seconds.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from overcast.drivers.base import DriverError

ACCELS = ("auto", "kvm", "tcg")
PROBE_EXIT_VALUE = 0x2A
# A boot sector: `mov al, 0x2a; out 0xf4, al; hlt; jmp $-1`, then the 0x55AA signature.
# Writing to the isa-debug-exit port makes QEMU exit with status (0x2a << 1) | 1.
_PROBE_CODE = bytes([0xB0, PROBE_EXIT_VALUE, 0xE6, 0xF4, 0xF4, 0xEB, 0xFD])
_cache: dict[str, bool] = {}


def probe_sector() -> bytes:
    return _PROBE_CODE + bytes(510 - len(_PROBE_CODE)) + b"\x55\xaa"


def cpu_has_virt(cpuinfo: str = "/proc/cpuinfo") -> bool:
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = line.partition(":")[2].split()
            return "vmx" in flags or "svm" in flags
    return False


def kvm_device_usable(path: str = "/dev/kvm") -> bool:
    return os.path.exists(path) and os.access(path, os.R_OK | os.W_OK)


def probe_kvm_boot(qemu: str, timeout: float = 10.0) -> bool:
    """Boot a one-instruction guest under KVM; True when it ran and exited as expected."""
    with tempfile.TemporaryDirectory(prefix="overcast-kvm-probe-") as tmp:
        disk = Path(tmp) / "probe.img"
        disk.write_bytes(probe_sector())
        argv = [
            qemu,
            "-accel",
            "kvm",
            "-nodefaults",
            "-display",
            "none",
            "-m",
            "16",
            "-no-reboot",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive",
            f"file={disk},format=raw,if=ide",
        ]
        try:
            done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
        except (subprocess.TimeoutExpired, OSError):
            return False
    return done.returncode == (PROBE_EXIT_VALUE << 1) | 1


def kvm_works(qemu: str) -> bool:
    """Flags, device and probe boot, cached per QEMU binary for this process."""
    if qemu not in _cache:
        _cache[qemu] = cpu_has_virt() and kvm_device_usable() and probe_kvm_boot(qemu)
    return _cache[qemu]


def choose_accel(setting: str, qemu: str) -> str:
    """Resolve auto|kvm|tcg to the accelerator to use ("kvm" or "tcg")."""
    if setting not in ACCELS:
        raise DriverError(f"unknown accelerator {setting!r}; use one of {', '.join(ACCELS)}")
    if setting == "auto":
        return "kvm" if kvm_works(qemu) else "tcg"
    return setting
