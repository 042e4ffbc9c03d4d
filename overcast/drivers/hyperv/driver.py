"""The Hyper-V driver: one Windows Server host, driven remotely over PowerShell remoting.

Nothing of Overcast runs on the Windows side except what the scripts in scripts.py do while
they run (and the console reader they start). Every value from a user or the database reaches
PowerShell as a parameter, never as script text. A host that does not answer raises
HostUnreachable (not a DriverError), so the agent keeps every instance as it is and retries.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from overcast.drivers.hyperv import scripts
from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.images import VhdxCache, ensure_on_host
from overcast.drivers.hyperv.transport import HostUnreachable, RemoteError, Transport

log = logging.getLogger("overcast.hyperv")

MIB, GIB = 1024**2, 1024**3
HOST_RESERVE_MIB = 2048  # memory left to the Windows host itself
CONSOLE_MAX = 64 * 1024
CONSOLE_LOG_MAX = 4 * 1024 * 1024
CAPACITY_TTL = 60.0  # seconds the host's capacity is reused while the host keeps answering
STOP_MARGIN = 30.0  # seconds a stop call may take beyond its graceful timeout
# Characters Windows refuses in file names, control characters, and [ ] (wildcards to
# PowerShell's -Path): a VM name becomes a directory name on the host, so such names (and
# "." or "..") are refused outright.
UNSAFE_NAME = re.compile(r'[<>:"/\\|?*\[\]\x00-\x1f\x7f]')
RUNNING_STATES = {"Running", "Starting", "Reset", "Resuming", "Saving", "Pausing", "Stopping",
                  "RunningCritical", "StartingCritical", "ResettingCritical",
                  "StoppingCritical", "SavingCritical", "PausingCritical", "ResumingCritical"}
STOPPED_STATES = {"Off", "Saved", "Paused"}
SECURE_BOOT_TEMPLATES = {"windows": "MicrosoftWindows",
                         "linux": "MicrosoftUEFICertificateAuthority"}

IsoBuilder = Callable[[Path, dict[str, bytes]], None]


@dataclass(frozen=True)
class CheckStep:
    name: str
    ok: bool
    detail: str


def default_iso_builder(out_path: Path, files: dict[str, bytes]) -> None:
    try:
        from overcast.metadata.configdrive import build
    except ImportError as exc:
        raise DriverError("no config drive builder (overcast.metadata.configdrive)") from exc
    build(out_path, files)


def check_name(name: str) -> str:
    if not name or name in (".", "..") or UNSAFE_NAME.search(name) or len(name) > 100:
        raise DriverError(f"{name!r} cannot name a Hyper-V virtual machine")
    return name


def power_state(state: str) -> tuple[PowerState, str]:
    """Hyper-V's VMState name as our PowerState, with a reason when not plainly running."""
    if state in RUNNING_STATES:
        return PowerState.RUNNING, ("Hyper-V reports " + state) if "Critical" in state else ""
    if state in STOPPED_STATES:
        return PowerState.STOPPED, "" if state == "Off" else f"Hyper-V reports {state}"
    return PowerState.CRASHED, f"Hyper-V reports {state}"


def boot_settings(properties: dict[str, str]) -> tuple[int, str]:
    """(generation, secure boot template or "" for off) from image properties."""
    machine = properties.get("hw_machine_type", "hyperv-gen2")
    generation = 1 if machine in ("hyperv-gen1", "1") else 2
    if generation == 1 or properties.get("os_secure_boot") == "disabled":
        return generation, ""
    os_type = properties.get("os_type", "linux").lower()
    return generation, SECURE_BOOT_TEMPLATES.get(os_type, SECURE_BOOT_TEMPLATES["linux"])


