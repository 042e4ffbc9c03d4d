"""Block-device mappings as a launch and an image carry them (EC2's BlockDeviceMappings, Nova's
block_device_mapping_v2 with a volume destination): which EBS volume each device gets.

The compute wing only carries them; the storage wing checks them and makes the volumes in the
launch's transaction (cloud/storage/launch_volumes.py), through the LaunchDisks hook."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from overcast.identity.context import Context

if TYPE_CHECKING:
    from overcast.db.models import Image, Instance


@dataclass(frozen=True)
class BlockDevice:
    """One mapping: a new EBS volume at `device` (blank of `size_gib`, or from
    `snapshot_id`), an existing volume (`volume_id`, Nova's source_type volume), or
    `no_device` (EC2's NoDevice: drop the image's mapping at that device)."""

    device: str
    size_gib: int | None = None
    snapshot_id: str | None = None
    volume_type: str | None = None
    iops: int | None = None
    throughput: int | None = None
    delete_on_termination: bool | None = None  # None: EC2's default (true when launched)
    encrypted: bool = False
    no_device: bool = False
    volume_id: str | None = None


@dataclass(frozen=True)
class LaunchPlan:
    """The checked mappings of one launch: the data volumes each instance gets, the root
    disk's size when a mapping sets it, and the hosts that may run it (None: any)."""

    volumes: tuple[BlockDevice, ...] = ()
    root_gib: int | None = None
    hosts: frozenset[str] | None = None


class LaunchDisks(Protocol):
    """What the launch asks of the storage wing, in its one transaction."""

    def plan(self, s: Session, ctx: Context, image: Image | None,
             requested: tuple[BlockDevice, ...], root_device: str) -> LaunchPlan: ...

    def create(self, s: Session, ctx: Context, plan: LaunchPlan,
               rows: list[Instance]) -> None: ...


def to_json(devices: list[BlockDevice] | tuple[BlockDevice, ...]) -> str:
    """An image's mappings as its row keeps them."""
    return json.dumps([{k: v for k, v in asdict(d).items() if v is not None}
                       for d in devices]) if devices else ""


def from_json(text: str | None) -> list[BlockDevice]:
    if not text:
        return []
    try:
        raw = json.loads(text)
    except ValueError:
        return []
    return [BlockDevice(**item) for item in raw if isinstance(item, dict)]
