"""Instance disks with qemu-img: copy-on-write overlays over image disks, or blank disks."""

from __future__ import annotations

import json
import os
import subprocess

from overcast.drivers.base import DriverError

GIB = 1024**3


def qemu_img(qemu_img_bin: str, *args: str) -> str:
    try:
        done = subprocess.run([qemu_img_bin, *args], capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise DriverError(f"{qemu_img_bin} not found (install qemu-utils)") from exc
    except subprocess.CalledProcessError as exc:
        raise DriverError(f"qemu-img {args[0]} failed: {exc.stderr.strip()}") from exc
    return done.stdout


def virtual_size(qemu_img_bin: str, path: str, fmt: str) -> int:
    info = json.loads(qemu_img(qemu_img_bin, "info", "--output=json", "-f", fmt, path))
    return int(info["virtual-size"])


def create_overlay(
    qemu_img_bin: str, base: str, base_format: str, dest: str, size_gib: int
) -> None:
    """A qcow2 overlay on `base`, as large as the base or `size_gib`, whichever is larger."""
    base = os.path.abspath(base)
    if not os.path.exists(base):
        raise DriverError(f"image disk {base} does not exist")
    size = max(virtual_size(qemu_img_bin, base, base_format), size_gib * GIB)
    qemu_img(
        qemu_img_bin, "create", "-q", "-f", "qcow2", "-F", base_format, "-b", base, dest, str(size)
    )


def create_blank(qemu_img_bin: str, dest: str, size_gib: int) -> None:
    qemu_img(qemu_img_bin, "create", "-q", "-f", "qcow2", dest, str(max(size_gib, 1) * GIB))


def flatten(qemu_img_bin: str, disk: str, dest: str) -> None:
    """`disk` and its backing chain as one standalone qcow2 at `dest`."""
    qemu_img(qemu_img_bin, "convert", "-q", "-O", "qcow2", disk, dest)
