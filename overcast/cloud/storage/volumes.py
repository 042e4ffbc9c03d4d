"""EBS volumes: CreateVolume, DeleteVolume, ModifyVolume, DescribeVolumes and the status and
attribute calls. The API records what the user wants; the agent of the volume's host makes
the disk, grows it or removes it and reports back (jobs.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.storage.quotas import VolumeQuotas
from overcast.cloud.storage.root_volumes import RootVolumes, check_volume_ids
from overcast.cloud.storage.snapshot_lookup import check_snapshot_ids, find_snapshot
from overcast.cloud.storage.types import check_type
from overcast.cloud.storage.views import VOLUME_FILTERS, VolumeView, root_view, volume_view
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Host, Tag
from overcast.db.models_volumes import Volume, VolumeAttachment, VolumeSnapshot
from overcast.drivers.registry import capabilities_of
from overcast.errors import (
    Conflict,
    DryRunOk,
    InsufficientCapacity,
    InvalidParameter,
    NotFound,
    invalid,
)
from overcast.identity.context import Context
from overcast.ids import new_id
from overcast.lifecycle import VOLUME_LIVE, SnapshotState, VolumeState, next_volume_state


@dataclass(frozen=True)
class VolumeRequest:
    zone: str | None
    size_gib: int | None
    volume_type: str = "gp2"  # EC2's default when none is given
    iops: int | None = None
    throughput: int | None = None
    snapshot_id: str | None = None
    encrypted: bool = False
    multi_attach: bool = False
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class VolumeChange:
    size_gib: int | None = None
    volume_type: str | None = None
    iops: int | None = None
    throughput: int | None = None


@dataclass(frozen=True)
class Modification:
    volume: VolumeView  # as it is now: the target
    original_size_gib: int
    original_type: str
    started: datetime
    done: bool


def volume_not_found(volume_id: str) -> NotFound:
    return NotFound("InvalidVolume.NotFound", f"The volume '{volume_id}' does not exist.")


def _size(req: VolumeRequest, source: VolumeSnapshot | None) -> int:
    """The size asked for, else the snapshot's; never smaller than the snapshot."""
    if source is None:
        return int(req.size_gib or 0)
    if source.state != SnapshotState.COMPLETED:
        raise Conflict("IncorrectState", f"The snapshot '{source.id}' is '{source.state}'; "
                       "a volume can be made only from a completed snapshot.")
    if req.size_gib is not None and req.size_gib < source.volume_size:
        raise invalid(f"The size of a volume ({req.size_gib} GiB) cannot be smaller than its "
                      f"snapshot's ({source.volume_size} GiB).")
    return source.volume_size if req.size_gib is None else req.size_gib


def _snapshot_host(s: Session, source: VolumeSnapshot, zone: str) -> str:
    """A volume from a snapshot lives on the host that keeps the snapshot (local backend)."""
    host = s.get(Host, source.host_id) if source.host_id else None
    if host is None or host.availability_zone != zone:
        where = host.availability_zone if host else "no zone"
        raise InvalidParameter("UnsupportedOperation", f"The snapshot '{source.id}' is kept "
                               f"in {where}: volumes from it can be made only there "
                               "(local storage backend).")
    return host.id


GIB = 1024**3


