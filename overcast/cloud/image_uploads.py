"""Images made through the OpenStack Image API: a queued record first, then the data,
streamed into the image store (hashed on the way, never held in memory) and probed with the
same safety checks as every other image before it becomes available. Glance's own
attributes (status, visibility, tags, properties, checksums) live beside the image row."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from overcast.db import Database, utcnow
from overcast.db.models import Image, Project
from overcast.db.models_openstack import GlanceImage
from overcast.errors import Conflict, Forbidden, InvalidParameter, QuotaExceeded, invalid
from overcast.identity.context import Context
from overcast.ids import new_id, new_uuid
from overcast.images.importer import store_dir
from overcast.images.probe import UnsafeImage, probe

MAX_IMAGE_BYTES = 1024**4  # Glance's default image_size_cap
CHUNK = 1024 * 1024
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
    attrs: GlanceImage


def check_choice(value: str | None, allowed: tuple[str, ...], what: str) -> None:
    if value is not None and value not in allowed:
        raise invalid(f"Invalid value '{value}' for {what}: use one of {', '.join(allowed)}.")


class ImageUploads:
    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.data_dir = data_dir

    # records ------------------------------------------------------------------------------
    def attributes(self, image_ids: Iterable[str]) -> dict[str, GlanceImage]:
        ids = list(image_ids)
        if not ids:
            return {}
        with self.db.session() as s:
            return {a.image_id: a for a in s.scalars(
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
            s.add(image)
            s.flush()
            s.add(attrs)
            if spec.owner is not None:
                self._set_owner(s, ctx, image, attrs, spec.owner)
        return ImageRecord(image, attrs)

    def record(self, image_id: str) -> ImageRecord:
        """An image as it is now, whoever holds it (for answering a change that gave it away)."""
        with self.db.session() as s:
            image, attrs = s.get(Image, image_id), s.get(GlanceImage, image_id)
        if image is None or attrs is None:
            raise InvalidParameter("NotFound", f"No image {image_id}.")
        return ImageRecord(image, attrs)

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

    # data ---------------------------------------------------------------------------------
    def upload(self, ctx: Context, image_id: str, chunks: Iterable[bytes]) -> None:
        """Stream data into the store; the image becomes active once it passed the checks."""
        with self.db.session() as s:
            image, attrs = self._owned(s, ctx, image_id)
            if attrs.status != "queued":
                raise Conflict("Conflict", f"Image {image.uuid} already has data (status "
                               f"{attrs.status}).")
            if not attrs.disk_format or not attrs.container_format:
                raise invalid("Set disk_format and container_format before uploading data.")
            attrs.status = "saving"
        try:
            path, size, md5, sha512 = self._receive(image.uuid, chunks)
            try:
                info = probe(path)
                if attrs.disk_format != info.format:
                    raise UnsafeImage(f"the data is {info.format}, not {attrs.disk_format}")
                final = path.with_name(f"{image.uuid}.{info.format}")
                os.replace(path, final)
                path = final
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        except UnsafeImage as exc:
            self._set_status(image_id, "queued")
            raise invalid(f"Image data refused: {exc}") from exc
        except BaseException:  # a refused size, a full disk, a client that went away
            self._set_status(image_id, "queued")
            raise
        with self.db.session() as s:
            row, glance = s.get(Image, image_id), s.get(GlanceImage, image_id)
            if row is None or glance is None or row.deregistered_at is not None:
                path.unlink(missing_ok=True)
                raise InvalidParameter("NotFound", "The image was deleted during the upload.")
            row.disk_path, row.disk_format, row.size_bytes = str(path), info.format, size
            row.state = "available"
            glance.status, glance.checksum, glance.os_hash_value = "active", md5, sha512
            glance.data_size, glance.virtual_size = size, info.virtual_size
            glance.updated_at = utcnow()

    def _set_status(self, image_id: str, status: str) -> None:
        with self.db.session() as s:
            attrs = s.get(GlanceImage, image_id)
            if attrs is not None and attrs.status != "deleted":
                attrs.status = status

    def _receive(self, _stem: str, chunks: Iterable[bytes]) -> tuple[Path, int, str, str]:
        store = store_dir(self.data_dir)
        store.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=store, prefix=".uploading-")
        tmp = Path(tmp_name)
        md5, sha512, size = hashlib.md5(), hashlib.sha512(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > MAX_IMAGE_BYTES:
                        raise QuotaExceeded("RequestEntityTooLarge",
                                            "The image is larger than this cloud accepts.")
                    md5.update(chunk)
                    sha512.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise invalid("The upload carried no data.")
            tmp.chmod(0o444)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp, size, md5.hexdigest(), sha512.hexdigest()

    @staticmethod
    def read(path: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        with open(path, "rb") as stream:
            while chunk := stream.read(chunk_size):
                yield chunk
