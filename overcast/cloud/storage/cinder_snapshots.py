"""What the Cinder face asks of snapshots: EBS's snapshot rows found by their UUID, the name
being the Name tag and the metadata the other tags. Cinder snapshots an in-use volume only
when asked to force it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from overcast.cloud import tags as tagsvc
from overcast.cloud.storage.cinder import (
    NAME_TAG,
    CinderVolumes,
    check_metadata,
    set_metadata,
)
from overcast.cloud.storage.snapshot_lookup import SHOWN
from overcast.cloud.storage.snapshots import SnapshotView, VolumeSnapshots, snapshot_view
from overcast.db import Database
from overcast.db.models import Tag
from overcast.db.models_volumes import Volume, VolumeSnapshot
from overcast.errors import NotFound, invalid
from overcast.identity.context import Context
from overcast.lifecycle import VolumeState


@dataclass(frozen=True)
class CinderSnapshot:
    snapshot: SnapshotView
    uuid: str
    name: str
    metadata: dict[str, str]
    volume_uuid: str  # "" once its volume is gone


@dataclass(frozen=True)
class SnapshotCreate:
    volume_ref: str
    name: str = ""
    description: str = ""
    force: bool = False
    metadata: dict[str, str] | None = None


def snapshot_missing(ref: str) -> NotFound:
    return NotFound("InvalidSnapshot.NotFound", f"Snapshot {ref} could not be found.")


class CinderSnapshots:
    def __init__(self, db: Database, volumes: CinderVolumes,
                 snapshots: VolumeSnapshots) -> None:
        self.db, self.volumes, self.snapshots = db, volumes, snapshots

    def list_all(self, ctx: Context) -> list[CinderSnapshot]:
        """The project's snapshots, newest first."""
        return self._load(ctx, None)

    def get(self, ctx: Context, ref: str) -> CinderSnapshot:
        found = self._load(ctx, ref)
        if not found:
            raise snapshot_missing(ref)
        return found[0]

    def snapshot_id(self, ctx: Context, ref: str) -> str:
        return self.get(ctx, ref).snapshot.id

    def _load(self, ctx: Context, ref: str | None) -> list[CinderSnapshot]:
        query = (select(VolumeSnapshot, Volume.uuid)
                 .outerjoin(Volume, Volume.id == VolumeSnapshot.volume_id)
                 .where(VolumeSnapshot.project_id == ctx.project_id,
                        VolumeSnapshot.state.in_(SHOWN))
                 .order_by(VolumeSnapshot.created_at.desc(), VolumeSnapshot.id.desc()))
        if ref is not None:
            query = query.where(VolumeSnapshot.id == ref if ref.startswith("snap-")
                                else VolumeSnapshot.uuid == ref)
        with self.db.read() as s:
            rows = list(s.execute(query))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r, _u in rows])
        found = []
        for row, volume_uuid in rows:
            own = dict(tags.get(row.id, {}))
            name = own.pop(NAME_TAG, "")
            found.append(CinderSnapshot(snapshot_view(row, ctx.account_id), str(row.uuid),
                                        name, own, volume_uuid or ""))
        return found

    def create(self, ctx: Context, req: SnapshotCreate) -> CinderSnapshot:
        check_metadata(req.metadata or {})
        volume = self.volumes.get(ctx, req.volume_ref)
        if volume.volume.state == VolumeState.IN_USE and not req.force:
            raise invalid(f"Invalid volume: Volume {req.volume_ref} status must be available, "
                          "but current status is: in-use (snapshot it with force).")
        tags = dict(req.metadata or {})
        if req.name:
            tags[NAME_TAG] = req.name
        made = self.snapshots.create(ctx, volume.volume.id, req.description, tags)
        return self.get(ctx, made.id)

    def update(self, ctx: Context, ref: str, name: str | None,
               description: str | None) -> CinderSnapshot:
        if description is not None and len(description) > 255:
            raise invalid("The description may be at most 255 characters long.")
        snapshot_id = self.snapshot_id(ctx, ref)
        with self.db.session() as s:
            row = s.get(VolumeSnapshot, snapshot_id)
            assert row is not None
            if description is not None:
                row.description = description
            if name is not None:
                tagsvc.add(s, ctx.project_id, snapshot_id, {NAME_TAG: name})
        return self.get(ctx, snapshot_id)

    def set_metadata(self, ctx: Context, ref: str, metadata: dict[str, str],
                     replace_all: bool) -> dict[str, str]:
        check_metadata(metadata)
        snapshot_id = self.snapshot_id(ctx, ref)
        with self.db.session() as s:
            set_metadata(s, ctx, snapshot_id, metadata, replace_all)
        return self.get(ctx, snapshot_id).metadata

    def delete_metadata(self, ctx: Context, ref: str, key: str) -> None:
        found = self.get(ctx, ref)
        if key not in found.metadata:
            raise NotFound("MetadataNotFound", f"Snapshot {ref} has no metadata with key "
                           f"{key}.")
        with self.db.session() as s:
            s.execute(delete(Tag).where(Tag.resource_id == found.snapshot.id, Tag.key == key))

    def delete(self, ctx: Context, ref: str) -> None:
        self.snapshots.delete(ctx, self.snapshot_id(ctx, ref))
