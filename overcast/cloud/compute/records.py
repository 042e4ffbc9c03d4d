"""Frozen views of compute rows, the only form in which they leave the service layer: a face
reads an instance, an instance type or a key pair without holding an ORM row (nothing lazy
loads, nothing can be changed behind the service layer's back)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from typing import Any

from overcast.clock import as_utc
from overcast.db.models import Instance, InstanceType, KeyPair


@cache
def _names(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A record class's field names, and those holding datetimes."""
    names = tuple(f.name for f in fields(cls))
    return names, tuple(f.name for f in fields(cls) if "datetime" in str(f.type))


def _copied(cls: type, row: object) -> dict[str, Any]:
    names, times = _names(cls)
    values = {name: getattr(row, name) for name in names}
    for name in times:
        if values[name] is not None:
            values[name] = as_utc(values[name])
    return values


@dataclass(frozen=True)
class InstanceRecord:
    id: str
    uuid: str
    project_id: str
    reservation_id: str
    launch_index: int
    client_token: str | None
    image_id: str
    instance_type: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    key_name: str | None
    user_data: bytes
    state: str
    state_reason_code: str
    state_reason_message: str
    transition_reason: str
    force_stop: bool
    reboot_requested: bool
    host_id: str | None
    availability_zone: str
    private_ip: str | None
    mac_address: str
    public_ip: str | None
    launch_time: datetime
    terminated_at: datetime | None
    updated_at: float
    subnet_id: str | None
    vpc_id: str | None
    disable_api_termination: bool
    disable_api_stop: bool
    shutdown_behavior: str
    source_dest_check: bool
    metadata_http_tokens: str
    metadata_http_endpoint: str
    metadata_hop_limit: int
    metadata_instance_tags: str
    config_drive: bool
    user_id: str | None
    launch_digest: str | None
    locked_by: str | None
    locked_reason: str | None

    @classmethod
    def of(cls, row: Instance) -> InstanceRecord:
        return cls(**_copied(cls, row))

    @classmethod
    def of_columns(cls, values: Sequence[Any]) -> InstanceRecord:
        """From a row of INSTANCE_COLUMNS (no ORM object made: the fast way for many)."""
        fixed = list(values)
        for index in _INSTANCE_TIMES:
            if fixed[index] is not None:
                fixed[index] = as_utc(fixed[index])
        return cls(*fixed)


# the instances table's columns, in InstanceRecord's field order
INSTANCE_COLUMNS = tuple(Instance.__table__.columns[f.name] for f in fields(InstanceRecord))
_INSTANCE_TIMES = tuple(i for i, f in enumerate(fields(InstanceRecord))
                        if f.name in ("launch_time", "terminated_at"))


@dataclass(frozen=True)
class InstanceTypeRecord:
    name: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    builtin: bool
    driver: str | None

    @classmethod
    def of(cls, row: InstanceType) -> InstanceTypeRecord:
        return cls(**_copied(cls, row))


@dataclass(frozen=True)
class KeyPairRecord:
    id: str
    project_id: str
    name: str
    fingerprint: str
    public_key: str
    key_type: str
    created_at: datetime

    @classmethod
    def of(cls, row: KeyPair) -> KeyPairRecord:
        return cls(**_copied(cls, row))
