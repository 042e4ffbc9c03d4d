"""QemuDriver: one detached qemu-system-x86_64 per running instance, driven over QMP."""

from __future__ import annotations

import os
import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

from overcast.drivers.base import (
    USER_NETWORK,
    Capabilities,
    DriverError,
    HostCapacity,
    LaunchSpec,
    NetworkSpec,
    PowerState,
    VmStatus,
    VolumeDisk,
    in_network_mode,
)
from overcast.drivers.qemu import disks, network, power, process, qmp, volumes
from overcast.drivers.qemu.accel import ACCELS, choose_accel
from overcast.drivers.qemu.layout import InstanceDir
from overcast.metadata import configdrive

CONSOLE_TAIL = 64 * 1024
CONSOLE_KEEP = 1024 * 1024  # trim console.log at start once it grows past this
START_TIMEOUT = 15.0
EXIT_STATUS_GRACE = 1.0  # the supervising shell writes the status just after qemu ends
POWERDOWN_REPEAT = 3.0  # seconds between ACPI power button presses
DISK_DEVICE = "virtio0"  # QEMU's name for the first `-drive if=virtio`
SNAPSHOT_JOB = "overcast-snapshot"
SNAPSHOT_TIMEOUT = 1800.0


class QemuDriver:
    """Real VMs with QEMU. Knows nothing but state_dir; every call is idempotent."""

    name = "qemu"

    def __init__(
        self,
        state_dir: str,
        accel: str = "auto",
        qemu_binary: str = "qemu-system-x86_64",
        qemu_img: str = "qemu-img",
        reboot_timeout: float = 60.0,
        relay_key_file: Path | None = None,
        network_mode: str = USER_NETWORK,
    ) -> None:
        self.state_dir = Path(state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.accel_setting = accel
        self.qemu_binary = qemu_binary
        self.qemu_img = qemu_img
        self.reboot_timeout = reboot_timeout
        # What the metadata relays sign with: without it guests get no metadata service.
        self.relay_key_file = Path(relay_key_file).resolve() if relay_key_file else None
        self._accel: str | None = None
        self.network_mode = network_mode  # "kernel": guests get the tap their spec names
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        if accel not in ACCELS:
            raise DriverError(f"unknown accelerator {accel!r}; use auto, kvm or tcg")

    # -- protocol ---------------------------------------------------------------------------

    CAPABILITIES = Capabilities(console_output=True, reboot=True, live_network_update=True,
                                snapshot=True, loopback_public_ips=True, volumes=True,
                                pause=True, suspend=True)

    def capabilities(self) -> Capabilities:
        return in_network_mode(self.CAPABILITIES, self.network_mode)

    def capacity(self) -> HostCapacity:
        stat = os.statvfs(self.state_dir)
        return HostCapacity(
            vcpus=os.cpu_count() or 1,
            memory_mib=_mem_total_kib() // 1024,
            disk_gib=stat.f_bavail * stat.f_frsize // disks.GIB,
        )

    @property
    def accel(self) -> str:
        """The accelerator in use, resolved (and for auto, probed) on first need."""
        if self._accel is None:
            self._accel = choose_accel(self.accel_setting, self.qemu_binary)
        return self._accel

    def create(self, spec: LaunchSpec) -> None:
        network.validate(spec.network)
        inst = self._dir(spec.name)
        with self._lock(spec.name):
            if inst.exists():
                return
            self._make_disk_and_spec(spec, inst)
            self._start(inst)

    def start(self, name: str) -> None:
        inst = self._existing(name)
        with self._lock(name):
            if process.running_pid(inst) is None:
                self._start(inst)

    def stop(self, name: str, force: bool = False, timeout: float = 60.0) -> None:
        inst = self._existing(name)
        with self._lock(name):
            self._stop(inst, force, timeout)

    def reboot(self, name: str) -> None:
        """Soft reboot: ctrl-alt-del on the PS/2 keyboard; hard reset if the guest ignores it.

        Linux hands ctrl-alt-del to init (busybox init's ::ctrlaltdel:, systemd's
        ctrl-alt-del.target), which reboots cleanly. If no RESET event follows within
        reboot_timeout, the VM is reset like a power cycle, as EC2 does for stuck guests.
        """
        inst = self._existing(name)
        with self._lock(name):
            if process.running_pid(inst) is None:
                raise DriverError(f"instance {name} is not running")
            keys = {"keys": [{"type": "qcode", "data": k} for k in ("ctrl", "alt", "delete")]}
            sock = str(inst.qmp_socket)
            try:
                if not qmp.execute_and_wait(sock, "send-key", keys, "RESET", self.reboot_timeout):
                    qmp.execute(sock, "system_reset")
            except qmp.QmpFailure as exc:
                raise DriverError(f"reboot of {name} failed: {exc}") from exc

    def pause(self, name: str) -> None:
        inst = self._existing(name)
        with self._lock(name):
            power.pause(inst)

    def unpause(self, name: str) -> None:
        inst = self._existing(name)
        with self._lock(name):
            power.unpause(inst)

    def suspend(self, name: str) -> None:
        """See overcast/drivers/qemu/power.py; `start` restores."""
        inst = self._existing(name)
        with self._lock(name):
            power.suspend(inst)

    def destroy(self, name: str) -> None:
        inst = self._dir(name)
        with self._lock(name):
            if inst.path.exists():
                pid = process.running_pid(inst)
                if pid is not None:
                    inst.started_marker.unlink(missing_ok=True)
                    process.kill(pid, inst)
                    # the supervising shell writes the exit status into the directory as
                    # qemu dies: let it, or the removal races that write
                    process.wait_exit_status(inst, grace=5.0)
                shutil.rmtree(inst.path, ignore_errors=True)
            shutil.rmtree(self._staging(name), ignore_errors=True)
        with self._locks_guard:
            self._locks.pop(name, None)

    def list(self) -> dict[str, VmStatus]:
        found: dict[str, VmStatus] = {}
        for entry in sorted(self.state_dir.iterdir()):
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            try:
                inst = InstanceDir(self.state_dir, entry.name)
            except DriverError:
                continue
            if inst.exists():
                found[inst.name] = self._status(inst)
        return found

    def console_output(self, name: str) -> bytes:
        """The console's tail; nothing for a VM not made yet (a launch still pending)."""
        inst = self._dir(name)
        try:
            with open(inst.console_log, "rb") as log:
                log.seek(max(0, os.fstat(log.fileno()).st_size - CONSOLE_TAIL))
                return log.read(CONSOLE_TAIL)
        except FileNotFoundError:
            return b""

    def update_network(self, name: str, network_spec: NetworkSpec) -> None:
        network.validate(network_spec)
        inst = self._existing(name)
        with self._lock(name):
            spec = inst.load_spec()
            if network_spec.private_ip != spec.network.private_ip:
                raise DriverError("the private address of an instance cannot change")
            if process.running_pid(inst) is not None and spec.network.tap is None:
                self._apply_forwards(inst, spec.network, network_spec)
            inst.save_spec(replace(spec, network=network_spec))

    def snapshot(self, name: str, dest: str) -> None:
        """A running VM's disk is copied live by a backup job (crash-consistent, as after a
        power cut); a stopped one's is flattened by qemu-img. Either way the image has no
        backing file."""
        inst = self._existing(name)
        with self._lock(name):
            if process.running_pid(inst) is None:
                disks.flatten(self.qemu_img, str(inst.disk), dest)
                return
            args = {"device": DISK_DEVICE, "target": dest, "sync": "full", "format": "qcow2"}
            try:
                qmp.run_job(str(inst.qmp_socket), "drive-backup", args, SNAPSHOT_JOB,
                            SNAPSHOT_TIMEOUT)
            except qmp.QmpFailure as exc:
                raise DriverError(f"the image of {name} could not be written: {exc}") from exc

    def attach_volume(self, name: str, disk: VolumeDisk) -> None:
        """Hot-plugged into a running VM, and kept in its spec for every later start."""
        inst = self._existing(name)
        with self._lock(name):
            spec = inst.load_spec()
            others = tuple(v for v in spec.volumes if v.volume_id != disk.volume_id)
            if len(others) >= volumes.MAX_VOLUMES:
                raise DriverError(f"at most {volumes.MAX_VOLUMES} volumes per instance")
            if process.running_pid(inst) is not None:
                volumes.plug(str(inst.qmp_socket), disk)
            if disk not in spec.volumes:
                inst.save_spec(replace(spec, volumes=(*others, disk)))

    def detach_volume(self, name: str, volume_id: str, force: bool = False) -> None:
        """A running guest must let go first (see Driver.detach_volume)."""
        inst = self._dir(name)
        with self._lock(name):
            if not inst.exists():
                return
            spec = inst.load_spec()
            if process.running_pid(inst) is not None:
                volumes.unplug(str(inst.qmp_socket), volume_id)
            kept = tuple(v for v in spec.volumes if v.volume_id != volume_id)
            if kept != spec.volumes:
                inst.save_spec(replace(spec, volumes=kept))

    def resize_volume(self, name: str, volume_id: str, size_bytes: int) -> None:
        inst = self._existing(name)
        with self._lock(name):
            if process.running_pid(inst) is None:
                raise DriverError(f"instance {name} is not running")
            volumes.resize(str(inst.qmp_socket), volume_id, size_bytes)

    def snapshot_volume(self, name: str, volume_id: str, dest: str) -> None:
        """A backup job copies the attached volume live (crash-consistent)."""
        inst = self._existing(name)
        with self._lock(name):
            if process.running_pid(inst) is None:
                raise DriverError(f"instance {name} is not running")
            volumes.backup(str(inst.qmp_socket), volume_id, dest, SNAPSHOT_TIMEOUT)

    # -- helpers ----------------------------------------------------------------------------

    def _dir(self, name: str) -> InstanceDir:
        return InstanceDir(self.state_dir, name)

    def _existing(self, name: str) -> InstanceDir:
        inst = self._dir(name)
        if not inst.exists():
            raise DriverError(f"no instance {name} on this host")
        return inst

    def _staging(self, name: str) -> Path:
        return self.state_dir / f".{name}.creating"

    def _lock(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def _make_disk_and_spec(self, spec: LaunchSpec, inst: InstanceDir) -> None:
        """Build the instance in a hidden directory, then rename it into place."""
        inst.check_socket_path()
        staging = self._staging(spec.name)
        shutil.rmtree(staging, ignore_errors=True)
        if inst.path.exists():  # leftover without a spec: an interrupted create
            shutil.rmtree(inst.path)
        staging.mkdir()
        tmp = InstanceDir(self.state_dir, spec.name)
        tmp.path = staging
        image = spec.image
        if image.disk_path:
            disks.create_overlay(
                self.qemu_img, image.disk_path, image.disk_format, str(tmp.disk), spec.disk_gib
            )
        else:
            disks.create_blank(self.qemu_img, str(tmp.disk), spec.disk_gib)
        if spec.config_drive is not None:
            try:
                configdrive.build(tmp.config_drive, spec.config_drive)
            except configdrive.ConfigDriveError as exc:
                shutil.rmtree(staging, ignore_errors=True)
                raise DriverError(f"bad config drive: {exc}") from exc
        tmp.save_spec(spec)
        os.replace(staging, inst.path)

    def _start(self, inst: InstanceDir) -> None:
        spec = inst.load_spec()
        inst.check_socket_path()
        cfg = process.QemuConfig(binary=self.qemu_binary, accel=self.accel,
                                 relay_key_file=self.relay_key_file)
        argv = process.build_argv(cfg, spec, inst) + power.incoming_args(inst)
        for stale in (inst.exit_file, inst.pidfile, inst.qmp_socket):
            stale.unlink(missing_ok=True)
        _trim(inst.console_log)
        inst.started_marker.touch()
        process.spawn(argv, inst)
        self._wait_started(inst)
        power.finish_restore(inst)

    def _wait_started(self, inst: InstanceDir) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.exit_status(inst) is not None:
                inst.started_marker.unlink(missing_ok=True)
                raise DriverError(f"qemu failed to start {inst.name}: {process.log_tail(inst)}")
            pid = process.running_pid(inst)
            if pid is not None and qmp.reachable(str(inst.qmp_socket)):
                return
            time.sleep(0.05)
        inst.started_marker.unlink(missing_ok=True)
        pid = process.running_pid(inst)
        if pid is not None:
            process.kill(pid, inst)
        raise DriverError(f"qemu for {inst.name} did not come up in {START_TIMEOUT:.0f}s")

    def _stop(self, inst: InstanceDir, force: bool, timeout: float) -> None:
        pid = process.running_pid(inst)
        inst.started_marker.unlink(missing_ok=True)
        power.saved_state(inst).unlink(missing_ok=True)  # a stop forgets a suspended guest
        if pid is None:
            return
        if power.paused_marker(inst).exists():  # a frozen guest hears no power button
            force = True
        if force or not self._powerdown(inst, pid, timeout):
            process.kill(pid, inst)
        process.wait_exit_status(inst, EXIT_STATUS_GRACE)  # let the supervisor finish

    def _powerdown(self, inst: InstanceDir, pid: int, timeout: float) -> bool:
        """ACPI power button, then QMP quit: True when QEMU ended without SIGKILL.

        The button is pressed again every few seconds: a guest still booting has no handler
        yet (busybox acpid, systemd-logind) and would miss a single press.
        """
        sock = str(inst.qmp_socket)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                qmp.execute(sock, "system_powerdown")
                wait = min(POWERDOWN_REPEAT, max(0.0, deadline - time.monotonic()))
                if process.wait_gone(pid, inst, wait):
                    return True
            qmp.execute(sock, "quit")
        except qmp.QmpFailure:
            return process.wait_gone(pid, inst, 2.0)
        return process.wait_gone(pid, inst, 5.0)

    def _status(self, inst: InstanceDir) -> VmStatus:
        if process.running_pid(inst) is not None:
            paused = power.paused_marker(inst).exists()
            return VmStatus(inst.name, PowerState.PAUSED if paused else PowerState.RUNNING)
        if power.saved_state(inst).exists():
            return VmStatus(inst.name, PowerState.SUSPENDED)
        if not inst.started_marker.exists():
            return VmStatus(inst.name, PowerState.STOPPED)
        status = process.wait_exit_status(inst, EXIT_STATUS_GRACE)
        if status == 0:
            return VmStatus(inst.name, PowerState.STOPPED, "the guest shut itself down")
        reason = process.describe_exit(status)
        tail = process.log_tail(inst).splitlines()[-1:] if status is not None else []
        return VmStatus(inst.name, PowerState.CRASHED, "; ".join([reason, *tail]))

    def _apply_forwards(self, inst: InstanceDir, old: NetworkSpec, new: NetworkSpec) -> None:
        sock = str(inst.qmp_socket)
        before, after = set(old.forwards), set(new.forwards)
        for fwd in sorted(before - after, key=network.hostfwd_key):
            out = _hmp(sock, f"hostfwd_remove {network.NETDEV_ID} {network.hostfwd_key(fwd)}")
            if out and "removed" not in out and "not found" not in out:
                raise DriverError(f"removing forward {network.hostfwd_key(fwd)} failed: {out}")
        for fwd in sorted(after - before, key=network.hostfwd_key):
            rule = network.hostfwd_rule(fwd, new.private_ip)
            out = _hmp(sock, f"hostfwd_add {network.NETDEV_ID} {rule}")
            if out:  # hostfwd_add prints nothing on success
                raise DriverError(f"adding forward {rule} failed: {out}")


def _hmp(sock: str, line: str) -> str:
    try:
        return qmp.human(sock, line).strip()
    except qmp.QmpFailure as exc:
        raise DriverError(f"{line} failed: {exc}") from exc


def _mem_total_kib() -> int:
    with open("/proc/meminfo") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    raise DriverError("no MemTotal in /proc/meminfo")


def _trim(log: Path) -> None:
    try:
        if log.stat().st_size <= CONSOLE_KEEP:
            return
        with open(log, "rb") as f:
            f.seek(-CONSOLE_TAIL, os.SEEK_END)
            tail = f.read()
        log.write_bytes(tail)
    except OSError:
        return
