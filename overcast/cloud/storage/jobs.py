"""The agent's side of volumes: what a host owes (disks to make, grow or remove; disks to
plug into or unplug from its instances) and the reports that settle each. Every job is
idempotent: a host that crashed midway is handed the same job again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from overcast.db import Database, utcnow
from overcast.db.models import Instance, Tag
from overcast.db.models_volumes import Volume, VolumeAttachment, VolumeSnapshot
from overcast.drivers.base import VolumeDisk
from overcast.lifecycle import (
    AttachmentState,
    SnapshotState,
    State,
    VolumeState,
    next_volume_state,
)

GIB = 1024**3


@dataclass(frozen=True)
class VolumeJob:
    kind: str  # create | grow | delete | attach | detach | snapshot | delete_snapshot
    volume_id: str
    size_gib: int = 0
    instance_id: str = ""  # attach, detach; grow and snapshot when attached
    instance_state: str = ""
    path: str = ""
    force: bool = False
    snapshot_id: str = ""  # snapshot, delete_snapshot; create from a snapshot
    source: str = ""  # create: the snapshot's file


class VolumeJobs:
    def __init__(self, db: Database) -> None:
        self.db = db

    def jobs(self, host_id: str) -> list[VolumeJob]:
        """What this host owes, after letting go of the volumes of its ended instances."""
        self.release_ended(host_id)
        with self.db.read() as s:
            return (self._disk_jobs(s, host_id) + self._attachment_jobs(s, host_id)
                    + self._snapshot_jobs(s, host_id))

    @staticmethod
    def _disk_jobs(s: Session, host_id: str) -> list[VolumeJob]:
        found: list[VolumeJob] = []
        rows = s.execute(select(Volume, VolumeAttachment.instance_id, Instance.state)
                         .outerjoin(VolumeAttachment, VolumeAttachment.volume_id == Volume.id)
                         .outerjoin(Instance, Instance.id == VolumeAttachment.instance_id)
                         .where(Volume.host_id == host_id, or_(
                             Volume.state.in_([VolumeState.CREATING, VolumeState.DELETING]),
                             Volume.provisioned_bytes < cast(Volume.size_gib, BigInteger) * GIB)))
        for volume, instance_id, instance_state in rows:
            if volume.state == VolumeState.CREATING:
                source = s.scalar(select(VolumeSnapshot.backing_path).where(
                    VolumeSnapshot.id == volume.snapshot_id)) if volume.snapshot_id else ""
                found.append(VolumeJob("create", volume.id, volume.size_gib, instance_id or "",
                                       instance_state or "", snapshot_id=volume.snapshot_id,
                                       source=source or ""))
            elif volume.state == VolumeState.DELETING:
                found.append(VolumeJob("delete", volume.id))
            elif volume.state in (VolumeState.AVAILABLE, VolumeState.IN_USE):
                found.append(VolumeJob("grow", volume.id, volume.size_gib, instance_id or "",
                                       instance_state or "", volume.backing_path))
        return found

    @staticmethod
    def _attachment_jobs(s: Session, host_id: str) -> list[VolumeJob]:
        rows = s.execute(select(VolumeAttachment, Instance.state, Volume.backing_path)
                         .join(Instance, Instance.id == VolumeAttachment.instance_id)
                         .join(Volume, Volume.id == VolumeAttachment.volume_id)
                         .where(Instance.host_id == host_id, VolumeAttachment.state.in_(
                             [AttachmentState.ATTACHING, AttachmentState.DETACHING]),
                             Volume.state != VolumeState.CREATING))  # a launch's: made first
        return [VolumeJob("attach" if a.state == AttachmentState.ATTACHING else "detach",
                          a.volume_id, 0, a.instance_id, state, path, a.force)
                for a, state, path in rows]

    @staticmethod
    def _snapshot_jobs(s: Session, host_id: str) -> list[VolumeJob]:
        rows = s.execute(select(VolumeSnapshot, VolumeAttachment.instance_id, Instance.state)
                         .outerjoin(VolumeAttachment,
                                    VolumeAttachment.volume_id == VolumeSnapshot.volume_id)
                         .outerjoin(Instance, Instance.id == VolumeAttachment.instance_id)
                         .where(VolumeSnapshot.host_id == host_id, VolumeSnapshot.state.in_(
                             [SnapshotState.PENDING, SnapshotState.DELETING])))
        return [VolumeJob("snapshot" if snap.state == SnapshotState.PENDING
                          else "delete_snapshot", snap.volume_id, snap.volume_size,
                          instance_id or "", state or "", snapshot_id=snap.id)
                for snap, instance_id, state in rows]

    def release_ended(self, host_id: str | None = None) -> None:
        """Attachments of terminated instances (of this host, or of every host) end: the
        volume is available again, or deleted with its instance when DeleteOnTermination
        says so. Also before terminated instances are forgotten: no attachment outlives its
        instance's row, whatever became of its host's agent."""
        query = (select(VolumeAttachment)
                 .join(Instance, Instance.id == VolumeAttachment.instance_id)
                 .where(Instance.state == State.TERMINATED))
        if host_id is not None:
            query = query.where(Instance.host_id == host_id)
        with self.db.read() as s:  # every tick: mostly nothing, so a read first
            if s.scalar(query.with_only_columns(VolumeAttachment.volume_id).limit(1)) is None:
                return
        with self.db.session() as s:
            for attachment in s.scalars(query.with_for_update()):
                _end_attachment(s, attachment)

    @staticmethod
    def release_instance(s: Session, instance_id: str) -> None:
        """The instance has just terminated (in the caller's transaction): its attachments
        end at once, so DescribeVolumes shows them let go as the instance reads
        terminated."""
        for attachment in s.scalars(select(VolumeAttachment).where(
                VolumeAttachment.instance_id == instance_id).with_for_update()):
            _end_attachment(s, attachment)

    @staticmethod
    def attached_disks(s: Session, instance_ids: list[str],
                       ) -> dict[str, tuple[VolumeDisk, ...]]:
        """The volumes each VM should start with (cold attach), in the order they were
        attached; one query for a launch storm's rows."""
        found: dict[str, list[VolumeDisk]] = {}
        if not instance_ids:
            return {}
        rows = s.execute(select(VolumeAttachment.instance_id, VolumeAttachment.volume_id,
                                Volume.backing_path)
                         .join(Volume, Volume.id == VolumeAttachment.volume_id)
                         .where(VolumeAttachment.instance_id.in_(instance_ids),
                                VolumeAttachment.state.in_([AttachmentState.ATTACHING,
                                                            AttachmentState.ATTACHED,
                                                            AttachmentState.DETACHING]))
                         .order_by(VolumeAttachment.attach_time))
        for instance_id, volume_id, path in rows:
            if path:
                found.setdefault(instance_id, []).append(VolumeDisk(volume_id, path))
        return {instance_id: tuple(disks) for instance_id, disks in found.items()}

    # reports --------------------------------------------------------------------------------
    def _set_volume(self, volume_id: str, expected: VolumeState, **values: object) -> None:
        with self.db.session() as s:
            s.execute(update(Volume).where(Volume.id == volume_id, Volume.state == expected)
                      .values(updated_at=utcnow(), **values))

    def created(self, volume_id: str, path: str, size_bytes: int) -> None:
        """Available, or in use when a launch's block-device mapping attached it."""
        with self.db.read() as s:
            event = "created_attached" if s.get(VolumeAttachment, volume_id) else "created"
        self._set_volume(volume_id, VolumeState.CREATING,
                         state=next_volume_state(volume_id, VolumeState.CREATING, event),
                         backing_path=path, provisioned_bytes=size_bytes)

    def create_failed(self, volume_id: str, reason: str) -> None:
        self._set_volume(volume_id, VolumeState.CREATING, state=VolumeState.ERROR,
                         state_reason=reason)

    def grown(self, volume_id: str, size_bytes: int) -> None:
        with self.db.session() as s:
            s.execute(update(Volume).where(Volume.id == volume_id)
                      .values(provisioned_bytes=size_bytes, updated_at=utcnow()))

    def deleted(self, volume_id: str) -> None:
        with self.db.session() as s:
            s.execute(delete(Tag).where(Tag.resource_id == volume_id))
            s.execute(delete(Volume).where(Volume.id == volume_id,
                                           Volume.state == VolumeState.DELETING))

    def attached(self, volume_id: str) -> None:
        with self.db.session() as s:
            s.execute(update(VolumeAttachment).where(
                VolumeAttachment.volume_id == volume_id,
                VolumeAttachment.state == AttachmentState.ATTACHING)
                .values(state=AttachmentState.ATTACHED, error=""))

    def detached(self, volume_id: str) -> None:
        """Also the end of an attach that failed: nothing stays half-attached."""
        with self.db.session() as s:
            s.execute(delete(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id))
            s.execute(update(Volume).where(Volume.id == volume_id,
                                           Volume.state == VolumeState.IN_USE)
                      .values(state=VolumeState.AVAILABLE, updated_at=utcnow()))

    def snapshot_written(self, snapshot_id: str, path: str) -> None:
        with self.db.session() as s:
            s.execute(update(VolumeSnapshot).where(VolumeSnapshot.id == snapshot_id,
                                                   VolumeSnapshot.state == SnapshotState.PENDING)
                      .values(state=SnapshotState.COMPLETED, backing_path=path))

    def snapshot_failed(self, snapshot_id: str, reason: str) -> None:
        with self.db.session() as s:
            s.execute(update(VolumeSnapshot).where(VolumeSnapshot.id == snapshot_id,
                                                   VolumeSnapshot.state == SnapshotState.PENDING)
                      .values(state=SnapshotState.ERROR, state_message=reason))

    def snapshot_deleted(self, snapshot_id: str) -> None:
        with self.db.session() as s:
            s.execute(delete(Tag).where(Tag.resource_id == snapshot_id))
            s.execute(delete(VolumeSnapshot).where(
                VolumeSnapshot.id == snapshot_id, VolumeSnapshot.state == SnapshotState.DELETING))

    def held(self, volume_id: str, reason: str) -> None:
        """A detach the guest has not allowed yet: retried; the reason is kept."""
        with self.db.session() as s:
            s.execute(update(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id)
                      .values(error=reason))


def _end_attachment(s: Session, attachment: VolumeAttachment) -> None:
    """The volume is available again, or deleted with its instance when DeleteOnTermination
    says so (the agent removes its file)."""
    if attachment.delete_on_termination:
        s.execute(update(Volume).where(Volume.id == attachment.volume_id)
                  .values(state=VolumeState.DELETING, updated_at=utcnow()))
    else:  # one a launch made and its host has not yet: available once made
        s.execute(update(Volume).where(Volume.id == attachment.volume_id,
                                       Volume.state != VolumeState.CREATING)
                  .values(state=VolumeState.AVAILABLE, updated_at=utcnow()))
    if attachment.delete_on_termination:
        s.execute(delete(Tag).where(Tag.resource_id == attachment.volume_id))
    s.delete(attachment)
