"""Frozen views of Glance's rows, the form in which they leave the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from overcast.clock import as_utc
from overcast.db.models import Image
from overcast.db.models_openstack import GlanceImage, ImageMember


@dataclass(frozen=True)
class GlanceAttributes:
    """What Glance says about an image that EC2 has no words for."""

    image_id: str
    status: str
    visibility: str
    container_format: str | None
    disk_format: str | None
    checksum: str | None
    os_hash_value: str | None
    data_size: int | None
    virtual_size: int | None
    min_disk: int
    min_ram: int
    protected: bool
    tags: str  # JSON list
    properties: str  # JSON object
    owner: str | None
    updated_at: datetime

    @classmethod
    def of(cls, row: GlanceImage) -> GlanceAttributes:
        return cls(row.image_id, row.status, row.visibility, row.container_format,
                   row.disk_format, row.checksum, row.os_hash_value, row.data_size,
                   row.virtual_size, row.min_disk, row.min_ram, row.protected, row.tags,
                   row.properties, row.owner, as_utc(row.updated_at))

    @classmethod
    def defaults(cls, image: Image) -> GlanceAttributes:
        """What Glance shows for an image registered elsewhere (EC2, the built-in one)."""
        return cls(image.id, "active" if image.state == "available" else "queued",
                   "public" if image.is_public else "private", "bare", image.disk_format,
                   None, None, image.size_bytes or None, None, 0, 0, False, "[]", "{}", None,
                   as_utc(image.created_at))


@dataclass(frozen=True)
class MemberRecord:
    """A project an image is shared with, and its answer (Glance's image members)."""

    image_id: str
    project_id: str
    status: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: ImageMember) -> MemberRecord:
        return cls(row.image_id, row.project_id, row.status, as_utc(row.created_at),
                   as_utc(row.updated_at))
