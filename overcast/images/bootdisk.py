"""Bootable disk images made from files, without mounting anything and without root.

A disk is an MBR partition table with SYSLINUX's MBR boot code, then partitions aligned to
1 MiB. The first partition is a FAT file system (mkfs.fat on a plain file) holding SYSLINUX
(`syslinux --install` works on an unmounted image file through mtools), its configuration,
a kernel and an initramfs, copied in with mtools' mcopy. Further partitions are images made
elsewhere (for example `mkfs.ext4 -d`). The BIOS loads the MBR, the MBR the partition's boot
sector, SYSLINUX the kernel: the same path as on any disk-booting cloud image.

Tools (apt): syslinux, syslinux-common, mtools, dosfstools, qemu-utils.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

SECTOR = 512
MIB = 1024 * 1024
FIRST_PARTITION_SECTOR = 2048  # 1 MiB, the usual alignment
MBR_CODE_SIZE = 440
MBR_BOOT_CODE = (Path("/usr/lib/syslinux/mbr/mbr.bin"), Path("/usr/lib/SYSLINUX/mbr.bin"))
FAT16_LBA = 0x0E
LINUX = 0x83
FAT_SLACK_BYTES = 2 * MIB
FAT16_MIN_BYTES = 16 * MIB  # mkfs.fat -F 16 wants enough clusters
COPY_CHUNK = MIB


class DiskBuildError(RuntimeError):
    """A tool the disk is made with is missing or failed."""


@dataclass(frozen=True)
class Partition:
    image: Path  # a file holding the partition's bytes (a file system image)
    type_id: int
    bootable: bool = False


def run_tool(argv: list[str], package: str) -> str:
    """Run a build tool; turn its absence or failure into a DiskBuildError naming the fix."""
    try:
        done = subprocess.run(argv, check=True, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise DiskBuildError(f"{argv[0]} is missing (install {package})") from exc
    except subprocess.CalledProcessError as exc:
        raise DiskBuildError(f"{Path(argv[0]).name} failed: {exc.stderr.strip()}") from exc
    return done.stdout


def mbr_boot_code() -> bytes:
    for path in MBR_BOOT_CODE:
        if path.exists():
            return path.read_bytes()[:MBR_CODE_SIZE]
    raise DiskBuildError("SYSLINUX's mbr.bin is missing (install syslinux-common)")


def check_tools() -> None:
    for tool, package in (("mkfs.fat", "dosfstools"), ("syslinux", "syslinux"),
                          ("mcopy", "mtools"), ("qemu-img", "qemu-utils")):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            raise DiskBuildError(f"{tool} is missing (install {package})")
    mbr_boot_code()


def syslinux_config(kernel: str, initrd: str, append: str) -> str:
    """Boot `kernel` at once; the boot loader also announces itself on the serial console."""
    return (f"SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n"
            f"  LINUX /{kernel}\n  INITRD /{initrd}\n  APPEND {append}\n")


def make_boot_partition(dest: Path, label: str, files: dict[str, Path], config: str) -> None:
    """A FAT file system image with SYSLINUX installed, `config` and `files` (name -> source)."""
    payload = sum(src.stat().st_size for src in files.values())
    size = max(FAT16_MIN_BYTES, _round_up(payload + payload // 16 + FAT_SLACK_BYTES, MIB))
    with open(dest, "wb") as out:
        out.truncate(size)
    fat = shutil.which("mkfs.fat") or "/usr/sbin/mkfs.fat"
    run_tool([fat, "-F", "16", "-n", label[:11].upper(), "-h", str(FIRST_PARTITION_SECTOR),
              str(dest)], "dosfstools")
    run_tool(["syslinux", "--install", str(dest)], "syslinux")
    cfg = dest.with_name(dest.name + ".syslinux.cfg")
    cfg.write_text(config)
    try:
        run_tool(["mcopy", "-i", str(dest), str(cfg), "::syslinux.cfg"], "mtools")
    finally:
        cfg.unlink()
    for name, src in files.items():
        run_tool(["mcopy", "-i", str(dest), str(src), f"::{name}"], "mtools")


def assemble(dest: Path, partitions: list[Partition]) -> None:
    """Write a raw MBR disk holding `partitions` in order, each starting on a MiB boundary."""
    entries, layout, sector = [], [], FIRST_PARTITION_SECTOR
    for part in partitions:
        size = part.image.stat().st_size
        count = _round_up(size, MIB) // SECTOR
        entries.append(_mbr_entry(part, sector, count))
        layout.append((part.image, sector))
        sector += count
    if len(entries) > 4:
        raise DiskBuildError("an MBR disk holds at most four primary partitions")
    table = b"".join(entries).ljust(64, b"\0")
    mbr = mbr_boot_code().ljust(MBR_CODE_SIZE, b"\0") + struct.pack("<IH", 0x0C0FFEE5, 0)
    mbr += table + b"\x55\xaa"
    with open(dest, "wb") as out:
        out.truncate(sector * SECTOR)
        out.write(mbr)
        for image, start in layout:
            out.seek(start * SECTOR)
            _sparse_copy(image, out)


def to_qcow2(raw: Path, dest: Path) -> None:
    run_tool(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(dest)],
             "qemu-utils")


def _mbr_entry(part: Partition, start: int, count: int) -> bytes:
    chs_beyond = b"\xfe\xff\xff"  # "use the LBA fields", as partitioners write for big disks
    status = 0x80 if part.bootable else 0x00
    return struct.pack("<B3sB3sII", status, chs_beyond, part.type_id, chs_beyond, start, count)


def _sparse_copy(image: Path, out: BinaryIO) -> None:
    """Copy `image` at out's position, seeking over all-zero chunks (the disk is sparse)."""
    zero = bytes(COPY_CHUNK)
    with open(image, "rb") as src:
        while chunk := src.read(COPY_CHUNK):
            if chunk == zero[: len(chunk)]:
                out.seek(len(chunk), os.SEEK_CUR)
            else:
                out.write(chunk)


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit
