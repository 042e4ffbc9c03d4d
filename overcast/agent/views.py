"""What the agent's store hands out and takes: frozen dataclasses made of plain values, never
ORM rows, so each call crosses HTTP as JSON unchanged (overcast.agent.wire encodes them)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from overcast.lifecycle import State


@dataclass(frozen=True)
class AgentInstance:
    """The instance fields a host's reconciler reads. Its user data is not here: it reaches
    the host only inside the instance's launch spec."""

    id: str
    project_id: str
    state: str
    updated_at: float
    image_id: str
    instance_type: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    mac_address: str
    key_name: str | None = None
    private_ip: str | None = None
    public_ip: str | None = None
    subnet_id: str | None = None
    config_drive: bool = False
    force_stop: bool = False
    reboot_requested: bool = False


_INSTANCE_FIELDS = tuple(f.name for f in fields(AgentInstance))


def view_of(row: Any) -> AgentInstance:
    """An AgentInstance of a row (an ORM object or a plain row with the model's names)."""
    found = {name: getattr(row, name) for name in _INSTANCE_FIELDS}
    found["config_drive"] = bool(found["config_drive"])
    found["updated_at"] = float(found["updated_at"] or 0.0)
    return AgentInstance(**found)


@dataclass(frozen=True)
class Observation:
    """What the host saw of one instance: `event` (booted, powered_off, destroyed…), recorded
    only while the instance is still in `expected`."""

    instance_id: str
    event: str
    expected: State | None = None
    reason: tuple[str, str] | None = None
