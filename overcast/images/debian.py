"""A minimal Debian 12 cloud image with cloud-init, to prove that real cloud images work.

    python -m overcast.images.debian OUT_DIR      (needs root: debootstrap chroots)

debootstrap (minbase) installs systemd, the Debian cloud kernel, openssh-server, cloud-init and
ifupdown with a DHCP client from the mirror apt uses on this host; the tree gets an fstab, a
cloud-init configuration and no SSH host keys (cloud-init makes them per instance). The disk
is built like the test image's (bootdisk.py), nothing mounted: partition 1 is FAT with
SYSLINUX, the kernel and the initramfs that Debian generated in the tree; partition 2 is the
root file system, made by `mkfs.ext4 -d` from the tree. The guest boots through SYSLINUX from
its own disk; Debian's initramfs mounts the root by its label.

cloud-init finds its data on a config drive (label config-2) or, when the hypervisor says it
is OpenStack (Overcast's QEMU driver does, by SMBIOS), at the OpenStack metadata service.
The login user is cloud-init's default on Debian, `debian`.

The result is cached under OUT_DIR (disk-FP.qcow2 and image.json) and rebuilt only when this
builder changes; downloaded packages are kept in OUT_DIR/debs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from overcast.images import bootdisk
from overcast.images.testimage import build_lock

BUILDER_VERSION = "1"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
# debootstrap does not resolve virtual packages: python3-cryptography needs the cffi backend
# named explicitly.
PACKAGES = ("systemd-sysv", "linux-image-cloud-amd64", "openssh-server", "cloud-init",
            "ifupdown", "isc-dhcp-client", "netbase", "python3-cffi-backend")
ROOT_LABEL = "debian-root"
BOOT_LABEL = "DEBIANBOOT"
# no_timer_check tsc=unstable: under TCG, and most of all in a boot storm, the IRQ0 check and
# the PIT-based TSC calibration misfire and can leave a guest with stalled timers
KERNEL_CMDLINE = (f"root=LABEL={ROOT_LABEL} ro console=ttyS0 net.ifnames=0 no_timer_check "
                  "tsc=unstable")
SSH_USER = "debian"
MANIFEST = "image.json"
ROOT_SLACK_BYTES = 384 * 1024 * 1024
STEPS = ("debootstrap", "configure", "root file system", "boot partition", "disk", "qcow2")
Progress = Callable[[int, int, str], None]

CLOUD_CFG = """# Overcast's Debian test image
datasource_list: [ConfigDrive, OpenStack, None]
ssh_genkeytypes: [ed25519]
locale: false  # no locales package: keep C.UTF-8 instead of generating en_US.UTF-8
"""
GUEST_FILES: dict[str, str] = {
    "etc/fstab": f"LABEL={ROOT_LABEL} / ext4 errors=remount-ro 0 1\n",
    "etc/hostname": "debian\n",
    "etc/hosts": "127.0.0.1 localhost\n127.0.1.1 debian\n",
    "etc/network/interfaces": "source /etc/network/interfaces.d/*\n\n"
                              "auto lo\niface lo inet loopback\n",
    "etc/cloud/cloud.cfg.d/90-overcast.cfg": CLOUD_CFG,
    "etc/machine-id": "",  # made at first boot, per instance
}


class ImageBuildError(RuntimeError):
    """The Debian image cannot be built here (no root, no debootstrap, no mirror...)."""


def apt_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this host's apt uses for the main archive (not security)."""
    sources = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for uri, suites in _source_entries(text, path.suffix == ".sources"):
            if SUITE in suites and "security" not in uri and "/debian" in uri:
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def _source_entries(text: str, deb822: bool) -> Iterator[tuple[str, list[str]]]:
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", stanza, re.MULTILINE))
            if "deb" in fields.get("Types", "").split() and fields.get("Enabled") != "no":
                for uri in fields.get("URIs", "").split():
                    yield uri, fields.get("Suites", "").split()
        return
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            yield words[1], [words[2]]


def fingerprint() -> str:
    digest = hashlib.sha256(BUILDER_VERSION.encode())
    for module in (__file__, bootdisk.__file__):
        digest.update(Path(module).read_bytes())
    return digest.hexdigest()[:16]


def check_host() -> None:
    if os.geteuid() != 0:
        raise ImageBuildError("debootstrap needs root")
    if shutil.which("debootstrap") is None and not os.path.exists("/usr/sbin/debootstrap"):
        raise ImageBuildError("debootstrap is missing (install debootstrap)")
    try:
        bootdisk.check_tools()
    except bootdisk.DiskBuildError as exc:
        raise ImageBuildError(str(exc)) from exc


