"""DescribeVolumes for the only volumes this cloud has today: each instance's root volume
(``vol-`` + the instance's suffix, the ID its BlockDeviceMappings name), the size of its
instance type's disk, attached from launch until the instance is terminated, when it is
deleted with it. A read-only view over instances, to be replaced when volumes become objects
of their own."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.compute import Instances
from overcast.db import as_utc
from overcast.db.models import Instance
from overcast.errors import InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed, root_volume_id
from overcast.lifecycle import State

VOLUME_TYPE = "gp3"
VOLUME_IOPS = 3000
VOLUME_THROUGHPUT = 125


@dataclass(frozen=True)
class RootVolume:
    id: str
    size_gib: int
    zone: str
    created: datetime
    instance_id: str
    device: str


def _iso(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%S.000Z")


VOLUME_FILTERS: dict[str, flt.Extractor] = {
    "volume-id": lambda t: t.item.id,
    "size": lambda t: str(t.item.size_gib),
    "availability-zone": lambda t: t.item.zone,
    "create-time": lambda t: _iso(t.item.created),
    "status": lambda t: "in-use",
    "volume-type": lambda t: VOLUME_TYPE,
    "encrypted": lambda t: "false",
    "multi-attach-enabled": lambda t: "false",
    "fast-restored": lambda t: "false",
    "snapshot-id": lambda t: "",
    "attachment.instance-id": lambda t: t.item.instance_id,
    "attachment.device": lambda t: t.item.device,
    "attachment.status": lambda t: "attached",
    "attachment.attach-time": lambda t: _iso(t.item.created),
    "attachment.delete-on-termination": lambda t: "true",
    "operator.managed": lambda t: "false",
    "operator.principal": lambda t: None,
}


def check_volume_ids(ids: Sequence[str]) -> None:
    for volume_id in ids:
        if not is_well_formed(volume_id, "vol"):
            raise InvalidParameter("InvalidVolumeID.Malformed",
                                   f'Invalid id: "{volume_id[:64]}" (expecting "vol-...")')


def _instance_of(volume_or_interface_id: str) -> str:
    return "i-" + volume_or_interface_id.split("-", 1)[1]


class RootVolumes:
    def __init__(self, instances: Instances) -> None:
        self.instances = instances

    @staticmethod
    def attached_exists(s: Session, ctx: Context, resource_id: str) -> bool:
        """Whether a root volume (or primary interface) of a live instance has this ID (for
        tagging them)."""
        return s.scalar(select(Instance.id).where(
            Instance.id == _instance_of(resource_id), Instance.project_id == ctx.project_id,
            Instance.state != State.TERMINATED)) is not None

    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None, token: str | None,
                 ) -> tuple[list[flt.Tagged[RootVolume]], str | None]:
        check_volume_ids(ids)
        flt.check_filters(filters, VOLUME_FILTERS)
        flt.check_max_results(max_results, 5, 500)
        if ids and max_results is not None:
            raise InvalidParameter("InvalidParameterCombination", "The parameter volumeSet "
                                   "cannot be used with the parameter maxResults")
        with self.instances.db.read() as s:
            rows = list(s.scalars(select(Instance).where(
                Instance.project_id == ctx.project_id, Instance.state != State.TERMINATED)))
            if ids:
                rows = [r for r in rows if root_volume_id(r.id) in set(ids)]
            tags = tagsvc.for_resources(s, ctx.project_id, [root_volume_id(r.id) for r in rows])
        devices = self.instances.root_devices({r.image_id for r in rows})
        volumes = [RootVolume(root_volume_id(r.id), r.disk_gib, r.availability_zone,
                              as_utc(r.launch_time), r.id, devices[r.image_id]) for r in rows]
        missing = [i for i in dict.fromkeys(ids) if i not in {v.id for v in volumes}]
        if missing:
            raise NotFound("InvalidVolume.NotFound",
                           f"The volume '{', '.join(missing)}' does not exist.")
        items = [flt.Tagged(v, tags.get(v.id, {})) for v in volumes]
        found = [t for t in items if flt.matches(t, filters, VOLUME_FILTERS)]
        return flt.page(found, lambda t: t.item.id, max_results, token)
