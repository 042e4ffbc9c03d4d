"""The `local` backend: each volume a qcow2 file in a directory of this host, made with
`qemu-img create` (sparse: a new volume takes a few hundred KiB whatever its size), and each
snapshot a standalone qcow2 copy beside them (`qemu-img convert`)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

from overcast.drivers.base import DriverError
from overcast.drivers.qemu.disks import GIB, qemu_img

VOLUME_ID = re.compile(r"^vol-[0-9a-f]{8,17}$")
SNAPSHOT_ID = re.compile(r"^snap-[0-9a-f]{8,17}$")


class LocalBackend:
    name = "local"

    def __init__(self, directory: Path, qemu_img_bin: str = "qemu-img") -> None:
        self.directory = Path(directory).resolve()
        self.qemu_img = qemu_img_bin

    def path(self, volume_id: str) -> Path:
        if not VOLUME_ID.match(volume_id):
            raise DriverError(f"invalid volume ID {volume_id!r}")
        return self.directory / f"{volume_id}.qcow2"

    def snapshot_path(self, snapshot_id: str) -> str:
        if not SNAPSHOT_ID.match(snapshot_id):
            raise DriverError(f"invalid snapshot ID {snapshot_id!r}")
        return str(self.directory / "snapshots" / f"{snapshot_id}.qcow2")

    def _write(self, dest: Path, make: Callable[[str], object]) -> str:
        """Make `dest` through a hidden part file: a crash leaves nothing half-made."""
        if dest.exists():
            return str(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(f".{dest.name}.part")
        part.unlink(missing_ok=True)
        try:
            make(str(part))
        except DriverError:
            part.unlink(missing_ok=True)
            raise
        os.replace(part, dest)
        return str(dest)

    def create(self, volume_id: str, size_gib: int, source: str | None = None) -> str:
        size = str(size_gib * GIB)
        if source is None:
            return self._write(self.path(volume_id), lambda part: qemu_img(
                self.qemu_img, "create", "-q", "-f", "qcow2", part, size))

        def restore(part: str) -> None:
            qemu_img(self.qemu_img, "convert", "-q", "-f", "qcow2", "-O", "qcow2", source,
                     part)
            qemu_img(self.qemu_img, "resize", "-q", "-f", "qcow2", part, size)
        return self._write(self.path(volume_id), restore)

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

    def snapshot(self, volume_id: str, snapshot_id: str) -> str:
        source = str(self.path(volume_id))
        return self._write(Path(self.snapshot_path(snapshot_id)), lambda part: qemu_img(
            self.qemu_img, "convert", "-q", "-f", "qcow2", "-O", "qcow2", source, part))

    def delete_snapshot(self, snapshot_id: str) -> None:
        Path(self.snapshot_path(snapshot_id)).unlink(missing_ok=True)
