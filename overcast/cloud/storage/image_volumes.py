"""Images and data volumes: CreateImage of an instance snapshots each data volume attached to
it (in the transaction that records the image) and lists the snapshots in the image's
block-device mappings; RegisterImage's mappings name snapshots of the project. Launching such
an image makes volumes from them (launch_volumes.py). DeregisterImage leaves the snapshots,
as EC2 does."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.block_devices import BlockDevice, to_json
from overcast.cloud.storage.attachments import device_key
from overcast.cloud.storage.launch_volumes import LaunchVolumes, bad_mapping, merged
from overcast.db import utcnow
from overcast.db.models import Image, Instance
from overcast.db.models_volumes import Volume, VolumeAttachment, VolumeSnapshot
from overcast.identity.context import Context
from overcast.ids import new_id
from overcast.lifecycle import AttachmentState, SnapshotState, VolumeState

SNAPSHOTTABLE = (VolumeState.AVAILABLE, VolumeState.IN_USE)


def check_image_mappings(s: Session, ctx: Context, devices: tuple[BlockDevice, ...],
                         root_device: str) -> str:
    """RegisterImage's mappings, checked and completed (sizes from their snapshots), as the
    image keeps them. The root disk is the image's file: no mapping replaces it."""
    found = []
    for device in merged([], devices):
        if not device.device:
            raise bad_mapping("A block-device mapping needs a DeviceName.")
        if device_key(device.device) == device_key(root_device):
            raise bad_mapping(f"The root device {device.device} is the image's disk "
                              "(ImageLocation): it cannot come from a snapshot here.")
        if device.volume_id:
            raise bad_mapping("An image's mapping names a snapshot, not a volume.")
        found.append(LaunchVolumes.data_mapping(s, ctx, device))
    return to_json(found)


def snapshot_data_volumes(s: Session, ctx: Context, instance: Instance, image: Image) -> None:
    """CreateImage: a snapshot of each data volume the instance has, written by its host like
    any snapshot (live when the VM runs), named in the image's mappings."""
    rows = s.execute(select(VolumeAttachment, Volume)
                     .join(Volume, Volume.id == VolumeAttachment.volume_id)
                     .where(VolumeAttachment.instance_id == instance.id,
                            VolumeAttachment.state != AttachmentState.DETACHING)
                     .order_by(VolumeAttachment.attach_time))
    mappings = []
    for attachment, volume in rows:
        if volume.state not in SNAPSHOTTABLE:
            continue  # still being made: nothing to copy yet
        snapshot = VolumeSnapshot(
            id=new_id("snap"), project_id=ctx.project_id, volume_id=volume.id,
            volume_size=volume.size_gib, state=SnapshotState.PENDING, state_message="",
            description=f"Created by CreateImage({instance.id}) for {image.id} from "
                        f"{volume.id}", host_id=volume.host_id, backing_path="",
            created_at=utcnow())
        s.add(snapshot)
        mappings.append(BlockDevice(attachment.device, size_gib=volume.size_gib,
                                    snapshot_id=snapshot.id, volume_type=volume.volume_type,
                                    iops=volume.iops, throughput=volume.throughput,
                                    delete_on_termination=attachment.delete_on_termination))
    image.block_device_mappings = to_json(mappings)
