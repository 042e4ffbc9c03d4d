"""A stand-in Hyper-V host for tests: it interprets the driver's scripts by name and answers
in the shape the real scripts print (ConvertTo-Json of the same fields), keeping VMs in memory.

It is a model of the host, not the host: tests/hyperv/cassettes hold recorded-shape pairs,
and docs/hyperv.md tells how to run the acceptance test against a real Hyper-V host.
"""

from __future__ import annotations

import base64
import json
import threading
from pathlib import Path
from typing import Any

from overcast.drivers.hyperv.scripts import Script
from overcast.drivers.hyperv.transport import (
    HostTimeout,
    HostUnreachable,
    PsError,
    RunResult,
    check_params,
)

GIB = 1024**3


def vm_not_found(name: str) -> PsError:
    """What the scripts' `throw` reports for a name that does not exist."""
    message = f"no virtual machine named {name}"
    return PsError(message=message, fully_qualified_error_id=message,
                   category=f"OperationStopped: ({message}:String) [], RuntimeException")


class SimulatedHost:
    def __init__(self, switch: str = "External") -> None:
        self.switch = switch
        self.vms: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.consoles: dict[str, bytes] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.texts: list[str] = []  # the script text of each call, as sent
        self.silent = False  # the host stops answering: every call times out
        self.refused = False  # nothing listens: every call fails to connect
        self.fail: dict[str, PsError] = {}  # script name -> the error it reports next
        self._lock = threading.Lock()

    # Transport --------------------------------------------------------------------------
    def run(self, script: Script, params: dict[str, Any], timeout: float) -> RunResult:
        check_params(script, params)
        assert 0 < timeout < 3600, f"{script.name} sent without a sane timeout ({timeout})"
        if self.refused:
            raise HostUnreachable("cannot reach Hyper-V host: ConnectionError: refused")
        if self.silent:
            raise HostTimeout(f"Hyper-V host: {script.name} did not finish in time")
        with self._lock:
            self.calls.append((script.name, dict(params)))
            self.texts.append(script.text)
            if script.name in self.fail:
                return RunResult(errors=[self.fail.pop(script.name)])
            try:
                answer = getattr(self, "_" + script.name)(**params)
            except _Failed as failed:
                return RunResult(errors=[failed.error])
        return RunResult(output=[] if answer is None else [json.dumps(answer)])

    def copy(self, local: Path, remote: str, timeout: float) -> None:
        if self.silent:
            raise HostTimeout("Hyper-V host: copy did not finish in time")
        self.files[remote] = local.read_bytes()

    def close(self) -> None:
        pass

    # scripts ----------------------------------------------------------------------------
    def _vm(self, name: str) -> dict[str, Any]:
        if name not in self.vms:
            raise _Failed(vm_not_found(name))
        return self.vms[name]

    def _ping(self) -> str:
        return "5.1.20348.2849"

    def _host_info(self, VmPath: str, Marker: str) -> dict[str, Any]:
        return {"ComputerName": "HV01", "OsVersion": "10.0.20348",
                "LogicalProcessorCount": 16, "MemoryCapacity": 64 * GIB,
                "FreeMemoryBytes": 40 * GIB, "ForeignVmMemoryBytes": 4 * GIB,
                "DiskRoot": VmPath[:3], "DiskTotalBytes": 1000 * GIB,
                "DiskFreeBytes": 700 * GIB}

    def _switch_info(self, SwitchName: str) -> list[dict[str, str]]:
        return [{"Name": self.switch, "SwitchType": "External"}] \
            if SwitchName == self.switch else []

    def _image_status(self, Directory: str, Path: str) -> dict[str, Any]:
        present = Path in self.files
        return {"Exists": present, "Length": len(self.files.get(Path, b""))}

    def _prepare_dir(self, Directory: str) -> None:
        return None

    def _create_vm(self, **p: Any) -> dict[str, Any]:
        if p["ParentPath"] not in self.files:
            raise _Failed(PsError(f"The system cannot find the file specified: "
                                  f"{p['ParentPath']}", "InvalidParameter,Microsoft.Vhd."
                                  "PowerShell.Cmdlets.NewVhd", "ObjectNotFound: (:) [New-VHD], "
                                  "VirtualizationException"))
        created = p["Name"] not in self.vms
        if created:
            self.vms[p["Name"]] = {**p, "State": "Off", "Notes": p["Marker"]}
        return {"Created": created, "Name": p["Name"]}

    def _start_vm(self, Name: str) -> None:
        self._vm(Name)["State"] = "Running"
        self.consoles[Name] = self.consoles.get(Name, b"") + f"{Name} login: ".encode()

    def _stop_vm(self, Name: str, TimeoutSeconds: int, TurnOff: bool) -> None:
        self._vm(Name)["State"] = "Off"

    def _restart_vm(self, Name: str) -> None:
        self._vm(Name)
        self.consoles[Name] = self.consoles.get(Name, b"") + b"\nrebooting\n"

    def _destroy_vm(self, Name: str, Directory: str, Marker: str) -> None:
        self.vms.pop(Name, None)
        self.consoles.pop(Name, None)

    def _list_vms(self, Marker: str) -> list[dict[str, Any]]:
        return [{"Name": n, "State": vm["State"],
                 "Status": "Operating normally", "UptimeSeconds": 5,
                 "IPAddresses": ["192.0.2.10", "fe80::215:5dff:fe00:1"]
                 if vm["State"] == "Running" else []}
                for n, vm in self.vms.items() if vm["Notes"] == Marker]

    def _console_start(self, **p: Any) -> dict[str, int]:
        return {"ReturnValue": 0, "ProcessId": 4242}

    def _console_read(self, LogPath: str, MaxBytes: int) -> str:
        name = LogPath.split("\\")[-2]
        return base64.b64encode(self.consoles.get(name, b"")[-MaxBytes:]).decode()


class _Failed(Exception):
    def __init__(self, error: PsError) -> None:
        self.error = error
