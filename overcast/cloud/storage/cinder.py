"""What the Cinder face asks of volumes: the same rows as EBS's, found by their UUID (as Nova
finds instances), a volume's name being its Name tag, its metadata its other tags (as Nova
keeps a server's), and its description a column of its own. Creating, extending and deleting
go through Volumes, so both faces check and record alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, select
from sqlalchemy.orm import Session

from overcast.cloud import tags as tagsvc
from overcast.cloud.storage.views import VolumeView, volume_view
from overcast.cloud.storage.volumes import VolumeChange, VolumeRequest, Volumes
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Instance, Tag
from overcast.db.models_volumes import Volume, VolumeAttachment, VolumeSnapshot
from overcast.errors import NotFound, invalid
from overcast.identity.context import Context
from overcast.lifecycle import VOLUME_LIVE

NAME_TAG = "Name"
MAX_DESCRIPTION = 255


@dataclass(frozen=True)
class CinderVolume:
    volume: VolumeView
    uuid: str
    name: str
    description: str
    metadata: dict[str, str]
    updated: datetime
    server_uuid: str | None  # the instance it is attached to, by its OpenStack ID
    snapshot_uuid: str | None


@dataclass(frozen=True)
class CinderCreate:
    size_gib: int | None
    zone: str | None = None
    volume_type: str | None = None
    snapshot_ref: str | None = None  # a snapshot's UUID or snap- ID
    name: str = ""
    description: str = ""
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class CinderUpdate:
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] | None = None  # replaces every key


def volume_missing(ref: str) -> NotFound:
    return NotFound("InvalidVolume.NotFound", f"Volume {ref} could not be found.")


def check_metadata(metadata: dict[str, str]) -> None:
    if NAME_TAG in metadata:
        raise invalid(f"The metadata key '{NAME_TAG}' is the volume's name: set the name.")
    tagsvc.validate(metadata)


def _description(text: str | None) -> None:
    if text is not None and len(text) > MAX_DESCRIPTION:
        raise invalid(f"The description may be at most {MAX_DESCRIPTION} characters long.")


class CinderVolumes:
    def __init__(self, db: Database, volumes: Volumes,
                 snapshot_id: Callable[[Context, str], str]) -> None:
        self.db, self.volumes, self._snapshot_id = db, volumes, snapshot_id

    # reading --------------------------------------------------------------------------------
    def list_all(self, ctx: Context) -> list[CinderVolume]:
        """The project's volumes, newest first (Cinder's default order)."""
        with self.db.read() as s:
            rows = list(s.execute(self._query(ctx).order_by(Volume.created_at.desc(),
                                                            Volume.id.desc())))
            return self._views(s, ctx, rows)

    def get(self, ctx: Context, ref: str) -> CinderVolume:
        with self.db.read() as s:
            rows = list(s.execute(self._query(ctx).where(self._matches(ref))))
            if not rows:
                raise volume_missing(ref)
            return self._views(s, ctx, rows)[0]

    def volume_id(self, ctx: Context, ref: str) -> str:
        """The vol- ID of a live volume of the project named by its UUID or vol- ID."""
        return self.get(ctx, ref).volume.id

    @staticmethod
    def _matches(ref: str) -> ColumnElement[bool]:
        return Volume.id == ref if ref.startswith("vol-") else Volume.uuid == ref

    @staticmethod
    def _query(ctx: Context) -> Select[Volume, VolumeAttachment, str]:
        """Live volumes with their attachment and its instance's UUID."""
        return (select(Volume, VolumeAttachment, Instance.uuid)
                .outerjoin(VolumeAttachment, VolumeAttachment.volume_id == Volume.id)
                .outerjoin(Instance, Instance.id == VolumeAttachment.instance_id)
                .where(Volume.project_id == ctx.project_id,
                       Volume.state.in_([str(x) for x in VOLUME_LIVE])))

    @staticmethod
    def _views(s: Session, ctx: Context, rows: list[Any]) -> list[CinderVolume]:
        tags = tagsvc.for_resources(s, ctx.project_id, [v.id for v, _a, _u in rows])
        sources = {v.snapshot_id for v, _a, _u in rows if v.snapshot_id}
        snapshot_uuids = {sid: suuid for sid, suuid in s.execute(
            select(VolumeSnapshot.id, VolumeSnapshot.uuid).where(
                VolumeSnapshot.id.in_(sources)))} if sources else {}
        found = []
        for volume, attachment, server in rows:
            own = dict(tags.get(volume.id, {}))
            name = own.pop(NAME_TAG, "")
            found.append(CinderVolume(volume_view(volume, attachment), str(volume.uuid), name,
                                      volume.description or "", own,
                                      as_utc(volume.updated_at), server,
                                      snapshot_uuids.get(volume.snapshot_id)))
        return found

    # changing -------------------------------------------------------------------------------
    def create(self, ctx: Context, req: CinderCreate) -> CinderVolume:
        check_metadata(req.metadata or {})
        _description(req.description)
        snapshot_id = self._snapshot_id(ctx, req.snapshot_ref) if req.snapshot_ref else None
        if req.size_gib is not None and req.size_gib < 1:
            raise invalid(f"Invalid input received: volume size must be an integer greater "
                          f"than 0 (got {req.size_gib}).")
        tags = dict(req.metadata or {})
        if req.name:
            tags[NAME_TAG] = req.name
        made = self.volumes.create(ctx, VolumeRequest(
            zone=req.zone or self.volumes.zones()[0], size_gib=req.size_gib,
            volume_type=req.volume_type or "gp2", snapshot_id=snapshot_id, tags=tags))
        if req.description:
            with self.db.session() as s:
                row = s.get(Volume, made.id)
                assert row is not None
                row.description = req.description
        return self.get(ctx, made.id)

    def update(self, ctx: Context, ref: str, change: CinderUpdate) -> CinderVolume:
        _description(change.description)
        if change.metadata is not None:
            check_metadata(change.metadata)
        with self.db.session() as s:
            row = s.scalar(select(Volume).where(
                Volume.project_id == ctx.project_id, self._matches(ref),
                Volume.state.in_([str(x) for x in VOLUME_LIVE])).with_for_update())
            if row is None:
                raise volume_missing(ref)
            if change.description is not None:
                row.description = change.description
            if change.name is not None:
                tagsvc.add(s, ctx.project_id, row.id, {NAME_TAG: change.name})
            if change.metadata is not None:
                set_metadata(s, ctx, row.id, change.metadata, replace_all=True)
            row.updated_at = utcnow()
            volume_id = row.id
        return self.get(ctx, volume_id)

    def set_metadata(self, ctx: Context, ref: str, metadata: dict[str, str],
                     replace_all: bool) -> dict[str, str]:
        check_metadata(metadata)
        volume_id = self.volume_id(ctx, ref)
        with self.db.session() as s:
            set_metadata(s, ctx, volume_id, metadata, replace_all)
        return self.get(ctx, volume_id).metadata

    def delete_metadata(self, ctx: Context, ref: str, key: str) -> None:
        found = self.get(ctx, ref)
        if key not in found.metadata:
            raise NotFound("MetadataNotFound", f"Volume {ref} has no metadata with key {key}.")
        with self.db.session() as s:
            s.execute(delete(Tag).where(Tag.resource_id == found.volume.id, Tag.key == key))

    def extend(self, ctx: Context, ref: str, new_size: int) -> None:
        found = self.get(ctx, ref)
        if new_size <= found.volume.size_gib:
            raise invalid(f"Invalid input received: New size for extend must be greater than "
                          f"current size. (current: {found.volume.size_gib}, extended: "
                          f"{new_size}).")
        self.volumes.modify(ctx, found.volume.id, VolumeChange(size_gib=new_size))

    def delete(self, ctx: Context, ref: str) -> None:
        self.volumes.delete(ctx, self.volume_id(ctx, ref))


def set_metadata(s: Session, ctx: Context, resource_id: str, metadata: dict[str, str],
                 replace_all: bool) -> None:
    """Merge `metadata` into a resource's tags, or make it all of them but the Name tag."""
    if replace_all:
        s.execute(delete(Tag).where(Tag.resource_id == resource_id, Tag.key != NAME_TAG,
                                    Tag.key.not_in(list(metadata))))
    tagsvc.add(s, ctx.project_id, resource_id, metadata)