def capacity_from(info: dict[str, Any]) -> HostCapacity:
    memory = (int(info["MemoryCapacity"]) - int(info["ForeignVmMemoryBytes"])) // MIB
    return HostCapacity(vcpus=int(info["LogicalProcessorCount"]),
                        memory_mib=max(0, memory - HOST_RESERVE_MIB),
                        disk_gib=int(info["DiskTotalBytes"]) // GIB)


class HyperVDriver:
    name = "hyperv"

    def __init__(self, config: HostConfig, transport: Transport, state_dir: Path,
                 iso_builder: IsoBuilder | None = None, qemu_img_bin: str = "qemu-img") -> None:
        self.config, self.transport = config, transport
        self.state_dir = state_dir
        self.images = VhdxCache(state_dir / "vhdx", qemu_img_bin)
        self.iso_builder = iso_builder or default_iso_builder
        self.addresses: dict[str, tuple[str, ...]] = {}
        self.last_error = ""  # why the host last failed to answer, "" when it did
        self._images_lock = threading.Lock()
        self._capacity: tuple[float, HostCapacity] | None = None  # (when, what)

    # talking to the host --------------------------------------------------------------------
    def _run(self, script: scripts.Script, params: dict[str, Any],
             timeout: float | None = None) -> Any:
        """Run a script; its JSON answer decoded (None when it printed nothing)."""
        try:
            result = self.transport.run(script, params, timeout or self.config.call_timeout)
        except HostUnreachable as exc:
            self.last_error = str(exc)
            raise
        self.last_error = ""
        if result.errors:
            raise RemoteError(script.name, result.errors)
        if not result.output:
            return None
        try:
            return json.loads(str(result.output[-1]))
        except ValueError as exc:
            raise DriverError(f"Hyper-V host: {script.name} answered something not JSON") \
                from exc

    def _instance_params(self, name: str) -> tuple[str, str, str]:
        """(directory, COM1 pipe name, console log path) of an instance on the host."""
        directory = self.config.instance_dir(check_name(name))
        return directory, f"overcast-{name}-com1", directory + "\\console.log"

    # the protocol ---------------------------------------------------------------------------
    CAPABILITIES = Capabilities(console_output=True, reboot=True, network_host=True)

    def capabilities(self) -> Capabilities:
        return self.CAPABILITIES

    def host_info(self) -> dict[str, Any]:
        return self._run(scripts.HOST_INFO, {"VmPath": self.config.vm_path,
                                             "Marker": self.config.marker})

    def capacity(self) -> HostCapacity:
        """From the host itself: its logical processors, its memory less what VMs that are
        not Overcast's hold and a reserve for Windows, and the size of the VM volume."""
        now = time.monotonic()
        fresh = self._capacity is not None and now - self._capacity[0] < CAPACITY_TTL
        if fresh and not self.last_error:  # asked lately, and the host answered since
            return self._capacity[1]  # type: ignore[index]
        capacity = capacity_from(self.host_info())
        self._capacity = (now, capacity)
        return capacity

    def create(self, spec: LaunchSpec) -> None:
        directory, pipe, _ = self._instance_params(spec.name)
        if not spec.image.disk_path:
            raise DriverError("Hyper-V boots disk images only; this image has no disk "
                              "(kernel and ramdisk images need the qemu driver)")
        if spec.name in self.list():
            return
        parent = self._image_on_host(spec)
        iso = self._config_drive_on_host(spec, directory)
        generation, template = boot_settings(dict(spec.image.properties))
        params = {
            "Name": spec.name, "Directory": directory, "ParentPath": parent,
            "DiskBytes": spec.disk_gib * GIB, "Generation": generation,
            "SecureBootTemplate": template, "CpuCount": spec.vcpus,
            # Hyper-V takes memory in multiples of 2 MiB
            "MemoryBytes": (spec.memory_mib + spec.memory_mib % 2) * MIB,
            "SwitchName": self.config.switch,
            "MacAddress": spec.network.mac_address.replace(":", "").upper(),
            "IsoPath": iso, "PipeName": pipe, "Marker": self.config.marker}
        self._run(scripts.CREATE_VM, params, timeout=self.config.call_timeout * 3)
        self.start(spec.name)

    def _image_on_host(self, spec: LaunchSpec) -> str:
        with self._images_lock:  # one conversion and one copy per image at a time
            vhdx, checksum = self.images.vhdx_for(spec.image)
            return ensure_on_host(self.transport, self.config,
                                  lambda s, p: self._run(s, p), vhdx, checksum)

    def _config_drive_on_host(self, spec: LaunchSpec, directory: str) -> str:
        files = spec.config_drive
        if files is None and spec.user_data:
            files = {"openstack/latest/meta_data.json":
                     json.dumps({"uuid": spec.name, "hostname": spec.name}).encode(),
                     "openstack/latest/user_data": spec.user_data}
        if files is None:
            return ""
        remote = directory + "\\config-drive.iso"
        self._run(scripts.PREPARE_DIR, {"Directory": directory})
        with tempfile.TemporaryDirectory(prefix="overcast-hyperv-") as tmp:
            iso = Path(tmp) / "config-drive.iso"
            self.iso_builder(iso, files)
            self.transport.copy(iso, remote, timeout=self.config.call_timeout)
        return remote

    def start(self, name: str) -> None:
        self._run(scripts.START_VM, {"Name": check_name(name)})
        self._start_console_reader(name)

    def _start_console_reader(self, name: str) -> None:
        _, pipe, log_path = self._instance_params(name)
        answer = self._run(scripts.CONSOLE_START, {
            "Name": name, "PipeName": pipe, "LogPath": log_path, "MaxBytes": CONSOLE_LOG_MAX,
            "ReaderScript": scripts.CONSOLE_READER})
        if answer and int(answer.get("ReturnValue", 0)) != 0:
            log.warning("%s: the console reader did not start (Win32_Process.Create "
                        "returned %s)", name, answer.get("ReturnValue"))

    def stop(self, name: str, force: bool = False, timeout: float = 60.0) -> None:
        self._run(scripts.STOP_VM, {"Name": check_name(name), "TimeoutSeconds": int(timeout),
                                    "TurnOff": bool(force)},
                  timeout=timeout + STOP_MARGIN)

    def reboot(self, name: str) -> None:
        self._run(scripts.RESTART_VM, {"Name": check_name(name)})

    def destroy(self, name: str) -> None:
        directory, _, _ = self._instance_params(name)
        self._run(scripts.DESTROY_VM, {"Name": name, "Directory": directory,
                                       "Marker": self.config.marker},
                  timeout=self.config.call_timeout * 2)
        self.addresses.pop(name, None)

    def list(self) -> dict[str, VmStatus]:
        found: dict[str, VmStatus] = {}
        for vm in self._run(scripts.LIST_VMS, {"Marker": self.config.marker}) or []:
            state, reason = power_state(str(vm.get("State", "")))
            addresses = tuple(str(a) for a in vm.get("IPAddresses") or () if a)
            found[vm["Name"]] = VmStatus(vm["Name"], state, reason, addresses)
            self.addresses[vm["Name"]] = addresses
        return found

    def console_output(self, name: str) -> bytes:
        """The console log's tail; empty when the host cannot be asked (never an error)."""
        try:
            _, _, log_path = self._instance_params(name)
            encoded = self._run(scripts.CONSOLE_READ, {"LogPath": log_path,
                                                      "MaxBytes": CONSOLE_MAX})
        except (HostUnreachable, DriverError) as exc:
            log.info("%s: no console output: %s", name, exc)
            return b""
        return base64.b64decode(encoded or "")[-CONSOLE_MAX:]

    def update_network(self, name: str, network: NetworkSpec) -> None:
        """Hyper-V guests sit on a real switch: there are no port forwards to change."""

    def pause(self, name: str) -> None:
        raise DriverError("Hyper-V instances are not paused here (Capabilities.pause)")

    def unpause(self, name: str) -> None:
        raise DriverError("Hyper-V instances are not paused here (Capabilities.pause)")

    def suspend(self, name: str) -> None:
        raise DriverError("Hyper-V instances are not suspended here (Capabilities.suspend)")

    def snapshot(self, name: str, dest: str) -> None:
        raise DriverError("images of Hyper-V instances are not written yet "
                          "(Capabilities.snapshot)")

    def attach_volume(self, name: str, disk: VolumeDisk) -> None:
        raise DriverError("volumes of Hyper-V instances are not attached yet")

    def detach_volume(self, name: str, volume_id: str, force: bool = False) -> None:
        raise DriverError("volumes of Hyper-V instances are not attached yet")

    def resize_volume(self, name: str, volume_id: str, size_bytes: int) -> None:
        raise DriverError("volumes of Hyper-V instances are not attached yet")

    def snapshot_volume(self, name: str, volume_id: str, dest: str) -> None:
        raise DriverError("volumes of Hyper-V instances are not attached yet")

    # `overcast host check` ------------------------------------------------------------------
    def smoke_test(self) -> Iterator[CheckStep]:
        """Harmless checks, one step at a time; stops at the first that fails."""
        steps: list[tuple[str, Callable[[], str]]] = [
            ("connect", self._check_connect),
            ("Get-VMHost", self._check_host),
            ("switch", self._check_switch),
        ]
        for title, step in steps:
            try:
                detail = step()
            except (HostUnreachable, DriverError) as exc:
                yield CheckStep(title, False, str(exc))
                return
            yield CheckStep(title, True, detail)

    def _check_connect(self) -> str:
        version = self._run(scripts.PING, {})
        return f"PowerShell {version} on {self.config.address}:{self.config.port}"

    def _check_host(self) -> str:
        info = self.host_info()
        capacity = capacity_from(info)
        return (f"{info['ComputerName']} (Windows {info['OsVersion']}): "
                f"{info['LogicalProcessorCount']} logical processors, "
                f"{int(info['FreeMemoryBytes']) // MIB} MiB memory free, "
                f"{int(info['DiskFreeBytes']) // GIB} GiB free on {info['DiskRoot']}; "
                f"offers {capacity.vcpus} vCPUs, {capacity.memory_mib} MiB, "
                f"{capacity.disk_gib} GiB")

    def _check_switch(self) -> str:
        switches = self._run(scripts.SWITCH_INFO, {"SwitchName": self.config.switch}) or []
        if not switches:
            raise DriverError(f"no virtual switch named {self.config.switch!r} on the host")
        return f"{switches[0]['Name']} ({switches[0]['SwitchType']})"
