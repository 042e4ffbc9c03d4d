"""Is an image file safe to boot? `qemu-img info --output=json` plus our own header checks.

Accepted: raw and qcow2. Refused: any other format, qcow2 metadata that names a backing file
or an external data file (a guest could then read host files), encrypted or corrupt images,
non-regular files (devices, FIFOs), and absurd sizes. qemu-img runs with the format given
explicitly once probed, under CPU and memory limits, as OpenStack does for untrusted images.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

ACCEPTED_FORMATS = ("raw", "qcow2")
MAX_VIRTUAL_SIZE = 16 * 1024**4  # 16 TiB, EC2's largest EBS volume
QEMU_IMG_CPU_SECONDS = 30
QEMU_IMG_ADDRESS_SPACE = 1024**3
QCOW2_MAGIC = b"QFI\xfb"
QCOW2_INCOMPAT_DATA_FILE = 1 << 2


class UnsafeImage(ValueError):
    """The file is not an image Overcast will boot; the message says why."""


@dataclass(frozen=True)
class ImageInfo:
    path: str
    format: str
    virtual_size: int
    actual_size: int


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (QEMU_IMG_CPU_SECONDS, QEMU_IMG_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (QEMU_IMG_ADDRESS_SPACE, QEMU_IMG_ADDRESS_SPACE))


def qemu_img_info(path: str, fmt: str | None = None, qemu_img: str = "qemu-img") -> dict:
    argv = [qemu_img, "info", "--output=json"]
    if fmt:
        argv += ["-f", fmt]
    try:
        done = subprocess.run([*argv, "--", path], capture_output=True, text=True,
                              timeout=QEMU_IMG_CPU_SECONDS * 2, preexec_fn=_limits,
                              check=False)
    except FileNotFoundError as exc:
        raise UnsafeImage(f"{qemu_img} not found (install qemu-utils)") from exc
    except subprocess.TimeoutExpired as exc:
        raise UnsafeImage("qemu-img info took too long on this file") from exc
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise UnsafeImage(f"qemu-img cannot read this file: {detail[0]}")
    try:
        info = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise UnsafeImage("qemu-img info printed no JSON") from exc
    if not isinstance(info, dict):
        raise UnsafeImage("qemu-img info printed unexpected JSON")
    return info


def _regular_file(path: str) -> None:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise UnsafeImage(f"cannot read {path}: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeImage(f"{path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise UnsafeImage(f"{path} is not readable")


def check_qcow2_header(path: str) -> None:
    """Our own reading of the qcow2 header, independent of qemu-img."""
    with open(path, "rb") as stream:
        header = stream.read(104)
    if len(header) < 72 or header[:4] != QCOW2_MAGIC:
        raise UnsafeImage("not a qcow2 file: bad header")
    version, backing_offset, backing_size = struct.unpack(">IQI", header[4:20])
    if backing_offset or backing_size:
        raise UnsafeImage("the qcow2 header names a backing file")
    crypt_method = struct.unpack(">I", header[32:36])[0]
    if crypt_method:
        raise UnsafeImage("encrypted qcow2 images are not supported")
    if version >= 3 and len(header) >= 80:
        incompatible = struct.unpack(">Q", header[72:80])[0]
        if incompatible & QCOW2_INCOMPAT_DATA_FILE:
            raise UnsafeImage("the qcow2 header names an external data file")


def _check_info(info: dict) -> None:
    fmt = info.get("format")
    if fmt not in ACCEPTED_FORMATS:
        raise UnsafeImage(f"format {fmt!r} is not accepted (only raw and qcow2)")
    if info.get("backing-filename") or info.get("full-backing-filename") \
            or info.get("backing-filename-format"):
        raise UnsafeImage("the image metadata names a backing file")
    if info.get("encrypted"):
        raise UnsafeImage("encrypted images are not supported")
    if info.get("dirty-flag"):
        raise UnsafeImage("the image is marked dirty (not cleanly closed)")
    specific = (info.get("format-specific") or {}).get("data") or {}
    if specific.get("data-file") or specific.get("data-file-raw"):
        raise UnsafeImage("the image metadata names an external data file")
    if specific.get("corrupt"):
        raise UnsafeImage("qemu-img reports the image as corrupt")
    size = info.get("virtual-size")
    if not isinstance(size, int) or not 0 < size <= MAX_VIRTUAL_SIZE:
        raise UnsafeImage(f"implausible virtual size {size!r}")


def probe(path: str | Path, qemu_img: str = "qemu-img") -> ImageInfo:
    """The format and sizes of a safe image, or :class:`UnsafeImage`."""
    path = os.fspath(path)
    _regular_file(path)
    detected = qemu_img_info(path, qemu_img=qemu_img)
    _check_info(detected)
    fmt = detected["format"]
    if fmt == "qcow2":
        check_qcow2_header(path)
    else:
        with open(path, "rb") as stream:
            if stream.read(4) == QCOW2_MAGIC:
                raise UnsafeImage("a raw image must not start with a qcow2 header")
    # Read it once more with the format pinned: what the driver will do.
    pinned = qemu_img_info(path, fmt, qemu_img)
    _check_info(pinned)
    return ImageInfo(path=path, format=fmt, virtual_size=int(pinned["virtual-size"]),
                     actual_size=int(pinned.get("actual-size") or os.path.getsize(path)))
