"""Images made from instances: EC2 CreateImage and Nova's createImage.

The API records the image as pending, naming the instance it comes from; the agent of that
instance's host has its driver write the disk into the image store and marks the image
available, or failed with the reason (the instance ended first, the driver failed). The image
boots the way its source image did (same kernel, if it had one) from the copied disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from overcast.cloud import tags as tagsvc
from overcast.cloud.compute.instances import Instances
from overcast.cloud.images import Images, check_name
from overcast.db import Database, utcnow
from overcast.db.models import Host, Image, Instance
from overcast.db.models_openstack import GlanceImage
from overcast.drivers.registry import capabilities_of
from overcast.errors import Conflict, InvalidParameter
from overcast.identity.context import Context
from overcast.ids import new_id, new_uuid
from overcast.images.importer import store_dir
from overcast.lifecycle import acts_on


@dataclass(frozen=True)
class SnapshotRequest:
    instance_id: str
    name: str
    description: str = ""
    properties: dict[str, str] = field(default_factory=dict)  # Glance properties (Nova)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotJob:
    image_id: str
    instance_id: str
    instance_state: str
    dest: str


@dataclass(frozen=True)
class WrittenImage:
    """What the instance's host wrote, read back from the file by the same probe as any
    image given to the cloud."""

    size: int
    virtual_size: int
    disk_format: str  # qcow2 or raw
    md5: str
    sha512: str


class Snapshots:
    def __init__(self, db: Database, images: Images, instances: Instances) -> None:
        self.db, self.images, self.instances = db, images, instances
        self.requests = 0  # images asked for through this process: agents here look at once
        # set by Cloud: what else an image of an instance takes, in the transaction that
        # records it (the storage wing snapshots its data volumes into the image's mappings)
        self.on_created: list[Callable[[Session, Context, Instance, Image], None]] = []

    def create(self, ctx: Context, req: SnapshotRequest, dry_run: bool = False,
               unique_name: bool = True) -> Image:
        """unique_name: EC2's rules for the name (Glance and Nova take any name)."""
        if unique_name:
            check_name(req.name)
        self.instances.get(ctx, req.instance_id)  # InvalidInstanceID.* unless the caller's
        store = store_dir(self._data_dir())
        with self.db.session() as s:
            row = s.get(Instance, req.instance_id)
            assert row is not None
            self._check_can(s, row)
            if unique_name:  # in the transaction that adds the image: no twin by a race
                Images.check_unique_name(s, ctx.project_id, req.name)
            if dry_run:
                return Image(id="", name=req.name)
            if self.images.quotas is not None:
                self.images.quotas.check_new(s, ctx.project_id)
            source = s.get(Image, row.image_id)
            image = self._image_row(ctx, req, row, source)
            image.disk_path = str(store / f"{image.uuid}.qcow2")
            for hook in self.on_created:
                hook(s, ctx, row, image)
            s.add(image)
            s.flush()
            s.add(self._glance_row(image, row, source, req.properties))
            if req.tags:
                tagsvc.add(s, ctx.project_id, image.id, req.tags, new=True)
        store.mkdir(parents=True, exist_ok=True)
        self.requests += 1
        self.instances.changed.set()  # wake the agents
        return image

    def _data_dir(self) -> Path:
        if self.images.data_dir is None:
            raise InvalidParameter("UnsupportedOperation", "This cloud has no image store.")
        return self.images.data_dir

    @staticmethod
    def _check_can(s: Session, row: Instance) -> None:
        if not acts_on(row.state, "snapshot"):
            raise Conflict("IncorrectInstanceState",
                           f"The instance '{row.id}' is not in a state from which it can be "
                           f"imaged (it is {row.state}; it must be running or stopped).")
        host = s.get(Host, row.host_id) if row.host_id else None
        if host is None or not capabilities_of(host.driver).snapshot:
            driver = host.driver if host else "no"
            raise InvalidParameter("UnsupportedOperation",
                                   f"The instance '{row.id}' runs on a host ({driver} driver) "
                                   "that cannot make images of its instances.")

    @staticmethod
    def _image_row(ctx: Context, req: SnapshotRequest, row: Instance,
                   source: Image | None) -> Image:
        return Image(id=new_id("ami"), uuid=new_uuid(), project_id=ctx.project_id,
                     name=req.name, description=req.description, state="pending",
                     is_public=False, disk_format="qcow2", size_bytes=0,
                     kernel_path=source.kernel_path if source else None,
                     ramdisk_path=source.ramdisk_path if source else None,
                     kernel_cmdline=source.kernel_cmdline if source else "",
                     default_user=source.default_user if source else "root",
                     root_device_name=source.root_device_name if source else "/dev/xvda",
                     config_drive=bool(source and source.config_drive),
                     created_at=utcnow(), image_location=f"{ctx.account_id}/{req.name}",
                     source_instance_id=row.id)

    @staticmethod
    def _glance_row(image: Image, row: Instance, source: Image | None,
                    extra: dict[str, str]) -> GlanceImage:
        properties = {**extra, "image_type": "snapshot", "instance_uuid": row.uuid,
                      "base_image_ref": source.uuid if source else "",
                      "owner_project_name": "", "user_id": ""}
        properties = {k: v for k, v in properties.items() if v != ""}
        return GlanceImage(image_id=image.id, status="saving", visibility="private",
                           container_format="bare", disk_format="qcow2", min_disk=row.disk_gib,
                           min_ram=0, protected=False, tags="[]",
                           properties=json.dumps(properties), updated_at=utcnow())

    # the agent's side -----------------------------------------------------------------------
    def jobs(self, host_id: str) -> list[SnapshotJob]:
        """Images waiting to be written from instances on this host."""
        with self.db.read() as s:
            found = s.execute(select(Image.id, Instance.id, Instance.state, Image.disk_path)
                              .join(Instance, Instance.id == Image.source_instance_id)
                              .where(Image.state == "pending", Instance.host_id == host_id))
            return [SnapshotJob(i, iid, state, path or "") for i, iid, state, path in found]

    def finish(self, image_id: str, written: WrittenImage) -> None:
        with self.db.session() as s:
            s.execute(update(Image).where(Image.id == image_id, Image.state == "pending")
                      .values(state="available", size_bytes=written.size,
                              disk_format=written.disk_format))
            s.execute(update(GlanceImage).where(GlanceImage.image_id == image_id,
                                                GlanceImage.status == "saving")
                      .values(status="active", checksum=written.md5,
                              os_hash_value=written.sha512, disk_format=written.disk_format,
                              data_size=written.size, virtual_size=written.virtual_size,
                              updated_at=utcnow()))

    def fail(self, image_id: str, reason: str) -> None:
        with self.db.session() as s:
            s.execute(update(Image).where(Image.id == image_id, Image.state == "pending")
                      .values(state="failed", state_reason=reason))
            s.execute(update(GlanceImage).where(GlanceImage.image_id == image_id,
                                                GlanceImage.status == "saving")
                      .values(status="killed", updated_at=utcnow()))
