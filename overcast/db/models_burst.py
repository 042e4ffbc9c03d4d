"""Burst targets: remote EC2-compatible clouds that take instances when local hosts are full
(migration 0201_burst)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class BurstCloudId(Base):
    """This cloud's one ID, made once; remote instances are tagged with it."""

    __tablename__ = "burst_cloud_id"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class BurstTarget(Base):
    __tablename__ = "burst_targets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(Text)
    region: Mapped[str] = mapped_column(String(64))
    access_key_id: Mapped[str] = mapped_column(String(128))
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    max_instances: Mapped[int | None] = mapped_column(Integer)
    max_vcpus: Mapped[int | None] = mapped_column(Integer)
    # the availability zone users name to ask for this target, and the Host row its agent
    # keeps alive (instances placed here carry this host_id)
    zone: Mapped[str] = mapped_column(String(64), unique=True)
    host_id: Mapped[str] = mapped_column(ForeignKey("hosts.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_contact: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_count: Mapped[int] = mapped_column(Integer, default=0)


class BurstProject(Base):
    """A project allowed to burst to a target."""

    __tablename__ = "burst_projects"
    target_id: Mapped[str] = mapped_column(ForeignKey("burst_targets.id"), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), primary_key=True)


class BurstImage(Base):
    """A local image ID and the remote AMI that holds the same OS."""

    __tablename__ = "burst_images"
    target_id: Mapped[str] = mapped_column(ForeignKey("burst_targets.id"), primary_key=True)
    local_image_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    remote_image_id: Mapped[str] = mapped_column(String(64))


class BurstInstanceType(Base):
    """A local instance type and the remote one; a type not listed keeps its name."""

    __tablename__ = "burst_instance_types"
    target_id: Mapped[str] = mapped_column(ForeignKey("burst_targets.id"), primary_key=True)
    local_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    remote_type: Mapped[str] = mapped_column(String(64))
