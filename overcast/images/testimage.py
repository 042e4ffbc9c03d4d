"""The built-in bootable test image, made only from Debian packages on this host.

    python -m overcast.images.testimage OUT_DIR

Ingredients (apt): linux-image-cloud-amd64 (kernel + virtio modules), busybox-static (the whole
userland), dropbear-bin (SSH), e2fsprogs (mkfs.ext4 -d) and qemu-utils (qemu-img). Output, with
FP the build's fingerprint (files of earlier builds are kept: overlays may be backed by them):

    OUT_DIR/vmlinuz-FP       the cloud kernel
    OUT_DIR/initrd-FP.gz     a gzipped newc cpio: busybox, dropbear, modules, our init scripts
    OUT_DIR/disk-FP.qcow2    a small ext4 data disk (the guest mounts it on /mnt/disk)
    OUT_DIR/image.json       manifest: paths, disk format, kernel command line, fingerprint

The guest is a pure initramfs system; it boots without the disk too. Its init brings eth0 up
with DHCP, fetches the SSH key and user data from http://169.254.169.254/, runs user data that
starts with "#!", starts dropbear on port 22 and prints "overcast-testimage: booted, ip=..." to
the serial console. The ACPI power button powers it off; ctrl-alt-del reboots it.

Nothing needs root mounts; the build is skipped while the inputs have not changed.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

BUILDER_VERSION = "1"
KERNEL_CMDLINE = "console=ttyS0 panic=-1 quiet loglevel=3"
MANIFEST = "image.json"
DISK_MIB = 32
WANTED_MODULES = (
    "virtio_pci",
    "virtio_net",
    "virtio_blk",
    "virtio-rng",
    "button",
    "evdev",
)
ELF_TOOLS = ("/usr/sbin/dropbear", "/usr/bin/dropbearkey")
BUSYBOX = "/bin/busybox"

DIRECTORIES = (
    "bin",
    "sbin",
    "usr",
    "usr/bin",
    "usr/sbin",
    "lib",
    "lib64",
    "lib/modules",
    "etc",
    "etc/dropbear",
    "etc/acpi",
    "etc/acpi/PWRF",
    "proc",
    "sys",
    "dev",
    "run",
    "mnt",
    "var",
    "var/log",
    "root",
    "root/.ssh",
)

RC_BOOT = """#!/bin/sh
# overcast test image: one-shot boot script run by busybox init (::sysinit)
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
say() { echo "overcast-testimage: $*" > /dev/console; }
# fetch URL FILE. busybox 1.35's static wget crashes with -T (and -q): bound it with
# timeout instead. After one failure to connect, stop trying: there is no metadata service.
MD_UP=yes
fetch() {
    [ "$MD_UP" = yes ] || return 1
    out=$(timeout 10 wget -O "$2" "$1" 2>&1) && return 0
    case "$out" in *"server returned error"*) ;; *) MD_UP=no ;; esac
    return 1
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
while read -r mod; do insmod "/lib/modules/$mod" 2>/dev/null; done < /etc/modules.order
hostname -F /etc/hostname
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do usleep 100000; n=$((n+1)); done
udhcpc -i eth0 -s /etc/udhcpc.script -q -f -n -t 5 -T 1 >/dev/null 2>&1 || say "dhcp failed"
IP=$(cat /run/ip 2>/dev/null)
DISK=none
if [ -b /dev/vda ]; then
    mkdir -p /mnt/disk
    mount -t ext4 /dev/vda /mnt/disk 2>/dev/null && DISK="vda:$(cat /sys/block/vda/size)"
fi
MD=http://169.254.169.254:80/latest
KEYS=none
if fetch "$MD/meta-data/public-keys/0/openssh-key" /run/openssh-key; then
    cat /run/openssh-key >> /root/.ssh/authorized_keys && KEYS=installed
fi
chmod 600 /root/.ssh/authorized_keys 2>/dev/null
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
dropbear -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /run/dropbear.pid
acpid -c /etc/acpi
say "booted, ip=${IP:-none} disk=$DISK ssh-key=$KEYS uptime=$(cut -d" " -f1 /proc/uptime)"
if fetch "$MD/user-data" /run/user-data && [ "$(head -c 2 /run/user-data)" = "#!" ]
then
    chmod 700 /run/user-data
    ( /run/user-data > /dev/console 2>&1; say "user-data exit=$?" ) &
fi
"""

RC_SHUTDOWN = """#!/bin/sh
echo "overcast-testimage: shutting down" > /dev/console
kill "$(cat /run/dropbear.pid 2>/dev/null)" 2>/dev/null
umount /mnt/disk 2>/dev/null
sync
"""

UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc calls this with deconfig|bound|renew|leasefail|nak; busybox-static ships none
case "$1" in
deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
        set -- $router
        # the offered netmask can be 0.0.0.0: reach the router by a host route first
        ip route replace "$1" dev "$interface"
        ip route replace default via "$1" dev "$interface"
    else
        # no router (Overcast's restricted user network): everything is on-link
        ip route replace default dev "$interface"
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "$ip" > /run/ip
    ;;
esac
exit 0
"""

INITTAB = """::sysinit:/etc/rc.boot
::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/rc.shutdown
"""

POWER_BUTTON = """#!/bin/sh
echo "overcast-testimage: power button pressed" > /dev/console
poweroff
"""

