"""EBS snapshots: CreateSnapshot, DeleteSnapshot, DescribeSnapshots, and the snapshots
CreateVolume restores. The host that keeps the volume writes the copy (live, by a block job,
when a running VM has it attached) and keeps it; a volume made from it lives on that host."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.storage.root_volumes import check_volume_ids
from overcast.cloud.storage.snapshot_lookup import (
    SHOWN,
    check_snapshot_ids,
    find_snapshot,
    snapshot_not_found,
)
from overcast.cloud.storage.volumes import Volumes
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Tag
from overcast.db.models_volumes import VolumeSnapshot
from overcast.errors import DryRunOk, InvalidParameter, invalid
from overcast.identity.context import Context
from overcast.ids import new_id
from overcast.lifecycle import SnapshotState, VolumeState, next_snapshot_state


@dataclass(frozen=True)
class SnapshotView:
    id: str
    volume_id: str
    volume_size: int
    state: str
    state_message: str
    description: str
    started: datetime
    owner_id: str  # the project's account ID


def _view(row: VolumeSnapshot, owner_id: str) -> SnapshotView:
    return SnapshotView(row.id, row.volume_id, row.volume_size, row.state, row.state_message,
                        row.description, as_utc(row.created_at), owner_id)


snapshot_view = _view  # for the Cinder face's snapshots


def progress(view: SnapshotView) -> str:
    return "100%" if view.state == SnapshotState.COMPLETED else "0%"


SNAPSHOT_FILTERS: dict[str, flt.Extractor] = {
    "snapshot-id": lambda t: t.item.id,
    "volume-id": lambda t: t.item.volume_id,
    "volume-size": lambda t: str(t.item.volume_size),
    "status": lambda t: t.item.state,
    "owner-id": lambda t: t.item.owner_id,
    "owner-alias": lambda t: None,
    "description": lambda t: t.item.description,
    "progress": lambda t: progress(t.item),
    "start-time": lambda t: as_utc(t.item.started).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    "encrypted": lambda t: "false",
    "storage-tier": lambda t: "standard",
}
class VolumeSnapshots:
    def __init__(self, db: Database, volumes: Volumes) -> None:
        self.db, self.volumes = db, volumes

    def create(self, ctx: Context, volume_id: str, description: str = "",
               tags: dict[str, str] | None = None, dry_run: bool = False) -> SnapshotView:
        check_volume_ids([volume_id])
        if len(description) > 255:
            raise invalid("The description may be at most 255 characters long.")
        tagsvc.validate(tags or {})
        with self.db.session() as s:
            volume = self.volumes.find(s, ctx, volume_id, lock=True)
            if volume.state not in (VolumeState.AVAILABLE, VolumeState.IN_USE):
                raise InvalidParameter("IncorrectState", f"The volume '{volume_id}' is "
                                       f"'{volume.state}': it cannot be snapshotted.")
            if dry_run:
                raise DryRunOk()
            row = VolumeSnapshot(id=new_id("snap"), project_id=ctx.project_id,
                                 volume_id=volume_id, volume_size=volume.size_gib,
                                 description=description, state=SnapshotState.PENDING,
                                 state_message="", host_id=volume.host_id, backing_path="",
                                 created_at=utcnow())
            s.add(row)
            s.flush()
            tagsvc.add(s, ctx.project_id, row.id, tags or {}, new=True)
            view = _view(row, ctx.account_id)
        self.volumes.wake()
        return view

    def delete(self, ctx: Context, snapshot_id: str, dry_run: bool = False) -> None:
        with self.db.session() as s:
            row = find_snapshot(s, ctx, snapshot_id, lock=True)
            target = next_snapshot_state(snapshot_id, row.state, "delete")
            if dry_run:
                raise DryRunOk()
            row.state = target
            s.execute(delete(Tag).where(Tag.resource_id == snapshot_id))
        self.volumes.wake()

    def describe(self, ctx: Context, ids: Sequence[str], owners: Sequence[str],
                 filters: Sequence[flt.Filter], max_results: int | None, token: str | None,
                 ) -> tuple[list[flt.Tagged[SnapshotView]], str | None]:
        """The project's snapshots (owners: `self` or its account ID; no snapshot is shared)."""
        check_snapshot_ids(ids)
        flt.check_filters(filters, SNAPSHOT_FILTERS)
        flt.check_max_results(max_results, 5, 1000)
        if ids and max_results is not None:
            raise InvalidParameter("InvalidParameterCombination", "The parameter "
                                   "snapshotSet cannot be used with the parameter maxResults")
        if owners and not {"self", ctx.account_id} & set(owners):
            return [], None
        with self.db.read() as s:
            rows = list(s.scalars(select(VolumeSnapshot).where(
                VolumeSnapshot.project_id == ctx.project_id,
                VolumeSnapshot.state.in_(SHOWN))))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        missing = [i for i in dict.fromkeys(ids) if i not in {r.id for r in rows}]
        if missing:
            raise snapshot_not_found(", ".join(missing))
        items = [flt.Tagged(_view(r, ctx.account_id), tags.get(r.id, {})) for r in rows
                 if not ids or r.id in set(ids)]
        found = [t for t in items if flt.matches(t, filters, SNAPSHOT_FILTERS)]
        return flt.page(found, lambda t: t.item.id, max_results, token)

    def exists(self, s: Session, ctx: Context, snapshot_id: str) -> bool:
        """For tags."""
        return s.scalar(select(VolumeSnapshot.id).where(
            VolumeSnapshot.id == snapshot_id, VolumeSnapshot.project_id == ctx.project_id,
            VolumeSnapshot.state.in_(SHOWN))) is not None
