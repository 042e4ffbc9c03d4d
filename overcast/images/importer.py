"""Copy an image file into the image store (DATA_DIR/images/store), checked before and after.

The source is probed first (a quick refusal for an unsafe file), copied to a temporary file
in the store with a progress bar, flushed to disk, probed again (the copy is what will boot:
this closes the window in which the source could change) and renamed into place. Files in the
store are never changed afterwards; instances' overlays may be backed by them.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from overcast.images.probe import ImageInfo, UnsafeImage, probe

CHUNK = 4 * 1024 * 1024
STORE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
Progress = Callable[[int], None]


@dataclass(frozen=True)
class StoredImage:
    path: Path  # inside the store
    info: ImageInfo


def store_dir(data_dir: Path) -> Path:
    return data_dir / "images" / "store"


def local_path(location: str) -> Path:
    """An absolute local path from `/path` or `file:///path`; UnsafeImage otherwise."""
    if location.startswith("file:"):
        parsed = urlparse(location)
        if parsed.netloc not in ("", "localhost") or parsed.query or parsed.fragment:
            raise UnsafeImage("only file:///absolute/path URLs on this host are accepted")
        location = unquote(parsed.path)
    if not location.startswith("/") or "\0" in location:
        raise UnsafeImage("give an absolute path or a file:/// URL")
    return Path(os.path.normpath(location))


def in_store(data_dir: Path, name: str) -> Path:
    """The path of a file the store holds, by its name; UnsafeImage if none or bad name."""
    if not STORE_NAME.match(name) or name.startswith(".") or ".." in name:
        raise UnsafeImage(f"'{name}' is not the name of a file in the image store")
    path = store_dir(data_dir) / name
    if path.is_symlink() or not path.is_file():
        raise UnsafeImage(f"the image store has no file named '{name}'")
    return path


def _copy(source: Path, dest_fd: int, progress: Progress | None) -> None:
    with open(source, "rb") as src, os.fdopen(dest_fd, "wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            if progress:
                progress(len(chunk))
        dst.flush()
        os.fsync(dst.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def import_file(source: Path, data_dir: Path, stem: str,
                progress: Progress | None = None, qemu_img: str = "qemu-img") -> StoredImage:
    """Probe `source`, copy it into the store as `<stem>.<format>` and probe the copy."""
    info = probe(source, qemu_img)
    store = store_dir(data_dir)
    store.mkdir(parents=True, exist_ok=True)
    final = store / f"{stem}.{info.format}"
    if final.exists():
        raise UnsafeImage(f"the image store already holds {final.name}")
    fd, tmp_name = tempfile.mkstemp(dir=store, prefix=".importing-")
    tmp = Path(tmp_name)
    try:
        _copy(source, fd, progress)
        copied = probe(tmp, qemu_img)
        if copied.format != info.format:
            raise UnsafeImage("the file changed while it was copied")
        tmp.chmod(0o444)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _sync_dir(store)
    return StoredImage(final, ImageInfo(str(final), copied.format, copied.virtual_size,
                                        copied.actual_size))


def digests(path: Path) -> tuple[str, str]:
    """The file's MD5 and SHA-512 (Glance's checksum and os_hash_value), read in chunks."""
    md5, sha512 = hashlib.md5(), hashlib.sha512()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            md5.update(chunk)
            sha512.update(chunk)
    return md5.hexdigest(), sha512.hexdigest()
