"""The QEMU process of one instance: its command line, launch, and recognition after restarts.

QEMU runs under a tiny detached shell in its own session; the shell waits for QEMU and writes
its exit status to `exit-status`, so the driver can tell a guest that shut itself down (status
0) from a QEMU that was killed or failed. The shell's parent exits at once, so neither survives
as a child of the controller and both outlive it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from overcast.drivers.base import DriverError, LaunchSpec
from overcast.drivers.qemu import network, volumes
from overcast.drivers.qemu.layout import InstanceDir

# $1: status file, $2: this run's id (a late writer from an earlier run is then recognizable)
SUPERVISE = 'f=$1; run=$2; shift 2; ( "$@"; echo "$run $?" > "$f.$run"; mv "$f.$run" "$f" ) &'
LOG_TAIL = 2000
SMBIOS_PRODUCT = "OpenStack Nova"


@dataclass(frozen=True)
class QemuConfig:
    binary: str
    accel: str  # "kvm" or "tcg"
    # The metadata relay key (overcast/metadata/relayauth.py); None: guests get no metadata.
    relay_key_file: Path | None = None


def build_argv(cfg: QemuConfig, spec: LaunchSpec, inst: InstanceDir) -> list[str]:
    argv = [
        cfg.binary,
        "-name",
        f"guest={spec.name}",
        "-nodefaults",
        "-no-user-config",
        "-machine",
        "pc",
        "-accel",
        cfg.accel,
        "-cpu",
        "host" if cfg.accel == "kvm" else "qemu64",
        "-smp",
        str(spec.vcpus),
        "-m",
        str(spec.memory_mib),
        "-display",
        "none",
        "-pidfile",
        str(inst.pidfile),
        "-chardev",
        f"socket,id=qmp,path={inst.qmp_socket},server=on,wait=off",
        "-mon",
        "chardev=qmp,mode=control",
        "-chardev",
        f"file,id=console,path={inst.console_log},append=on",
        "-serial",
        "chardev:console",
        "-drive",
        f"file={inst.disk},format=qcow2,if=virtio,cache=writeback",
        "-device",
        "virtio-rng-pci",
        # What Nova tells guests: cloud-init then looks for the OpenStack metadata service.
        "-smbios",
        f"type=1,manufacturer=Overcast,product={SMBIOS_PRODUCT},serial={spec.name}",
        "-netdev",
        network.netdev_arg(spec.name, spec.network, spec.metadata_endpoint, cfg.relay_key_file),
        "-device",
        network.nic_arg(spec.network),
    ]
    argv += volumes.argv(spec.volumes)
    if spec.config_drive is not None:
        # An IDE CD-ROM, as OpenStack attaches config drives; guests find it by its label.
        argv += ["-drive", f"file={inst.config_drive},format=raw,if=ide,index=1,media=cdrom,"
                 "readonly=on"]
    image = spec.image
    if image.kernel_path:
        argv += ["-kernel", image.kernel_path, "-append", image.kernel_cmdline]
        if image.ramdisk_path:
            argv += ["-initrd", image.ramdisk_path]
    else:
        argv += ["-boot", "order=c,strict=on"]  # the image's own boot loader, from its disk
    return argv


def spawn(argv: list[str], inst: InstanceDir) -> None:
    """Start QEMU detached, with stderr going to qemu.log."""
    run_id = str(time.time_ns())
    inst.run_id_file.write_text(run_id)
    with open(inst.qemu_log, "ab") as log:
        shell = subprocess.Popen(
            ["/bin/sh", "-c", SUPERVISE, "overcast-qemu", str(inst.exit_file), run_id, *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            cwd=inst.path,
            close_fds=True,
        )
    shell.wait()


def read_pid(inst: InstanceDir) -> int | None:
    try:
        return int(inst.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def is_our_qemu(pid: int, inst: InstanceDir) -> bool:
    """Alive, not a zombie, a qemu-system binary, and started with this instance's pidfile."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[0] in ("Z", "X"):
        return False
    exe = os.path.basename(cmdline[0].decode(errors="replace"))
    return exe.startswith("qemu-system") and str(inst.pidfile).encode() in cmdline


def running_pid(inst: InstanceDir) -> int | None:
    pid = read_pid(inst)
    return pid if pid is not None and is_our_qemu(pid, inst) else None


def wait_gone(pid: int, inst: InstanceDir, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while is_our_qemu(pid, inst):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def kill(pid: int, inst: InstanceDir, timeout: float = 10.0) -> None:
    if not is_our_qemu(pid, inst):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if not wait_gone(pid, inst, timeout):
        raise DriverError(f"qemu {pid} of {inst.name} did not die")


def exit_status(inst: InstanceDir) -> int | None:
    """QEMU's exit status for the latest run, None while unknown."""
    try:
        run_id, status = inst.exit_file.read_text().split()
        current = inst.run_id_file.read_text().strip()
        return int(status) if run_id == current else None
    except (OSError, ValueError):
        return None


def wait_exit_status(inst: InstanceDir, grace: float) -> int | None:
    """The exit status, waiting up to `grace` seconds for it to be written."""
    deadline = time.monotonic() + grace
    status = exit_status(inst)
    while status is None and time.monotonic() < deadline:
        time.sleep(0.05)
        status = exit_status(inst)
    return status


def log_tail(inst: InstanceDir) -> str:
    try:
        data = inst.qemu_log.read_bytes()[-LOG_TAIL:]
    except OSError:
        return ""
    return data.decode(errors="replace").strip()


def describe_exit(status: int | None) -> str:
    if status is None:
        return "qemu is gone and left no exit status (host restarted or supervisor killed?)"
    if status > 128:
        try:
            name = signal.Signals(status - 128).name
        except ValueError:
            name = f"signal {status - 128}"
        return f"qemu was killed by {name}"
    return f"qemu exited with status {status}"
