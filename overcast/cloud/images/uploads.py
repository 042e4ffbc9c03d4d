"""Images made through the OpenStack Image API: a queued record first, then the data,
streamed into the image store (hashed on the way, never held in memory) and probed with the
same safety checks as every other image before it becomes available. Glance's own
attributes (status, visibility, tags, properties, checksums) live beside the image row."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from overcast.cloud.images.quotas import ImageQuotas
from overcast.cloud.images.records import GlanceAttributes
from overcast.cloud.images.store import ImageStore
from overcast.db import Database, utcnow
from overcast.db.models import Image, Project
from overcast.db.models_openstack import GlanceImage
from overcast.errors import Conflict, Forbidden, InvalidParameter, QuotaExceeded, invalid
from overcast.identity.context import Context
from overcast.ids import new_id, new_uuid
from overcast.images.probe import ImageInfo, UnsafeImage, probe

MAX_IMAGE_BYTES = 1024**4  # Glance's default image_size_cap
CHUNK = 1024 * 1024
QUOTA_STEP = 8 * CHUNK  # an upload's size is checked against the quota (and shown) this often
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso",
                "ploop")
CONTAINER_FORMATS = ("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed")
VISIBILITIES = ("public", "private", "shared", "community")


@dataclass
class NewImage:
    name: str | None = None
    disk_format: str | None = None
    container_format: str | None = None
    visibility: str = "shared"
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    tags: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    image_id: str | None = None  # the caller may choose the UUID
    owner: str | None = None


@dataclass(frozen=True)
class ImageRecord:
    image: Image
    attrs: GlanceAttributes


def check_choice(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise invalid(f"Invalid value '{value}' for {what}: use one of {', '.join(allowed)}.")


@dataclass(frozen=True)
class Received:
    path: Path
    size: int
    md5: str
    sha512: str
    info: ImageInfo


class ImageUploads:
    def __init__(self, db: Database, store: ImageStore, quotas: ImageQuotas) -> None:
        self.db = db
        self.store = store
        self.quotas = quotas

    # records ------------------------------------------------------------------------------
    def attributes(self, image_ids: Iterable[str]) -> dict[str, GlanceAttributes]:
        ids = list(image_ids)
        if not ids:
            return {}
        with self.db.read() as s:
            return {a.image_id: GlanceAttributes.of(a) for a in s.scalars(
                select(GlanceImage).where(GlanceImage.image_id.in_(ids)))}

    def create(self, ctx: Context, spec: NewImage) -> ImageRecord:
        check_choice(spec.disk_format, DISK_FORMATS, "disk_format")
        check_choice(spec.container_format, CONTAINER_FORMATS, "container_format")
        check_choice(spec.visibility, VISIBILITIES, "visibility")
        if spec.visibility in ("public", "community") and not ctx.is_admin:
            raise Forbidden("Forbidden", "Only an administrator may publicize images.")
        now = utcnow()
        image = Image(id=new_id("ami"), uuid=spec.image_id or new_uuid(),
                      project_id=ctx.project_id, name=spec.name or "", description="",
                      state="pending", is_public=spec.visibility in ("public", "community"),
                      disk_path=None, disk_format=spec.disk_format or "raw", size_bytes=0,
                      created_at=now, image_location=f"{ctx.account_id}/{spec.name or ''}")
        attrs = GlanceImage(image_id=image.id, status="queued", visibility=spec.visibility,
                            container_format=spec.container_format,
                            disk_format=spec.disk_format, min_disk=spec.min_disk,
                            min_ram=spec.min_ram, protected=spec.protected,
                            tags=json.dumps(sorted(set(spec.tags))),
                            properties=json.dumps(spec.properties), updated_at=now)
        with self.db.session() as s:
            if s.scalar(select(Image.id).where(Image.uuid == image.uuid)):
                raise Conflict("Conflict", f"An image with ID {image.uuid} exists.")
            self.quotas.check_new(s, image.project_id)
            s.add(image)
            s.flush()
            s.add(attrs)
            if spec.owner is not None:
                self._set_owner(s, ctx, image, attrs, spec.owner)
            return ImageRecord(image, GlanceAttributes.of(attrs))

    def usage(self, ctx: Context) -> dict[str, tuple[int, int]]:
        """Glance's quota usage of the caller's project: (limit, usage) by resource, sizes in
        MiB as Glance counts them."""
        with self.db.read() as s:
            limits, count, size = self.quotas.usage(s, ctx.project_id)
        return {"image_size_total": (limits.image_bytes // 2**20, size // 2**20),
                "image_count_total": (limits.images, count)}

    def record(self, image_id: str) -> ImageRecord:
        """An image as it is now, whoever holds it (for answering a change that gave it away)."""
        with self.db.session() as s:
            image, attrs = s.get(Image, image_id), s.get(GlanceImage, image_id)
        if image is None or attrs is None:
            raise InvalidParameter("NotFound", f"No image {image_id}.")
        return ImageRecord(image, GlanceAttributes.of(attrs))

    def _owned(self, s: Any, ctx: Context, image_id: str) -> tuple[Image, GlanceImage]:
        image = s.get(Image, image_id)
        if image is None or image.deregistered_at is not None:
            raise InvalidParameter("NotFound", f"No image {image_id}.")
        if not (image.project_id == ctx.project_id or ctx.is_admin):
            raise Forbidden("Forbidden", "You are not permitted to modify this image.")
        attrs = s.get(GlanceImage, image_id)
        if attrs is None:  # an image registered elsewhere: give it Glance's attributes
            attrs = GlanceImage(image_id=image_id, status="active" if image.state ==
                                "available" else "queued",
                                visibility="public" if image.is_public else "private",
                                container_format="bare", disk_format=image.disk_format,
                                min_disk=0, min_ram=0, protected=False, tags="[]",
                                properties="{}", updated_at=utcnow())
            s.add(attrs)
        return image, attrs

    def update(self, ctx: Context, image_id: str, changes: dict[str, Any]) -> None:
        """Set Glance attributes (already validated by the face) on an image one owns."""
        with self.db.session() as s:
            image, attrs = self._owned(s, ctx, image_id)
            for key, value in changes.items():
                if key == "owner":
                    self._set_owner(s, ctx, image, attrs, value)
                else:
                    self._set(ctx, image, attrs, key, value)
            attrs.updated_at = utcnow()

    @staticmethod
    def _set_owner(s: Any, ctx: Context, image: Image, attrs: GlanceImage, owner: str) -> None:
        """Glance's owner, which only an administrator changes: an existing project's ID hands
        the image to that project; any other string (Glance takes any) is recorded and shown
        as the owner while the image stays with the project that holds it."""
        if owner == (attrs.owner or image.project_id):
            return
        if not ctx.is_admin:
            raise Forbidden("Forbidden", "Only an administrator may change an image's owner.")
        if owner == image.project_id or s.get(Project, owner) is not None:
            image.project_id, attrs.owner = owner, None
        else:
            attrs.owner = owner

    @staticmethod
    def _set(ctx: Context, image: Image, attrs: GlanceImage, key: str, value: Any) -> None:
        if key == "name":
            image.name = value or ""
        elif key == "visibility":
            check_choice(value, VISIBILITIES, "visibility")
            if value in ("public", "community") and not ctx.is_admin:
                raise Forbidden("Forbidden", "Only an administrator may publicize images.")
            attrs.visibility = value
            image.is_public = value in ("public", "community")
        elif key in ("disk_format", "container_format"):
            if attrs.status != "queued":
                raise Forbidden("Forbidden", f"{key} cannot change once the image has data.")
            check_choice(value, DISK_FORMATS if key == "disk_format" else CONTAINER_FORMATS,
                         key)
            setattr(attrs, key, value)
            if key == "disk_format" and value:
                image.disk_format = value
        elif key in ("min_disk", "min_ram", "protected"):
            setattr(attrs, key, value)
        elif key == "tags":
            attrs.tags = json.dumps(sorted(set(value)))
        elif key == "properties":
            attrs.properties = json.dumps(value)
        else:
            raise invalid(f"Attribute '{key}' is read-only.")

    def set_active(self, ctx: Context, image_id: str, active: bool) -> None:
        """Deactivate an active image (its data is no longer served) or reactivate it."""
        with self.db.session() as s:
            _image, attrs = self._owned(s, ctx, image_id)
            if attrs.status not in ("active", "deactivated"):
                raise Conflict("Conflict", f"Image status {attrs.status} cannot change to "
                               f"{'active' if active else 'deactivated'}.")
            attrs.status = "active" if active else "deactivated"
            attrs.updated_at = utcnow()

    def delete(self, ctx: Context, image_id: str) -> None:
        with self.db.session() as s:
            image, attrs = self._owned(s, ctx, image_id)
            if attrs.protected:
                raise Forbidden("Forbidden", f"Image {image.uuid} is protected and cannot "
                                "be deleted.")
            image.deregistered_at = utcnow()
            image.state = "deregistered"
            image.is_public = False
            attrs.status = "deleted"
        self.store.collect()

    # data ---------------------------------------------------------------------------------
    def upload(self, ctx: Context, image_id: str, chunks: Iterable[bytes]) -> None:
        """Stream data into the store; the image becomes active once it passed the checks.
        The temporary file is locked before the image reads `saving`: an image `saving`
        without a locked file is an upload that died (ImageStore.recover_uploads)."""
        with self.store.spool(image_id) as (fd, tmp):
            image = self._begin(ctx, image_id)
            try:
                self._finish(image, self._receive(image, fd, tmp, chunks))
            except UnsafeImage as exc:
                self._set_status(image_id, "queued")
                raise invalid(f"Image data refused: {exc}") from exc
            except BaseException:  # over quota, a full disk, a client that went away
                self._set_status(image_id, "queued")
                raise

    def _begin(self, ctx: Context, image_id: str) -> Image:
        with self.db.session() as s:
            image, attrs = self._owned(s, ctx, image_id)
            if attrs.status != "queued":
                raise Conflict("Conflict", f"Image {image.uuid} already has data (status "
                               f"{attrs.status}).")
            if not attrs.disk_format or not attrs.container_format:
                raise invalid("Set disk_format and container_format before uploading data.")
            attrs.status = "saving"
            image.disk_format = attrs.disk_format
        return image

    def _finish(self, image: Image, got: Received) -> None:
        """Move the checked data into place and make the image active (if still wanted)."""
        final = got.path.with_name(f"{image.uuid}.{got.info.format}")
        try:
            with self.db.session() as s:
                row, glance = s.get(Image, image.id), s.get(GlanceImage, image.id)
                if row is None or glance is None or row.deregistered_at is not None:
                    raise InvalidParameter("NotFound", "The image was deleted during the "
                                           "upload.")
                self.quotas.check_size(s, row.project_id, image.id, got.size)
                os.replace(got.path, final)
                row.disk_path, row.disk_format = str(final), got.info.format
                row.size_bytes, row.state = got.size, "available"
                glance.status, glance.checksum = "active", got.md5
                glance.os_hash_value, glance.data_size = got.sha512, got.size
                glance.virtual_size, glance.updated_at = got.info.virtual_size, utcnow()
        except BaseException:
            final.unlink(missing_ok=True)
            raise

    def _set_status(self, image_id: str, status: str) -> None:
        with self.db.session() as s:
            attrs, image = s.get(GlanceImage, image_id), s.get(Image, image_id)
            if attrs is not None and attrs.status != "deleted":
                attrs.status = status
            if image is not None and status == "queued":
                image.size_bytes = 0

    def _grew(self, image: Image, size: int) -> None:
        """Check an upload's size so far against the quota and record it, so that other
        uploads of the project count it."""
        with self.db.session() as s:
            self.quotas.check_size(s, image.project_id, image.id, size)
            s.execute(update(Image).where(Image.id == image.id).values(size_bytes=size))

    def _receive(self, image: Image, fd: int, tmp: Path, chunks: Iterable[bytes]) -> Received:
        md5, sha512, size, checked = hashlib.md5(), hashlib.sha512(), 0, 0
        with os.fdopen(fd, "wb", closefd=False) as out:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_IMAGE_BYTES:
                    raise QuotaExceeded("RequestEntityTooLarge",
                                        "The image is larger than this cloud accepts.")
                if size - checked >= QUOTA_STEP:
                    self._grew(image, size)
                    checked = size
                md5.update(chunk)
                sha512.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise invalid("The upload carried no data.")
        self._grew(image, size)
        tmp.chmod(0o444)
        info = probe(tmp)
        if image.disk_format != info.format:
            raise UnsafeImage(f"the data is {info.format}, not {image.disk_format}")
        return Received(tmp, size, md5.hexdigest(), sha512.hexdigest(), info)

    @staticmethod
    def read(path: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        with open(path, "rb") as stream:
            while chunk := stream.read(chunk_size):
                yield chunk
