"""The built-in bootable test image, made only from Debian packages on this host.

    python -m overcast.images.testimage OUT_DIR      (or: overcast image build-test)

A small disk image in the spirit of CirrOS that boots like any cloud image, through its own
boot loader: an MBR disk whose one partition (FAT, bootable) holds SYSLINUX, the Debian cloud
kernel and a busybox initramfs. Ingredients (apt): linux-image-cloud-amd64 (kernel and virtio
modules), busybox-static (the whole userland), dropbear-bin (SSH), syslinux, syslinux-common,
mtools, dosfstools (boot partition and loader) and qemu-utils (qemu-img). Output, with FP the
build's fingerprint (disks of earlier builds are kept: overlays may be backed by them):

    OUT_DIR/disk-FP.qcow2    the bootable disk
    OUT_DIR/image.json       manifest: disk path and format, login user, fingerprint

The guest runs from its initramfs (guestinit.py has its scripts): DHCP on eth0, the SSH key
and user data from the metadata service at 169.254.169.254 or else from a config drive
(label config-2), dropbear on port 22, "overcast-testimage: booted, ..." on the serial
console, then user data that starts with "#!". The ACPI power button powers it off;
ctrl-alt-del reboots it.

Nothing is mounted and nothing needs root; the build is skipped while the inputs are unchanged.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, cast

from overcast.images import bootdisk, guestinit

BUILDER_VERSION = "2"
# Under TCG on a crowded host (a boot storm) the emulated PIT/HPET tick late or in bursts while
# the kernel measures against them at boot, and two of those measurements then go wrong:
# no_timer_check: the "does IRQ0 tick?" test fails, and the kernel reroutes the timer through
#   the 8259A or LINT0, or panics ("IO-APIC + timer doesn't work"); QEMU wires IRQ0 to the
#   IO-APIC correctly, so the test only hurts.
# tsc=unstable: the TSC rate measured against the PIT can come out 8x too low; time kept by
#   that TSC runs fast, and the timer wheel then stalls for long stretches (init sleeping,
#   idle CPU, a silent console). Time comes from the HPET instead, whose rate is exact.
KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet loglevel=3 no_timer_check tsc=unstable"
MANIFEST = "image.json"
BOOT_LABEL = "OVERCAST"
ELF_TOOLS = ("/usr/sbin/dropbear", "/usr/bin/dropbearkey")
BUSYBOX = "/bin/busybox"
MODULE_LISTS = {
    "etc/modules.boot": guestinit.BOOT_MODULES,
    "etc/modules.config-drive": guestinit.CONFIG_DRIVE_MODULES,
}
BUILD_STEPS = ("initramfs", "boot partition", "disk", "qcow2")
# Called with (steps done, steps in all, what comes next) while building.
Progress = Callable[[int, int, str], None]


class CpioWriter:
    """Writes a "newc" cpio archive (the initramfs format) with root-owned entries."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._ino = 1
        self._dirs: set[str] = set()

    def __enter__(self) -> CpioWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._entry("TRAILER!!!", 0, b"", nlink=1)

    def add_dir(self, path: str, perm: int = 0o755) -> None:
        if path not in self._dirs:
            self._parents(path)
            self._dirs.add(path)
            self._entry(path, stat.S_IFDIR | perm, b"", nlink=2)

    def add_file(self, path: str, data: bytes, perm: int) -> None:
        self._parents(path)
        self._entry(path, stat.S_IFREG | perm, data)

    def add_symlink(self, path: str, target: str) -> None:
        self._parents(path)
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def add_device(self, path: str, perm: int, major: int, minor: int) -> None:
        self._parents(path)
        self._entry(path, stat.S_IFCHR | perm, b"", rdev=(major, minor))

    def _parents(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent:
            self.add_dir(parent)

    def _entry(
        self, name: str, mode: int, data: bytes, nlink: int = 1, rdev: tuple[int, int] = (0, 0)
    ) -> None:
        encoded = name.encode() + b"\0"
        fields = (
            self._ino,
            mode,
            0,
            0,
            nlink,
            0,
            len(data),
            0,
            0,
            rdev[0],
            rdev[1],
            len(encoded),
            0,
        )
        self._ino += 1
        header = b"070701" + b"".join(b"%08x" % f for f in fields)
        self._out.write(header + encoded + _pad(len(header) + len(encoded)))
        self._out.write(data + _pad(len(data)))


def _pad(length: int) -> bytes:
    return b"\0" * (-length % 4)


class ImageBuildError(RuntimeError):
    """The host lacks something the test image is built from."""


def find_kernel(boot: Path = Path("/boot")) -> tuple[str, Path]:
    """The newest installed cloud kernel: (release, vmlinuz path)."""
    kernels = sorted(boot.glob("vmlinuz-*-cloud-amd64"), key=_version_key)
    if not kernels:
        raise ImageBuildError("no /boot/vmlinuz-*-cloud-amd64 (install linux-image-cloud-amd64)")
    newest = kernels[-1]
    return newest.name.removeprefix("vmlinuz-"), newest


def _version_key(path: Path) -> list[int | str]:
    parts = path.name.removeprefix("vmlinuz-").replace("-", ".").split(".")
    return [int(p) if p.isdigit() else p for p in parts]


def module_closure(release: str, wanted: tuple[str, ...]) -> list[str]:
    """Relative .ko paths for `wanted` plus their dependencies, dependencies first."""
    moddir = Path("/lib/modules") / release
    deps: dict[str, list[str]] = {}
    for line in (moddir / "modules.dep").read_text().splitlines():
        target, _, rest = line.partition(":")
        deps[target] = rest.split()
    by_name = {Path(p).name.removesuffix(".ko"): p for p in deps}
    order: list[str] = []

    def visit(path: str) -> None:
        if path in order:
            return
        for dep in reversed(deps[path]):
            visit(dep)
        order.append(path)

    for name in wanted:
        if name not in by_name:
            raise ImageBuildError(f"kernel {release} has no module {name}")
        visit(by_name[name])
    return order


def shared_libraries(binaries: tuple[str, ...]) -> list[str]:
    """The shared objects (and the dynamic loader) `binaries` need, as host paths."""
    libs: set[str] = set()
    for binary in binaries:
        if not os.path.exists(binary):
            raise ImageBuildError(f"{binary} is missing (install dropbear-bin)")
        out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            words = line.split()
            if "=>" in words and len(words) > 2 and words[2].startswith("/"):
                libs.add(words[2])
            elif words and words[0].startswith("/"):
                libs.add(words[0])
    return sorted(libs)


def inputs(release: str, vmlinuz: Path) -> list[str]:
    try:
        bootdisk.check_tools()
    except bootdisk.DiskBuildError as exc:
        raise ImageBuildError(str(exc)) from exc
    if not os.path.exists(BUSYBOX):
        raise ImageBuildError(f"{BUSYBOX} is missing (install busybox-static)")
    wanted = [m for mods in MODULE_LISTS.values() for m in mods]
    mods = [f"/lib/modules/{release}/{m}" for m in module_closure(release, tuple(wanted))]
    loader = [p for p in (*bootdisk.MBR_BOOT_CODE, Path(shutil.which("syslinux") or "")) if
              p.is_file()]
    return [str(vmlinuz), BUSYBOX, *ELF_TOOLS, *shared_libraries(ELF_TOOLS), *mods,
            *map(str, loader)]


def fingerprint(paths: list[str]) -> str:
    """Changes when any input file or the builder's code changes."""
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    for module in (__file__, guestinit.__file__, bootdisk.__file__):
        digest.update(Path(module).read_bytes())
    for path in paths:
        st = os.stat(path)
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def write_initrd(dest: Path, release: str) -> None:
    with gzip.open(dest, "wb", compresslevel=6) as raw, \
            CpioWriter(cast(BinaryIO, raw)) as cpio:
        _add_skeleton(cpio)
        _add_busybox(cpio)
        for tool in ELF_TOOLS:
            cpio.add_file(tool.lstrip("/"), Path(tool).read_bytes(), 0o755)
        for lib in shared_libraries(ELF_TOOLS):
            cpio.add_file(lib.lstrip("/"), Path(lib).read_bytes(), 0o755)
        loaded: set[str] = set()
        for list_path, wanted in MODULE_LISTS.items():
            modules = module_closure(release, wanted)
            for mod in modules:
                if mod not in loaded:
                    data = Path(f"/lib/modules/{release}/{mod}").read_bytes()
                    cpio.add_file(f"lib/modules/{Path(mod).name}", data, 0o644)
                    loaded.add(mod)
            order = "".join(f"{Path(m).name}\n" for m in modules)
            cpio.add_file(list_path, order.encode(), 0o644)
        for path, (text, mode) in guestinit.GUEST_FILES.items():
            cpio.add_file(path, text.encode(), mode)


def _add_skeleton(cpio: CpioWriter) -> None:
    for d in guestinit.DIRECTORIES:
        cpio.add_dir(d, 0o700 if d in ("root", "root/.ssh") else 0o755)
    cpio.add_dir("tmp", 0o1777)
    cpio.add_device("dev/console", 0o600, major=5, minor=1)
    cpio.add_device("dev/null", 0o666, major=1, minor=3)
    cpio.add_symlink("init", "bin/busybox")


def _add_busybox(cpio: CpioWriter) -> None:
    cpio.add_file("bin/busybox", Path(BUSYBOX).read_bytes(), 0o755)
    applets = subprocess.run(
        [BUSYBOX, "--list-full"], check=True, capture_output=True, text=True
    ).stdout.split()
    for applet in applets:
        if applet != "bin/busybox" and not applet.startswith("usr/sbin/dropbear"):
            depth = applet.count("/")
            cpio.add_symlink(applet, "../" * depth + "bin/busybox")


def write_disk(dest: Path, work: Path, vmlinuz: Path, release: str, progress: Progress) -> None:
    """The bootable qcow2 disk: MBR, then a FAT partition with SYSLINUX, kernel and initramfs."""
    total = len(BUILD_STEPS)
    progress(0, total, BUILD_STEPS[0])
    write_initrd(work / "initrd.gz", release)
    progress(1, total, BUILD_STEPS[1])
    config = bootdisk.syslinux_config("vmlinuz", "initrd.gz", KERNEL_CMDLINE)
    files = {"vmlinuz": vmlinuz, "initrd.gz": work / "initrd.gz"}
    try:
        bootdisk.make_boot_partition(work / "boot.fat", BOOT_LABEL, files, config)
        progress(2, total, BUILD_STEPS[2])
        bootdisk.assemble(work / "disk.raw", [
            bootdisk.Partition(work / "boot.fat", bootdisk.FAT16_LBA, bootable=True)])
        progress(3, total, BUILD_STEPS[3])
        bootdisk.to_qcow2(work / "disk.raw", dest)
    except bootdisk.DiskBuildError as exc:
        raise ImageBuildError(str(exc)) from exc
    progress(total, total, "done")


@contextmanager
def build_lock(out_dir: Path) -> Iterator[None]:
    """One build at a time in `out_dir`, across processes."""
    with open(out_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _up_to_date(out_dir: Path, stamp: str) -> bool:
    try:
        manifest = json.loads((out_dir / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    disk = manifest.get("disk_path")
    return manifest.get("fingerprint") == stamp and bool(disk) and Path(disk).exists()


def build(out_dir: Path, release: str, vmlinuz: Path, stamp: str,
          progress: Progress | None = None) -> dict[str, object]:
    """Write the disk under a name carrying the fingerprint, then the manifest.

    Disks of earlier builds stay: instances' disks are overlays backed by them, and the cloud
    may have registered their paths.
    """
    disk = out_dir / f"disk-{stamp}.qcow2"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        work = Path(tmp)
        write_disk(work / disk.name, work, vmlinuz, release, progress or _quiet)
        os.replace(work / disk.name, disk)
    manifest: dict[str, object] = {
        "name": "overcast-testimage",
        "kernel_release": release,
        "disk_path": str(disk),
        "disk_format": "qcow2",
        "boot": "syslinux",
        "kernel_path": None,
        "ramdisk_path": None,
        "kernel_cmdline": "",
        "ssh_user": "root",
        "boot_line": guestinit.BOOT_LINE,
        "fingerprint": stamp,
    }
    tmp_manifest = out_dir / (MANIFEST + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp_manifest, out_dir / MANIFEST)
    return manifest


def _quiet(done: int, total: int, what: str) -> None:
    return None


def ensure_test_image(out_dir: str | os.PathLike[str], progress: Progress | None = None) -> Path:
    """Build the test image into `out_dir` unless it is up to date; return the manifest path."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    release, vmlinuz = find_kernel()
    stamp = fingerprint(inputs(release, vmlinuz))
    with build_lock(out):
        if not _up_to_date(out, stamp):
            build(out, release, vmlinuz, stamp, progress)
    return out / MANIFEST


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m overcast.images.testimage OUT_DIR", file=sys.stderr)
        return 2
    try:
        print(ensure_test_image(args[0]))
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