class Volumes:
    def __init__(self, db: Database, quotas: VolumeQuotas, root_volumes: RootVolumes,
                 zones: Callable[[], list[str]], wake: Callable[[], None]) -> None:
        self.db, self.quotas, self.root_volumes = db, quotas, root_volumes
        self.zones, self._wake = zones, wake
        self.requests = 0  # changes asked for through this process: agents here look at once

    def wake(self) -> None:
        self.requests += 1
        self._wake()

    # creating -------------------------------------------------------------------------------
    def create(self, ctx: Context, req: VolumeRequest, dry_run: bool = False) -> VolumeView:
        self._check_request(req)
        tagsvc.validate(req.tags or {})
        with self.db.session() as s:
            source = find_snapshot(s, ctx, req.snapshot_id) if req.snapshot_id else None
            size = _size(req, source)
            check_type(req.volume_type, size, req.iops, req.throughput)
            host_id = self._host_in(s, str(req.zone)) if source is None else \
                _snapshot_host(s, source, str(req.zone))
            self.quotas.check_new(s, ctx.project_id, size)
            if dry_run:
                raise DryRunOk()
            now = utcnow()
            row = Volume(id=new_id("vol"), project_id=ctx.project_id,
                         availability_zone=req.zone, size_gib=size,
                         volume_type=req.volume_type, iops=req.iops,
                         throughput=req.throughput, state=VolumeState.CREATING,
                         state_reason="", snapshot_id=source.id if source else "",
                         encrypted=False, host_id=host_id,
                         backend="local", backing_path="", provisioned_bytes=0,
                         created_at=now, updated_at=now)
            s.add(row)
            s.flush()
            tagsvc.add(s, ctx.project_id, row.id, req.tags or {}, new=True)
            view = volume_view(row, None)
        self.wake()
        return view

    def _check_request(self, req: VolumeRequest) -> None:
        if not req.zone:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter AvailabilityZone")
        if req.snapshot_id:
            check_snapshot_ids([req.snapshot_id])
        elif req.size_gib is None:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter size/snapshotId")
        if req.encrypted:
            raise invalid("Encrypted volumes are not offered by this cloud.")
        if req.multi_attach:
            raise invalid("Multi-attach volumes are not offered by this cloud.")
        if not req.snapshot_id:  # else once the snapshot's size is known
            check_type(req.volume_type, int(req.size_gib or 0), req.iops, req.throughput)
        if req.zone not in self.zones():
            raise invalid(f"Invalid availability zone: [{req.zone}]")

    @staticmethod
    def _host_in(s: Session, zone: str) -> str:
        """The host that keeps a new volume: the first of the zone whose driver attaches
        volumes (the local backend keeps it on that host)."""
        for host in s.scalars(select(Host).where(Host.availability_zone == zone,
                                                 Host.enabled.is_(True)).order_by(Host.name)):
            if capabilities_of(host.driver).volumes:
                return host.id
        raise InsufficientCapacity("InsufficientVolumeCapacity",
                                   f"No host in {zone} can keep volumes.")

    # finding --------------------------------------------------------------------------------
    @staticmethod
    def find(s: Session, ctx: Context, volume_id: str, lock: bool = False) -> Volume:
        check_volume_ids([volume_id])
        query = select(Volume).where(Volume.id == volume_id,
                                     Volume.project_id == ctx.project_id,
                                     Volume.state.in_([str(x) for x in VOLUME_LIVE]))
        row = s.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise volume_not_found(volume_id)
        return row

    def exists(self, s: Session, ctx: Context, volume_id: str) -> bool:
        """For tags: a live volume of the project (or a live instance's root volume)."""
        return s.scalar(select(Volume.id).where(
            Volume.id == volume_id, Volume.project_id == ctx.project_id,
            Volume.state != VolumeState.DELETED)) is not None or \
            RootVolumes.attached_exists(s, ctx, volume_id)

    def _root_volume_of(self, ctx: Context, volume_id: str) -> VolumeView | None:
        roots = self.root_volumes.describe(ctx, [], [], None, None)[0]
        return next((root_view(t.item) for t in roots if t.item.id == volume_id), None)

    # changing -------------------------------------------------------------------------------
    def delete(self, ctx: Context, volume_id: str, dry_run: bool = False) -> None:
        check_volume_ids([volume_id])
        with self.db.session() as s:
            row = s.scalar(select(Volume).where(
                Volume.id == volume_id, Volume.project_id == ctx.project_id,
                Volume.state.in_([str(x) for x in VOLUME_LIVE])).with_for_update())
            if row is None:
                self._refuse_root(ctx, volume_id)
                raise volume_not_found(volume_id)
            attached = s.get(VolumeAttachment, volume_id)
            if attached is not None:
                raise Conflict("VolumeInUse", f"Volume {volume_id} is currently attached to "
                               f"{attached.instance_id}")
            if row.state == VolumeState.DELETING:
                return
            if s.scalar(select(VolumeSnapshot.id).where(
                    VolumeSnapshot.volume_id == volume_id,
                    VolumeSnapshot.state == SnapshotState.PENDING).limit(1)) is not None:
                raise Conflict("IncorrectState", f"The volume '{volume_id}' has a snapshot "
                               "being written; delete it once the snapshot is completed.")
            target = next_volume_state(volume_id, row.state, "delete")
            if dry_run:
                raise DryRunOk()
            row.state, row.updated_at = target, utcnow()
            s.execute(delete(Tag).where(Tag.resource_id == volume_id))
        self.wake()

    def _refuse_root(self, ctx: Context, volume_id: str) -> None:
        root = self._root_volume_of(ctx, volume_id)
        if root is not None and root.attachment is not None:
            raise Conflict("VolumeInUse", f"Volume {volume_id} is currently attached to "
                           f"{root.attachment.instance_id}")

    def modify(self, ctx: Context, volume_id: str, change: VolumeChange,
               dry_run: bool = False) -> tuple[VolumeView, VolumeView]:
        """The volume before and after: a larger size is grown by its host's agent, the other
        settings only change what the volume reports (one local backend serves every type)."""
        with self.db.session() as s:
            row = self.find(s, ctx, volume_id, lock=True)
            if row.state not in (VolumeState.AVAILABLE, VolumeState.IN_USE):
                raise Conflict("IncorrectState", f"The volume '{volume_id}' is '{row.state}' "
                               "and cannot be modified.")
            size = row.size_gib if change.size_gib is None else change.size_gib
            if size < row.size_gib:
                raise invalid(f"New size ({size}) cannot be smaller than the existing size "
                              f"({row.size_gib}).")
            kind = change.volume_type or row.volume_type
            iops = change.iops if change.iops is not None else (
                row.iops if kind == row.volume_type else None)
            throughput = change.throughput if change.throughput is not None else (
                row.throughput if kind == row.volume_type else None)
            check_type(kind, size, iops, throughput)
            if size > row.size_gib:
                self.quotas.check_size(s, ctx.project_id, volume_id, size)
            if dry_run:
                raise DryRunOk()
            attached = s.get(VolumeAttachment, volume_id)
            before = volume_view(row, attached)
            row.original_size_gib, row.original_type = row.size_gib, row.volume_type
            row.size_gib, row.volume_type, row.iops, row.throughput = size, kind, iops, \
                throughput
            row.updated_at = row.modified_at = utcnow()
            after = volume_view(row, attached)
        self.wake()
        return before, after

    # describing -----------------------------------------------------------------------------
    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None, token: str | None,
                 known: dict[str, flt.Extractor] = VOLUME_FILTERS,
                 ) -> tuple[list[flt.Tagged[VolumeView]], str | None]:
        """The project's volumes and its instances' root volumes."""
        check_volume_ids(ids)
        flt.check_filters(filters, known)
        flt.check_max_results(max_results, 5, 500)
        if ids and max_results is not None:
            raise InvalidParameter("InvalidParameterCombination", "The parameter volumeSet "
                                   "cannot be used with the parameter maxResults")
        roots = self.root_volumes.describe(ctx, [], [], None, None)[0]
        items = [flt.Tagged(root_view(t.item), t.tags) for t in roots]
        with self.db.read() as s:
            rows = list(s.execute(
                select(Volume, VolumeAttachment)
                .outerjoin(VolumeAttachment, VolumeAttachment.volume_id == Volume.id)
                .where(Volume.project_id == ctx.project_id,
                       Volume.state.in_([str(x) for x in VOLUME_LIVE]))))
            tags = tagsvc.for_resources(s, ctx.project_id, [v.id for v, _ in rows])
        items += [flt.Tagged(volume_view(v, a), tags.get(v.id, {})) for v, a in rows]
        if ids:
            found = {t.item.id for t in items}
            missing = [i for i in dict.fromkeys(ids) if i not in found]
            if missing:
                raise NotFound("InvalidVolume.NotFound",
                               f"The volume '{', '.join(missing)}' does not exist.")
            items = [t for t in items if t.item.id in set(ids)]
        found_items = [t for t in items if flt.matches(t, filters, known)]
        return flt.page(found_items, lambda t: t.item.id, max_results, token)

    def modifications(self, ctx: Context, ids: Sequence[str]) -> list[Modification]:
        """The last ModifyVolume of each (named) volume: optimizing until its host has grown
        the disk, then completed."""
        check_volume_ids(ids)
        with self.db.read() as s:
            query = select(Volume).where(Volume.project_id == ctx.project_id,
                                         Volume.state.in_([str(x) for x in VOLUME_LIVE]))
            rows = {r.id: r for r in s.scalars(query.where(Volume.id.in_(ids)) if ids
                                               else query.where(Volume.modified_at.is_not(None)))}
        for volume_id in ids:
            if volume_id not in rows or rows[volume_id].modified_at is None:
                raise NotFound("InvalidVolumeModification.NotFound", "Modification for volume "
                               f"'{volume_id}' does not exist.")
        return [Modification(volume_view(r, None), r.original_size_gib or r.size_gib,
                             r.original_type or r.volume_type, as_utc(r.modified_at),
                             r.provisioned_bytes >= r.size_gib * GIB)
                for r in sorted(rows.values(), key=lambda r: r.id) if r.modified_at]