def debootstrap(root: Path, cache: Path, mirror: str) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
            f"--cache-dir={cache}", SUITE, str(root), mirror]
    env = {**os.environ, "LC_ALL": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive"}
    env["PATH"] = env.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
    finally:
        _unmount_below(root)
    if done.returncode != 0:
        log = root / "debootstrap" / "debootstrap.log"
        tail = log.read_text(errors="replace")[-1500:] if log.exists() else done.stderr[-1500:]
        raise ImageBuildError(f"debootstrap failed ({done.returncode}): {tail}")


def _unmount_below(root: Path) -> None:
    """Take down anything debootstrap left mounted in the tree (so cleaning up is safe)."""
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def configure(root: Path) -> None:
    for path, text in GUEST_FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    shutil.rmtree(root / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    (root / "var" / "lib" / "apt" / "lists" / "partial").mkdir(parents=True)
    shutil.rmtree(root / "debootstrap", ignore_errors=True)


def boot_files(root: Path) -> dict[str, Path]:
    kernels = sorted((root / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise ImageBuildError("debootstrap installed no kernel")
    release = kernels[-1].name.removeprefix("vmlinuz-")
    initrd = root / "boot" / f"initrd.img-{release}"
    if not initrd.exists():
        raise ImageBuildError(f"no initramfs for {release} in the tree")
    return {"vmlinuz": kernels[-1], "initrd.img": initrd}


def make_root_fs(root: Path, dest: Path) -> None:
    used = int(subprocess.run(["du", "-sxb", str(root)], check=True, capture_output=True,
                              text=True).stdout.split()[0])
    size_mib = (used + used // 4 + ROOT_SLACK_BYTES) // bootdisk.MIB
    mkfs = shutil.which("mkfs.ext4") or "/usr/sbin/mkfs.ext4"
    bootdisk.run_tool([mkfs, "-q", "-F", "-L", ROOT_LABEL, "-d", str(root), str(dest),
                       f"{size_mib}M"], "e2fsprogs")


def build(out_dir: Path, stamp: str, progress: Progress) -> dict[str, object]:
    disk = out_dir / f"disk-{stamp}.qcow2"
    total = len(STEPS)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".build-") as tmp:
        work, root = Path(tmp), Path(tmp) / "root"
        try:
            progress(0, total, STEPS[0])
            debootstrap(root, out_dir / "debs", apt_mirror())
            progress(1, total, STEPS[1])
            configure(root)
            progress(2, total, STEPS[2])
            make_root_fs(root, work / "root.ext4")
            progress(3, total, STEPS[3])
            config = bootdisk.syslinux_config("vmlinuz", "initrd.img", KERNEL_CMDLINE)
            bootdisk.make_boot_partition(work / "boot.fat", BOOT_LABEL, boot_files(root), config)
            shutil.rmtree(root)
            progress(4, total, STEPS[4])
            bootdisk.assemble(work / "disk.raw", [
                bootdisk.Partition(work / "boot.fat", bootdisk.FAT16_LBA, bootable=True),
                bootdisk.Partition(work / "root.ext4", bootdisk.LINUX)])
            progress(5, total, STEPS[5])
            bootdisk.to_qcow2(work / "disk.raw", work / disk.name)
        except bootdisk.DiskBuildError as exc:
            raise ImageBuildError(str(exc)) from exc
        finally:
            _unmount_below(root)
        os.replace(work / disk.name, disk)
    for old in out_dir.glob("disk-*.qcow2"):  # a test cache: keep only the current disk
        if old != disk:
            old.unlink()
    progress(total, total, "done")
    return {"name": "debian-12-cloud-init", "disk_path": str(disk), "disk_format": "qcow2",
            "boot": "syslinux", "ssh_user": SSH_USER, "fingerprint": stamp}


def ensure_debian_image(out_dir: str | os.PathLike[str],
                        progress: Progress | None = None) -> Path:
    """Build the image into out_dir unless it is there already; return the manifest path."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    stamp = fingerprint()
    with build_lock(out):
        manifest = out / MANIFEST
        if not _up_to_date(manifest, stamp):
            check_host()
            data = build(out, stamp, progress or (lambda done, total, what: None))
            tmp = out / (MANIFEST + ".tmp")
            tmp.write_text(json.dumps(data, indent=2) + "\n")
            os.replace(tmp, manifest)
    return manifest


def _up_to_date(manifest: Path, stamp: str) -> bool:
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    return data.get("fingerprint") == stamp and Path(data.get("disk_path", "")).is_file()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m overcast.images.debian OUT_DIR", file=sys.stderr)
        return 2
    try:
        print(ensure_debian_image(args[0], lambda d, t, what: print(f"[{d}/{t}] {what}")))
    except ImageBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
