"""Where one instance's files live: state_dir/<name>/..., and its saved launch spec."""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import asdict
from pathlib import Path

from overcast.drivers.base import (
    BootImage,
    DriverError,
    LaunchSpec,
    NetworkSpec,
    PortForward,
    VolumeDisk,
)

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes including the final NUL


class InstanceDir:
    """The files of one instance. Nothing here starts or stops processes."""

    def __init__(self, state_dir: Path, name: str) -> None:
        if not NAME_RE.match(name):
            raise DriverError(f"invalid instance name {name!r}")
        self.name = name
        self.path = state_dir / name

    def file(self, leaf: str) -> Path:
        return self.path / leaf

    @property
    def spec_file(self) -> Path:
        return self.file("spec.json")

    @property
    def disk(self) -> Path:
        return self.file("disk.qcow2")

    @property
    def config_drive(self) -> Path:
        """The config drive ISO, attached read-only as a CD-ROM when the spec has one."""
        return self.file("config-drive.iso")

    @property
    def pidfile(self) -> Path:
        return self.file("qemu.pid")

    @property
    def qmp_socket(self) -> Path:
        return self.file("qmp.sock")

    @property
    def console_log(self) -> Path:
        return self.file("console.log")

    @property
    def qemu_log(self) -> Path:
        return self.file("qemu.log")

    @property
    def exit_file(self) -> Path:
        """Written by the supervising shell with QEMU's exit status when QEMU ends."""
        return self.file("exit-status")

    @property
    def relay_log(self) -> Path:
        """Where the metadata relay (run by QEMU in this directory) notes what failed."""
        return self.file("metadata-relay.log")

    @property
    def run_id_file(self) -> Path:
        return self.file("run-id")

    @property
    def started_marker(self) -> Path:
        """Present while the instance is meant to run: QEMU gone while it exists = crash."""
        return self.file("started")

    def exists(self) -> bool:
        return self.spec_file.exists()

    def check_socket_path(self) -> None:
        if len(str(self.qmp_socket)) > MAX_SOCKET_PATH:
            raise DriverError(f"state_dir path too long for a unix socket: {self.qmp_socket}")

    def save_spec(self, spec: LaunchSpec) -> None:
        write_atomic(self.spec_file, json.dumps(spec_to_dict(spec), indent=1))

    def load_spec(self) -> LaunchSpec:
        try:
            return spec_from_dict(json.loads(self.spec_file.read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DriverError(f"instance {self.name} has no readable spec: {exc}") from exc


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def spec_to_dict(spec: LaunchSpec) -> dict[str, object]:
    data = asdict(spec)
    data["user_data"] = spec.user_data.hex()
    if spec.config_drive is not None:
        data["config_drive"] = {
            path: base64.b64encode(content).decode() for path, content in spec.config_drive.items()
        }
    return data


def spec_from_dict(data: dict[str, object]) -> LaunchSpec:
    net = dict(data["network"])  # type: ignore[call-overload]
    net["forwards"] = tuple(PortForward(**f) for f in net.get("forwards", ()))
    endpoint = data.get("metadata_endpoint")
    drive = data.get("config_drive")
    return LaunchSpec(
        name=str(data["name"]),
        vcpus=int(data["vcpus"]),  # type: ignore[call-overload]
        memory_mib=int(data["memory_mib"]),  # type: ignore[call-overload]
        disk_gib=int(data["disk_gib"]),  # type: ignore[call-overload]
        image=BootImage(**data["image"]),  # type: ignore[arg-type]
        network=NetworkSpec(**net),
        user_data=bytes.fromhex(str(data.get("user_data", ""))),
        metadata_endpoint=(str(endpoint[0]), int(endpoint[1])) if endpoint else None,  # type: ignore[index]
        tags=dict(data.get("tags") or {}),  # type: ignore[call-overload]
        config_drive=(
            {str(k): base64.b64decode(str(v)) for k, v in drive.items()}  # type: ignore[attr-defined]
            if drive is not None
            else None
        ),
        volumes=tuple(VolumeDisk(**v) for v in data.get("volumes") or ()),  # type: ignore[attr-defined]
    )
