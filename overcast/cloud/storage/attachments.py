"""AttachVolume and DetachVolume. The API checks and records the attachment (attaching or
detaching); the agent of the instance's host has its driver plug or unplug the disk and
reports back (jobs.py). A volume is attached to at most one instance."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.compute import Instances
from overcast.cloud.storage.root_volumes import RootVolumes, check_volume_ids
from overcast.cloud.storage.views import AttachmentView, attachment_view
from overcast.cloud.storage.volumes import Volumes, volume_not_found
from overcast.db import Database, utcnow
from overcast.db.models import Host, Instance
from overcast.db.models_volumes import Volume, VolumeAttachment
from overcast.drivers.registry import capabilities_of
from overcast.errors import Conflict, DryRunOk, InvalidParameter, NotFound, QuotaExceeded, invalid
from overcast.identity.context import Context
from overcast.lifecycle import (
    ATTACHABLE_INSTANCE,
    AttachmentState,
    VolumeState,
    next_attachment_state,
    next_volume_state,
)

# /dev/sdf, /dev/xvdf, /dev/xvdba, /dev/vdb, /dev/hdb, also EC2's bare names (sdf, xvdf)
DEVICE = re.compile(r"^(?:/dev/)?(?:sd|xvd|vd|hd)([a-z]{1,2})(\d{0,2})$")
MAX_ATTACHED = 16  # data volumes per instance (the QEMU driver's PCI slots for them)


def device_key(device: str) -> str:
    """What makes two device names one attachment point: /dev/sdf and /dev/xvdf are the same
    disk to EC2, and /dev/sda1 is the root /dev/xvda."""
    match = DEVICE.match(device)
    return match.group(1) if match else device


def check_device(device: str) -> None:
    if not DEVICE.match(device):
        raise invalid(f"Value ({device}) for parameter device is invalid. {device} is not a "
                      "valid EBS device name.")


class Attachments:
    def __init__(self, db: Database, volumes: Volumes, instances: Instances) -> None:
        self.db, self.volumes, self.instances = db, volumes, instances

    def attach(self, ctx: Context, volume_id: str, instance_id: str, device: str,
               dry_run: bool = False) -> AttachmentView:
        check_volume_ids([volume_id])
        check_device(device)
        self.instances.get(ctx, instance_id)  # InvalidInstanceID.* unless the caller's
        with self.db.session() as s:
            instance = s.scalar(select(Instance).where(Instance.id == instance_id)
                                .with_for_update())  # one attachment of it at a time
            volume = self.volumes.find(s, ctx, volume_id, lock=True)
            assert instance is not None
            self._check_volume(s, volume)
            self._check_instance(s, instance, volume)
            self._check_device(s, instance, device)
            if dry_run:
                raise DryRunOk()
            volume.state = next_volume_state(volume_id, volume.state, "attach")
            volume.updated_at = utcnow()
            row = VolumeAttachment(volume_id=volume_id, instance_id=instance_id,
                                   device=device, state=AttachmentState.ATTACHING,
                                   delete_on_termination=False, force=False, error="",
                                   attach_time=utcnow())
            s.add(row)
            s.flush()
            view = attachment_view(row)
        self.volumes.wake()
        return view

    @staticmethod
    def _check_volume(s: Session, volume: Volume) -> None:
        attached = s.get(VolumeAttachment, volume.id)
        if attached is not None:
            raise Conflict("VolumeInUse", f"{volume.id} is already attached to an instance")
        if volume.state != VolumeState.AVAILABLE:
            raise Conflict("IncorrectState", f"The volume '{volume.id}' is '{volume.state}' "
                           "and cannot be attached.")

    @staticmethod
    def _check_instance(s: Session, instance: Instance, volume: Volume) -> None:
        if instance.state not in ATTACHABLE_INSTANCE:
            raise Conflict("IncorrectInstanceState", f"Instance '{instance.id}' is not "
                           "'running' or 'stopped'.")
        if instance.availability_zone != volume.availability_zone:
            raise InvalidParameter("InvalidVolume.ZoneMismatch", f"The volume '{volume.id}' "
                                   "is not in the same availability zone as instance "
                                   f"'{instance.id}'")
        host = s.get(Host, instance.host_id) if instance.host_id else None
        if host is None or not capabilities_of(host.driver).volumes:
            driver = host.driver if host else "no"
            raise InvalidParameter("UnsupportedOperation", f"The instance '{instance.id}' "
                                   f"runs on a host ({driver} driver) that cannot attach "
                                   "volumes.")
        if volume.host_id != instance.host_id:
            raise InvalidParameter("UnsupportedOperation", f"The volume '{volume.id}' is kept "
                                   "on another host than instance "
                                   f"'{instance.id}' (local storage backend).")

    def _check_device(self, s: Session, instance: Instance, device: str) -> None:
        taken = list(s.scalars(select(VolumeAttachment.device).where(
            VolumeAttachment.instance_id == instance.id)))
        root = self.instances.root_devices([instance.image_id])[instance.image_id]
        if device_key(device) in {device_key(d) for d in [*taken, root]}:
            raise invalid(f"Invalid value '{device}' for unixDevice. Attachment point "
                          f"{device} is already in use")
        if len(taken) >= MAX_ATTACHED:
            raise QuotaExceeded("AttachmentLimitExceeded", f"Instance '{instance.id}' has "
                                f"{len(taken)} volumes attached, the most it can have.")

    def detach(self, ctx: Context, volume_id: str, instance_id: str | None = None,
               device: str | None = None, force: bool = False,
               dry_run: bool = False) -> AttachmentView:
        check_volume_ids([volume_id])
        with self.db.session() as s:
            volume = s.scalar(select(Volume).where(Volume.id == volume_id,
                                                   Volume.project_id == ctx.project_id)
                              .with_for_update())
            if volume is None:
                if RootVolumes.attached_exists(s, ctx, volume_id):
                    raise InvalidParameter("UnsupportedOperation", f"'{volume_id}' is the "
                                           "root volume of its instance, which cannot be "
                                           "detached here.")
                raise volume_not_found(volume_id)
            row = s.get(VolumeAttachment, volume_id)
            if row is None:
                raise Conflict("IncorrectState",
                               f"Volume '{volume_id}' is in the '{volume.state}' state.")
            if (instance_id and instance_id != row.instance_id) or (
                    device and device != row.device):
                raise NotFound("InvalidAttachment.NotFound", f"Volume '{volume_id}' is not "
                               f"attached to {instance_id or device}.")
            target = next_attachment_state(volume_id, row.state, "detach")
            if dry_run:
                raise DryRunOk()
            row.state, row.force = target, row.force or force
            view = attachment_view(row)
        self.volumes.wake()
        return view

    def set_delete_on_termination(self, ctx: Context, instance_id: str, device: str,
                                  value: bool, dry_run: bool = False) -> None:
        """ModifyInstanceAttribute's BlockDeviceMappings: whether the volume at `device` goes
        with the instance. The root volume always does."""
        row = self.instances.get(ctx, instance_id)
        root = self.instances.root_devices([row.image_id])[row.image_id]
        with self.db.session() as s:
            found = [a for a in s.scalars(select(VolumeAttachment).where(
                VolumeAttachment.instance_id == instance_id).with_for_update())
                     if device_key(a.device) == device_key(device)]
            if not found and device_key(device) != device_key(root):
                raise InvalidParameter("InvalidInstanceAttributeValue",
                                       f"No device is currently mapped at {device}")
            if not found and not value:
                raise InvalidParameter("UnsupportedOperation", "The root volume is always "
                                       "deleted with its instance here.")
            if dry_run:
                raise DryRunOk()
            for attachment in found:
                attachment.delete_on_termination = value

    def of_instances(self, ctx: Context, instance_ids: Sequence[str],
                     ) -> dict[str, list[AttachmentView]]:
        """The volumes attached to each of these instances of the project."""
        found: dict[str, list[AttachmentView]] = {}
        if not instance_ids:
            return found
        with self.db.read() as s:
            for row in s.scalars(select(VolumeAttachment).join(
                    Volume, Volume.id == VolumeAttachment.volume_id).where(
                    Volume.project_id == ctx.project_id,
                    VolumeAttachment.instance_id.in_(list(instance_ids)))
                    .order_by(VolumeAttachment.attach_time)):
                found.setdefault(row.instance_id, []).append(attachment_view(row))
        return found
