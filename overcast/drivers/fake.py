"""An in-memory driver for tests and scale benchmarks. With a state file, its VMs outlive a
restart of the controller the way qemu processes do. The file is a journal, one JSON line per
change (a VM's name and power state, null once destroyed), compacted when mostly stale: a
change costs one short append however many VMs there are."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

from overcast.drivers.base import (
    Capabilities,
    DriverError,
    HostCapacity,
    LaunchSpec,
    NetworkSpec,
    PowerState,
    VmStatus,
    VolumeDisk,
)


class FakeDriver:
    name = "fake"

    def __init__(self, capacity: HostCapacity, boot_delay: float = 0.0,
                 state_file: Path | None = None) -> None:
        self._capacity = capacity
        self.boot_delay = boot_delay
        self._state_file = state_file
        self._lock = threading.Lock()
        self._journal_lines = 0
        self._vms: dict[str, VmStatus] = {  # kept as the list() answer: a tick asks often
            name: VmStatus(name, PowerState(state)) for name, state in self._load().items()}
        if self._state_file and self._state_file.exists():
            self._compact()  # also ends a line a crash cut short
        self._consoles: dict[str, bytes] = {}
        self.networks: dict[str, NetworkSpec] = {}
        # each VM's image disk and size: what its snapshot is made of
        self._disks: dict[str, tuple[str | None, int]] = {}
        self.fail_next_create: str | None = None  # tests: make the next create fail
        # each VM's attached volumes (volume ID -> disk), what a guest would see
        self.volumes: dict[str, dict[str, VolumeDisk]] = {}

    def _load(self) -> dict[str, str]:
        vms: dict[str, str] = {}
        if self._state_file and self._state_file.exists():
            for line in self._state_file.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash
                if isinstance(entry, dict):  # the whole-file format of earlier versions
                    vms.update(entry)
                    continue
                name, state = entry
                if state is None:
                    vms.pop(name, None)
                else:
                    vms[name] = state
                self._journal_lines += 1
        return vms

    def _record(self, name: str, state: str | None) -> None:
        if not self._state_file:
            return
        if self._journal_lines > 2 * len(self._vms) + 100:
            self._compact()
            return
        with open(self._state_file, "a") as journal:
            journal.write(json.dumps([name, state]) + "\n")
        self._journal_lines += 1

    def _compact(self) -> None:
        assert self._state_file is not None
        tmp = self._state_file.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps([n, vm.state.value]) + "\n"
                               for n, vm in self._vms.items()))
        tmp.replace(self._state_file)
        self._journal_lines = len(self._vms)

    def _set(self, name: str, state: PowerState | None) -> None:
        with self._lock:
            if state is None:
                self._vms.pop(name, None)
            else:
                self._vms[name] = VmStatus(name, state)
            self._record(name, None if state is None else state.value)

    CAPABILITIES = Capabilities(console_output=True, snapshot=True, loopback_public_ips=True,
                                volumes=True, pause=True, suspend=True)

    def capabilities(self) -> Capabilities:
        return self.CAPABILITIES

    def capacity(self) -> HostCapacity:
        return self._capacity

    def create(self, spec: LaunchSpec) -> None:
        if spec.name in self._vms:
            return
        if self.fail_next_create:
            message, self.fail_next_create = self.fail_next_create, None
            raise DriverError(message)
        time.sleep(self.boot_delay)
        self.networks[spec.name] = spec.network
        self._disks[spec.name] = (spec.image.disk_path, spec.disk_gib)
        self.volumes[spec.name] = {v.volume_id: v for v in spec.volumes}
        self._consoles[spec.name] = f"fake console of {spec.name}: booted\n".encode()
        self._set(spec.name, PowerState.RUNNING)

    def _require(self, name: str) -> None:
        if name not in self._vms:
            raise DriverError(f"no VM named {name}")

    def start(self, name: str) -> None:
        self._require(name)
        if self._vms[name].state == PowerState.SUSPENDED:
            self._log(name, b"resumed\n")
        else:
            time.sleep(self.boot_delay)
        self._set(name, PowerState.RUNNING)

    def _log(self, name: str, line: bytes) -> None:
        """What the guest's console would show, and the record tests read."""
        self._consoles[name] = self._consoles.get(name, b"") + line

    def pause(self, name: str) -> None:
        self._require(name)
        if self._vms[name].state == PowerState.RUNNING:
            self._log(name, b"paused\n")
            self._set(name, PowerState.PAUSED)
        elif self._vms[name].state != PowerState.PAUSED:
            raise DriverError(f"{name} is not running")

    def unpause(self, name: str) -> None:
        self._require(name)
        if self._vms[name].state == PowerState.PAUSED:
            self._log(name, b"unpaused\n")
            self._set(name, PowerState.RUNNING)

    def suspend(self, name: str) -> None:
        self._require(name)
        if self._vms[name].state in (PowerState.RUNNING, PowerState.PAUSED):
            self._log(name, b"suspended\n")
            self._set(name, PowerState.SUSPENDED)
        elif self._vms[name].state != PowerState.SUSPENDED:
            raise DriverError(f"{name} is not running")

    def stop(self, name: str, force: bool = False, timeout: float = 60.0) -> None:
        self._require(name)
        self._set(name, PowerState.STOPPED)

    def reboot(self, name: str) -> None:
        self._require(name)
        self._log(name, b"rebooted\n")

    def destroy(self, name: str) -> None:
        self._consoles.pop(name, None)
        self._disks.pop(name, None)
        self.networks.pop(name, None)
        self.volumes.pop(name, None)
        self._set(name, None)

    def list(self) -> dict[str, VmStatus]:
        with self._lock:
            return dict(self._vms)

    def console_output(self, name: str) -> bytes:
        return self._consoles.get(name, b"")[-65536:]

    def update_network(self, name: str, network: NetworkSpec) -> None:
        self.networks[name] = network

    def snapshot(self, name: str, dest: str) -> None:
        """A fake VM writes nothing to its disk: its image is the disk it booted from, or a
        blank (sparse raw) disk of its size when it booted from none."""
        self._require(name)
        if name not in self._disks:
            raise DriverError(f"the disk of {name} is unknown to this fake host")
        source, size_gib = self._disks[name]
        if source:
            shutil.copyfile(source, dest)
        else:
            with open(dest, "wb") as blank:
                blank.truncate(size_gib * 1024**3)

    def attach_volume(self, name: str, disk: VolumeDisk) -> None:
        self._require(name)
        self.volumes.setdefault(name, {})[disk.volume_id] = disk

    def detach_volume(self, name: str, volume_id: str, force: bool = False) -> None:
        self._require(name)
        self.volumes.get(name, {}).pop(volume_id, None)

    def resize_volume(self, name: str, volume_id: str, size_bytes: int) -> None:
        self._require(name)
        if volume_id not in self.volumes.get(name, {}):
            raise DriverError(f"volume {volume_id} is not attached to {name}")

    def snapshot_volume(self, name: str, volume_id: str, dest: str) -> None:
        """A fake guest writes nothing: the copy is the volume's file as it is."""
        self._require(name)
        disk = self.volumes.get(name, {}).get(volume_id)
        if disk is None:
            raise DriverError(f"volume {volume_id} is not attached to {name}")
        shutil.copyfile(disk.path, dest)

    # for tests: what a guest or a crash would do
    def power_off(self, name: str, crashed: bool = False) -> None:
        self._set(name, PowerState.CRASHED if crashed else PowerState.STOPPED)