GUEST_FILES: dict[str, tuple[str, int]] = {
    "etc/inittab": (INITTAB, 0o644),
    "etc/rc.boot": (RC_BOOT, 0o755),
    "etc/rc.shutdown": (RC_SHUTDOWN, 0o755),
    "etc/udhcpc.script": (UDHCPC_SCRIPT, 0o755),
    "etc/acpi/PWRF/00000080": (POWER_BUTTON, 0o755),
    "etc/passwd": ("root:x:0:0:root:/root:/bin/sh\n", 0o644),
    "etc/shadow": ("root:*:19000:0:99999:7:::\n", 0o600),
    "etc/group": ("root:x:0:\n", 0o644),
    "etc/shells": ("/bin/sh\n", 0o644),
    "etc/nsswitch.conf": ("passwd: files\ngroup: files\nshadow: files\n", 0o644),
    "etc/hostname": ("overcast-test\n", 0o644),
    "root/.ssh/authorized_keys": ("", 0o600),
}


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
    for tool in ("mkfs.ext4", "qemu-img"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            raise ImageBuildError(f"{tool} is missing (install e2fsprogs, qemu-utils)")
    if not os.path.exists(BUSYBOX):
        raise ImageBuildError(f"{BUSYBOX} is missing (install busybox-static)")
    mods = [f"/lib/modules/{release}/{m}" for m in module_closure(release, WANTED_MODULES)]
    return [str(vmlinuz), BUSYBOX, *ELF_TOOLS, *shared_libraries(ELF_TOOLS), *mods]


def fingerprint(paths: list[str]) -> str:
    """Changes when any input file or this builder changes."""
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    digest.update(Path(__file__).read_bytes())
    for path in paths:
        st = os.stat(path)
        digest.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def write_initrd(dest: Path, release: str) -> None:
    modules = module_closure(release, WANTED_MODULES)
    with gzip.open(dest, "wb", compresslevel=6) as raw, CpioWriter(raw) as cpio:
        _add_skeleton(cpio)
        _add_busybox(cpio)
        for tool in ELF_TOOLS:
            cpio.add_file(tool.lstrip("/"), Path(tool).read_bytes(), 0o755)
        for lib in shared_libraries(ELF_TOOLS):
            cpio.add_file(lib.lstrip("/"), Path(lib).read_bytes(), 0o755)
        for mod in modules:
            data = Path(f"/lib/modules/{release}/{mod}").read_bytes()
            cpio.add_file(f"lib/modules/{Path(mod).name}", data, 0o644)
        order = "".join(f"{Path(m).name}\n" for m in modules)
        cpio.add_file("etc/modules.order", order.encode(), 0o644)
        for path, (text, mode) in GUEST_FILES.items():
            cpio.add_file(path, text.encode(), mode)


def _add_skeleton(cpio: CpioWriter) -> None:
    for d in DIRECTORIES:
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


def write_disk(dest: Path, workdir: Path) -> None:
    """A small ext4 filesystem made from a directory (no mount), converted to qcow2."""
    tree = workdir / "disk-tree"
    tree.mkdir()
    (tree / "OVERCAST-TEST-DISK").write_text("overcast test image data disk\n")
    raw = workdir / "disk.raw"
    _run(
        ["mkfs.ext4", "-q", "-F", "-L", "overcast-data", "-d", str(tree), str(raw), f"{DISK_MIB}M"]
    )
    _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(dest)])


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True)
    except FileNotFoundError as exc:
        raise ImageBuildError(f"{argv[0]} is missing (install e2fsprogs, qemu-utils)") from exc
    except subprocess.CalledProcessError as exc:
        raise ImageBuildError(f"{argv[0]} failed: {exc.stderr.decode(errors='replace')}") from exc


@contextmanager
def _locked(out_dir: Path) -> Iterator[None]:
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
    wanted = [manifest.get("kernel_path"), manifest.get("ramdisk_path"), manifest.get("disk_path")]
    return manifest.get("fingerprint") == stamp and all(p and Path(p).exists() for p in wanted)


def build(out_dir: Path, release: str, vmlinuz: Path, stamp: str) -> dict[str, object]:
    """Write the image files under names carrying the fingerprint, then the manifest.

    Files of earlier builds stay: instances' disks are overlays backed by them, and the cloud
    may have registered their paths.
    """
    names = {
        "kernel": f"vmlinuz-{stamp}",
        "ramdisk": f"initrd-{stamp}.gz",
        "disk": f"disk-{stamp}.qcow2",
    }
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        work = Path(tmp)
        shutil.copyfile(vmlinuz, work / names["kernel"])
        write_initrd(work / names["ramdisk"], release)
        write_disk(work / names["disk"], work)
        for name in names.values():
            os.replace(work / name, out_dir / name)
    manifest: dict[str, object] = {
        "name": "overcast-testimage",
        "kernel_release": release,
        "kernel_path": str(out_dir / names["kernel"]),
        "ramdisk_path": str(out_dir / names["ramdisk"]),
        "disk_path": str(out_dir / names["disk"]),
        "disk_format": "qcow2",
        "kernel_cmdline": KERNEL_CMDLINE,
        "ssh_user": "root",
        "boot_line": "overcast-testimage: booted",
        "fingerprint": stamp,
    }
    tmp_manifest = out_dir / (MANIFEST + ".tmp")
    tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp_manifest, out_dir / MANIFEST)
    return manifest


def ensure_test_image(out_dir: str | os.PathLike[str]) -> Path:
    """Build the test image into `out_dir` unless it is up to date; return the manifest path."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    release, vmlinuz = find_kernel()
    stamp = fingerprint(inputs(release, vmlinuz))
    with _locked(out):
        if not _up_to_date(out, stamp):
            build(out, release, vmlinuz, stamp)
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
