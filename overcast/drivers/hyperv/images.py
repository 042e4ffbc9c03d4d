"""Images for Hyper-V: converted once to dynamic VHDX here, copied once to each host, both
cached by the SHA-256 of the source disk. A cached file is only ever created whole (written
under a temporary name, then renamed), so a crash never leaves a half file that looks done."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from overcast.drivers.base import BootImage, DriverError
from overcast.drivers.hyperv import scripts
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.transport import RemoteError, Transport
from overcast.drivers.qemu.disks import qemu_img

CHUNK = 1024 * 1024
# Copying a large VHDX over WinRM is slow (a few MB/s); allow this much time per GiB.
COPY_SECONDS_PER_GIB = 900.0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class VhdxCache:
    """Local VHDX conversions, keyed by the source's SHA-256."""

    def __init__(self, directory: Path, qemu_img_bin: str = "qemu-img") -> None:
        self.directory = directory
        self.qemu_img_bin = qemu_img_bin
        self._lock = threading.Lock()
        self._sums_file = directory / "checksums.json"

    def checksum(self, source: Path) -> str:
        """SHA-256 of a source image, remembered per (path, size, mtime)."""
        stat = source.stat()
        key = f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        sums = self._load_sums()
        if key not in sums:
            sums[key] = file_sha256(source)
            self._save_sums(sums)
        return sums[key]

    def _load_sums(self) -> dict[str, str]:
        try:
            return json.loads(self._sums_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_sums(self, sums: dict[str, str]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self._sums_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(sums))
        tmp.replace(self._sums_file)

    def vhdx_for(self, image: BootImage) -> tuple[Path, str]:
        """The image as a dynamic VHDX (converting it the first time) and its source sum."""
        if not image.disk_path:
            raise DriverError("Hyper-V boots disk images only; this image has no disk "
                              "(kernel and ramdisk images need the qemu driver)")
        source = Path(image.disk_path)
        if not source.is_file():
            raise DriverError(f"image disk {source} is missing")
        with self._lock:
            checksum = self.checksum(source)
            target = self.directory / f"{checksum}.vhdx"
            if not target.exists():
                partial = target.with_suffix(".vhdx.partial")
                partial.unlink(missing_ok=True)
                qemu_img(self.qemu_img_bin, "convert", "-f", image.disk_format, "-O", "vhdx",
                         "-o", "subformat=dynamic", str(source), str(partial))
                partial.replace(target)
        return target, checksum


RunScript = Callable[[scripts.Script, dict[str, Any]], Any]


def ensure_on_host(transport: Transport, config: HostConfig, run: RunScript, vhdx: Path,
                   checksum: str) -> str:
    """The image's path on the host, copied there unless a whole copy already is."""
    remote = f"{config.image_dir()}\\{checksum}.vhdx"
    status = run(scripts.IMAGE_STATUS, {"Directory": config.image_dir(), "Path": remote})
    if status.get("Exists") and int(status.get("Length", 0)) == vhdx.stat().st_size:
        return remote
    size_gib = max(1.0, vhdx.stat().st_size / 1024**3)
    try:
        transport.copy(vhdx, remote, timeout=COPY_SECONDS_PER_GIB * size_gib)
    except RemoteError as exc:
        raise DriverError(f"copying the image to {config.name} failed: {exc}") from exc
    return remote
