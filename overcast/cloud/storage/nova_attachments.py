"""Nova's os-volume_attachments over AttachVolume and DetachVolume: volumes named by their
Cinder UUID, a device chosen when none is asked for (the first free /dev/vdX after the root
disk)."""

from __future__ import annotations

import string
from dataclasses import dataclass

from sqlalchemy import select

from overcast.cloud.storage.attachments import MAX_ATTACHED, Attachments, device_key
from overcast.cloud.storage.cinder import CinderVolumes
from overcast.cloud.storage.views import AttachmentView
from overcast.db import Database
from overcast.db.models_volumes import Volume, VolumeAttachment
from overcast.errors import NotFound, QuotaExceeded
from overcast.identity.context import Context


@dataclass(frozen=True)
class NovaAttachment:
    attachment: AttachmentView
    volume_uuid: str


class NovaAttachments:
    def __init__(self, db: Database, attachments: Attachments,
                 volumes: CinderVolumes) -> None:
        self.db, self.attachments, self.volumes = db, attachments, volumes

    def list_all(self, ctx: Context, instance_id: str) -> list[NovaAttachment]:
        found = self.attachments.of_instances(ctx, [instance_id]).get(instance_id, [])
        with self.db.read() as s:
            uuids = {vid: vuuid for vid, vuuid in s.execute(
                select(Volume.id, Volume.uuid).where(
                    Volume.id.in_([a.volume_id for a in found])))}
        return [NovaAttachment(a, str(uuids.get(a.volume_id))) for a in found]

    def get(self, ctx: Context, instance_id: str, volume_ref: str) -> NovaAttachment:
        for item in self.list_all(ctx, instance_id):
            if volume_ref in (item.volume_uuid, item.attachment.volume_id):
                return item
        raise NotFound("InvalidAttachment.NotFound", f"Volume {volume_ref} is not attached "
                       "to the server.")

    def attach(self, ctx: Context, instance_id: str, volume_ref: str,
               device: str | None) -> NovaAttachment:
        volume = self.volumes.get(ctx, volume_ref)
        made = self.attachments.attach(ctx, volume.volume.id, instance_id,
                                       device or self.free_device(ctx, instance_id))
        return NovaAttachment(made, volume.uuid)

    def detach(self, ctx: Context, instance_id: str, volume_ref: str) -> None:
        found = self.get(ctx, instance_id, volume_ref)
        self.attachments.detach(ctx, found.attachment.volume_id, instance_id)

    def free_device(self, ctx: Context, instance_id: str) -> str:
        """The first /dev/vdX whose letter neither the root disk nor an attachment holds."""
        row = self.attachments.instances.get(ctx, instance_id)
        root = self.attachments.instances.root_devices([row.image_id])[row.image_id]
        with self.db.read() as s:
            taken = {device_key(d) for d in s.scalars(select(VolumeAttachment.device).where(
                VolumeAttachment.instance_id == instance_id))}
        taken.add(device_key(root))
        for letter in string.ascii_lowercase[1:]:
            if letter not in taken:
                return f"/dev/vd{letter}"
        raise QuotaExceeded("AttachmentLimitExceeded", f"The server has {MAX_ATTACHED} "
                            "volumes attached, the most it can have.")
