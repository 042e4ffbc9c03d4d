"""Block-device mappings at launch (RunInstances' BlockDeviceMappings, an image's data
mappings, Nova's block_device_mapping_v2): checked before anything is made, then in the
launch's own transaction each instance gets its volumes, attached at their device names
before its VM exists, so the VM starts with them (cold attach). Quotas are checked in the same
transaction: a failure leaves nothing behind."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from overcast.cloud.block_devices import BlockDevice, LaunchPlan, from_json
from overcast.cloud.storage.attachments import DEVICE, MAX_ATTACHED, device_key
from overcast.cloud.storage.quotas import VolumeQuotas
from overcast.cloud.storage.snapshot_lookup import check_snapshot_ids, find_snapshot
from overcast.cloud.storage.types import check_type
from overcast.cloud.storage.volumes import Volumes
from overcast.db import utcnow
from overcast.db.models import Host, Image, Instance
from overcast.db.models_volumes import Volume, VolumeAttachment, VolumeSnapshot
from overcast.drivers.registry import capabilities_of
from overcast.errors import Conflict, InvalidParameter, QuotaExceeded, invalid
from overcast.identity.context import Context
from overcast.ids import new_id
from overcast.lifecycle import AttachmentState, SnapshotState, VolumeState, next_volume_state

CODE = "InvalidBlockDeviceMapping"
DEFAULT_TYPE = "gp2"  # EC2's when a mapping names none


def bad_mapping(message: str) -> InvalidParameter:
    return InvalidParameter(CODE, message)


def merged(image: tuple[BlockDevice, ...] | list[BlockDevice],
           requested: tuple[BlockDevice, ...]) -> list[BlockDevice]:
    """The image's mappings with the request's laid over them device by device (NoDevice
    drops the image's); a device named twice in the request is refused."""
    seen: set[str] = set()
    for wanted in requested:
        key = device_key(wanted.device)
        if key in seen:
            raise bad_mapping(f"The device '{wanted.device}' is used in more than one "
                              "block-device mapping.")
        seen.add(key)
    found = {device_key(d.device): d for d in image}
    for wanted in requested:
        found[device_key(wanted.device)] = wanted
    return [d for d in found.values() if not d.no_device]


class LaunchVolumes:
    """The LaunchDisks the launcher calls (cloud/block_devices.py)."""

    def __init__(self, volumes: Volumes, quotas: VolumeQuotas) -> None:
        self.volumes, self.quotas = volumes, quotas

    def plan(self, s: Session, ctx: Context, image: Image | None,
             requested: tuple[BlockDevice, ...], root_device: str) -> LaunchPlan:
        for wanted in requested:
            if not wanted.device:
                raise InvalidParameter("MissingParameter", "The request must contain the "
                                       "parameter BlockDeviceMapping.DeviceName")
        devices = merged(from_json(image.block_device_mappings) if image else [], requested)
        root_key, root_gib = device_key(root_device), None
        volumes: list[BlockDevice] = []
        hosts: set[str] = set()
        for device in devices:
            if device_key(device.device) == root_key:
                root_gib = self._root(device, image)
                continue
            checked = self.data_mapping(s, ctx, device)
            volumes.append(checked)
            if checked.snapshot_id:
                snapshot = s.get(VolumeSnapshot, checked.snapshot_id)
                hosts.add(snapshot.host_id if snapshot and snapshot.host_id else "")
            elif checked.volume_id:  # the instance goes where the volume is kept
                hosts.add(self.volumes.find(s, ctx, checked.volume_id).host_id or "")
        if len(volumes) > MAX_ATTACHED:
            raise QuotaExceeded("AttachmentLimitExceeded", f"An instance can have at most "
                                f"{MAX_ATTACHED} volumes attached; {len(volumes)} were asked.")
        if len(hosts) > 1:
            raise InvalidParameter("UnsupportedOperation", "The snapshots or volumes of these "
                                   "mappings are kept on different hosts (local storage "
                                   "backend).")
        return LaunchPlan(tuple(volumes), root_gib, frozenset(hosts) if hosts else None)

    @staticmethod
    def _root(device: BlockDevice, image: Image | None) -> int | None:
        """A mapping at the root device may set its size (not smaller than the image) and
        nothing else: the root disk is the image's."""
        if device.volume_id or device.snapshot_id:
            raise bad_mapping(f"The root device {device.device} is the image's disk: its "
                              "snapshot cannot be changed.")
        if device.delete_on_termination is False:
            raise InvalidParameter("UnsupportedOperation", "The root volume is always "
                                   "deleted with its instance here.")
        if device.size_gib is None:
            return None
        smallest = max(1, -(-(image.size_bytes if image else 0) // 1024**3))
        if device.size_gib < smallest:
            raise bad_mapping(f"Volume of size {device.size_gib} GB is smaller than the "
                              f"image's root disk, expect size >= {smallest} GB")
        check_type(device.volume_type or DEFAULT_TYPE, device.size_gib, device.iops,
                   device.throughput)
        return device.size_gib

    @staticmethod
    def data_mapping(s: Session, ctx: Context, device: BlockDevice) -> BlockDevice:
        """A data mapping, complete: its size and type known, its snapshot found."""
        if not DEVICE.match(device.device):
            raise bad_mapping(f"Value ({device.device}) for parameter device is invalid. "
                              f"{device.device} is not a valid EBS device name.")
        if device.encrypted:
            raise invalid("Encrypted volumes are not offered by this cloud.")
        if device.volume_id:
            return device  # an existing volume (Nova): checked when attached
        size = device.size_gib
        if device.snapshot_id:
            check_snapshot_ids([device.snapshot_id])
            snapshot = find_snapshot(s, ctx, device.snapshot_id)
            if snapshot.state != SnapshotState.COMPLETED:
                raise InvalidParameter("IncorrectState", f"The snapshot '{snapshot.id}' is "
                                       f"'{snapshot.state}'; a volume can be made only from "
                                       "a completed snapshot.")
            if size is not None and size < snapshot.volume_size:
                raise bad_mapping(f"Volume of size {size} GB is smaller than snapshot "
                                  f"'{snapshot.id}', expect size >= {snapshot.volume_size} GB")
            size = snapshot.volume_size if size is None else size
        elif size is None:
            raise bad_mapping(f"The mapping of {device.device} needs a VolumeSize or a "
                              "SnapshotId.")
        kind = device.volume_type or DEFAULT_TYPE
        check_type(kind, size, device.iops, device.throughput)
        return replace(device, size_gib=size, volume_type=kind)

    def create(self, s: Session, ctx: Context, plan: LaunchPlan,
               rows: list[Instance]) -> None:
        if plan.root_gib is not None:
            for row in rows:
                row.disk_gib = plan.root_gib
        new = [d for d in plan.volumes if not d.volume_id]
        if not plan.volumes:
            return
        self._check_hosts(s, rows, plan)
        self.quotas.check_many(s, ctx.project_id, len(new) * len(rows),
                               sum(int(d.size_gib or 0) for d in new) * len(rows))
        now = utcnow()
        for row in rows:
            for device in plan.volumes:
                volume_id = self._existing(s, ctx, row, device.volume_id, len(rows)) \
                    if device.volume_id else self._new_volume(s, ctx, row, device)
                s.add(VolumeAttachment(
                    volume_id=volume_id, instance_id=row.id, device=device.device,
                    state=AttachmentState.ATTACHING,
                    delete_on_termination=device.delete_on_termination is not False,
                    force=False, error="", attach_time=now))
        s.flush()

    @staticmethod
    def _check_hosts(s: Session, rows: list[Instance], plan: LaunchPlan) -> None:
        for row in rows:
            host = s.get(Host, row.host_id) if row.host_id else None
            if host is None or not capabilities_of(host.driver).volumes:
                driver = host.driver if host else "no"
                raise InvalidParameter("UnsupportedOperation", "Block-device mappings need "
                                       f"a host that attaches volumes; this launch was "
                                       f"placed on a {driver} host.")
            if plan.hosts is not None and row.host_id not in plan.hosts:
                raise InvalidParameter("UnsupportedOperation", "The mapped snapshots or "
                                       "volumes are kept on another host than the "
                                       "instance's (local storage backend).")

    def _existing(self, s: Session, ctx: Context, row: Instance, volume_id: str,
                  count: int) -> str:
        """An available volume of the project, given to the one instance launched."""
        volume = self.volumes.find(s, ctx, volume_id, lock=True)
        if count > 1:
            raise invalid(f"The volume '{volume_id}' can be attached to one instance only.")
        if s.get(VolumeAttachment, volume_id) is not None or \
                volume.state != VolumeState.AVAILABLE:
            raise Conflict("VolumeInUse", f"{volume_id} is already attached to an instance")
        if volume.availability_zone != row.availability_zone or volume.host_id != row.host_id:
            raise InvalidParameter("InvalidVolume.ZoneMismatch", f"The volume '{volume_id}' "
                                   "is not where the instance was placed (local storage "
                                   "backend: the same host).")
        volume.state = next_volume_state(volume_id, volume.state, "attach")
        volume.updated_at = utcnow()
        return volume_id

    @staticmethod
    def _new_volume(s: Session, ctx: Context, row: Instance, device: BlockDevice) -> str:
        now = utcnow()
        volume = Volume(id=new_id("vol"), project_id=ctx.project_id,
                        availability_zone=row.availability_zone, size_gib=device.size_gib,
                        volume_type=device.volume_type or DEFAULT_TYPE, iops=device.iops,
                        throughput=device.throughput, state=VolumeState.CREATING,
                        state_reason="", snapshot_id=device.snapshot_id or "",
                        encrypted=False, host_id=row.host_id, backend="local",
                        backing_path="", provisioned_bytes=0, created_at=now,
                        updated_at=now)
        s.add(volume)
        return volume.id
