"""Bootable disks made without mounting: what other tools (mtools, blkid) find in them."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from overcast.images import bootdisk
from overcast.images.debian import DEFAULT_MIRROR, apt_mirror

needs_tools = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("mkfs.fat", "syslinux", "mcopy", "blkid", "mkfs.ext4")),
    reason="needs dosfstools, syslinux, mtools, util-linux, e2fsprogs")


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


@needs_tools
def test_two_partition_disk_as_other_tools_see_it(tmp_path: Path) -> None:
    kernel, initrd = tmp_path / "kernel", tmp_path / "initrd"
    kernel.write_bytes(b"K" * 300_000)
    initrd.write_bytes(b"I" * 5000)
    config = bootdisk.syslinux_config("vmlinuz", "initrd.img", "root=LABEL=r console=ttyS0")
    boot = tmp_path / "boot.fat"
    bootdisk.make_boot_partition(boot, "testboot", {"vmlinuz": kernel, "initrd.img": initrd},
                                 config)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "hello").write_text("root fs\n")
    root = tmp_path / "root.ext4"
    run("mkfs.ext4", "-q", "-L", "r", "-d", str(tree), str(root), "8M")
    disk = tmp_path / "disk.raw"
    bootdisk.assemble(disk, [bootdisk.Partition(boot, bootdisk.FAT16_LBA, bootable=True),
                             bootdisk.Partition(root, bootdisk.LINUX)])

    raw = disk.read_bytes()
    assert raw[:440] == bootdisk.mbr_boot_code()[:440] and raw[510:512] == b"\x55\xaa"
    entries = [struct.unpack("<B3sB3sII", raw[446 + 16 * i: 462 + 16 * i]) for i in range(2)]
    (flag1, _, type1, _, start1, count1), (flag2, _, type2, _, start2, count2) = entries
    assert (flag1, type1, start1) == (0x80, 0x0E, 2048) and (flag2, type2) == (0, 0x83)
    assert start2 == start1 + count1 and start2 % 2048 == 0
    assert len(raw) == (start2 + count2) * 512

    fat = f"{disk}@@{start1 * 512}"
    listing = run("mdir", "-a", "-b", "-i", fat, "::")
    for name in ("::/vmlinuz", "::/initrd.img", "::/syslinux.cfg", "::/ldlinux.sys"):
        assert name in listing.split()
    assert run("mtype", "-i", fat, "::syslinux.cfg") == config
    assert run("mtype", "-i", fat, "::vmlinuz") == "K" * 300_000
    probe_root = run("blkid", "-p", "-O", str(start2 * 512), "-o", "export", str(disk))
    assert "LABEL=r" in probe_root.split() and "TYPE=ext4" in probe_root.split()
    probe_boot = run("blkid", "-p", "-O", str(start1 * 512), "-o", "export", str(disk))
    assert "LABEL=TESTBOOT" in probe_boot.split()


def test_more_than_four_partitions_refused(tmp_path: Path) -> None:
    part = tmp_path / "p"
    part.write_bytes(b"x")
    with pytest.raises(bootdisk.DiskBuildError):
        bootdisk.assemble(tmp_path / "d", [bootdisk.Partition(part, bootdisk.LINUX)] * 5)


def test_missing_tool_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(bootdisk.DiskBuildError, match="install no-such-package"):
        bootdisk.run_tool(["/nonexistent/tool"], "no-such-package")


def test_apt_mirror_from_deb822_and_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n\n"
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n")
    assert apt_mirror(tmp_path) == "http://mirror.example/debian"
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [signed-by=/k.gpg] http://other.example/debian bookworm main\n")
    assert apt_mirror(tmp_path) == "http://other.example/debian"
    assert apt_mirror(tmp_path / "missing") == DEFAULT_MIRROR
