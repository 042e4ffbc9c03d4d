"""EBS volumes, their attachments to instances and their snapshots (migration 0921_volumes).

A volume lives on one host (the local storage backend keeps it as a qcow2 file there); its
state and its attachments' states follow the tables in overcast/lifecycle.py."""

from __future__ import annotations

import uuid as uuidlib
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class Volume(Base):
    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # vol-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    availability_zone: Mapped[str] = mapped_column(String(64))
    size_gib: Mapped[int] = mapped_column(Integer)
    volume_type: Mapped[str] = mapped_column(String(16))
    iops: Mapped[int | None] = mapped_column(Integer)
    throughput: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_reason: Mapped[str] = mapped_column(Text, default="")
    snapshot_id: Mapped[str] = mapped_column(String(32), default="")
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    # where it is kept: the host whose storage backend holds it, and the backend's name for
    # it there (a file path for `local`), reported by that host once made
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"), index=True)
    backend: Mapped[str] = mapped_column(String(16), default="local")
    backing_path: Mapped[str] = mapped_column(Text, default="")
    # bytes the backing file holds; less than size_gib after ModifyVolume until grown
    provisioned_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the last ModifyVolume: what the volume was, and when it was asked
    modified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    original_size_gib: Mapped[int | None] = mapped_column(Integer)
    original_type: Mapped[str | None] = mapped_column(String(16))
    # added by 0975_cinder_ids: the Cinder face's ID and description (its name and metadata
    # are the volume's tags)
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True, index=True,
                                             default=lambda: str(uuidlib.uuid4()))
    description: Mapped[str | None] = mapped_column(Text, default="")


class VolumeAttachment(Base):
    """A volume's attachment to an instance; gone once detached. One per volume (no
    multi-attach)."""

    __tablename__ = "volume_attachments"
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    device: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    force: Mapped[bool] = mapped_column(Boolean, default=False)  # DetachVolume Force
    error: Mapped[str] = mapped_column(Text, default="")  # why the host has not done it yet
    attach_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VolumeSnapshot(Base):
    """A point-in-time copy of a volume, kept by the host that kept the volume."""

    __tablename__ = "volume_snapshots"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # snap-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    volume_id: Mapped[str] = mapped_column(String(32), index=True)  # may be deleted since
    volume_size: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    state_message: Mapped[str] = mapped_column(Text, default="")
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"), index=True)
    backing_path: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # added by 0975_cinder_ids: the Cinder face's ID (its name is the Name tag)
    uuid: Mapped[str | None] = mapped_column(String(36), unique=True, index=True,
                                             default=lambda: str(uuidlib.uuid4()))
