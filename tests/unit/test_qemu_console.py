"""GetConsoleOutput right after RunInstances: the qemu driver has no VM yet, and answers an
empty console rather than an error (which reached the API as a 500)."""

from __future__ import annotations

from pathlib import Path

from overcast.drivers.qemu import QemuDriver


def test_the_console_of_a_vm_not_made_yet_is_empty(tmp_path: Path) -> None:
    assert QemuDriver(str(tmp_path)).console_output("i-0123456789abcdef0") == b""
