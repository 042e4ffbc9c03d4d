"""The `local` backend: each volume a qcow2 file in a directory of this host, made with
`qemu-img create` (sparse: a new volume takes a few hundred KiB whatever its size)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from overcast.drivers.base import DriverError
from overcast.drivers.qemu.disks import GIB, qemu_img

VOLUME_ID = re.compile(r"^vol-[0-9a-f]{8,17}$")


class LocalBackend:
    name = "local"

    def __init__(self, directory: Path, qemu_img_bin: str = "qemu-img") -> None:
        self.directory = Path(directory).resolve()
        self.qemu_img = qemu_img_bin

    def path(self, volume_id: str) -> Path:
        if not VOLUME_ID.match(volume_id):
            raise DriverError(f"invalid volume ID {volume_id!r}")
        return self.directory / f"{volume_id}.qcow2"

    def create(self, volume_id: str, size_gib: int) -> str:
        dest = self.path(volume_id)
        if dest.exists():
            return str(dest)
        self.directory.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")  # a crash leaves no half-made volume
        part.unlink(missing_ok=True)
        qemu_img(self.qemu_img, "create", "-q", "-f", "qcow2", str(part), str(size_gib * GIB))
        os.replace(part, dest)
        return str(dest)

    def size_bytes(self, volume_id: str) -> int:
        info = json.loads(qemu_img(self.qemu_img, "info", "--output=json", "-U", "-f",
                                   "qcow2", str(self.path(volume_id))))
        return int(info["virtual-size"])

    def grow(self, volume_id: str, size_gib: int) -> None:
        if self.size_bytes(volume_id) >= size_gib * GIB:
            return
        qemu_img(self.qemu_img, "resize", "-q", "-f", "qcow2", str(self.path(volume_id)),
                 str(size_gib * GIB))

    def delete(self, volume_id: str) -> None:
        self.path(volume_id).unlink(missing_ok=True)

    def exists(self, volume_id: str) -> bool:
        return self.path(volume_id).exists()
