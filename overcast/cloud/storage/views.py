"""What the faces see of volumes: one view for EBS volumes and for the root volumes derived
from instances, and the DescribeVolumes filters over it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from overcast.cloud import filters as flt
from overcast.cloud.storage.root_volumes import (
    VOLUME_IOPS,
    VOLUME_THROUGHPUT,
    VOLUME_TYPE,
    RootVolume,
)
from overcast.cloud.storage.types import reported_iops, reported_throughput
from overcast.db import as_utc
from overcast.db.models_volumes import Volume, VolumeAttachment
from overcast.lifecycle import AttachmentState, VolumeState


@dataclass(frozen=True)
class AttachmentView:
    volume_id: str
    instance_id: str
    device: str
    state: str
    attach_time: datetime
    delete_on_termination: bool


@dataclass(frozen=True)
class VolumeView:
    id: str
    size_gib: int
    zone: str
    state: str
    created: datetime
    volume_type: str
    iops: int | None
    throughput: int | None
    snapshot_id: str = ""
    encrypted: bool = False
    attachment: AttachmentView | None = None
    root: bool = False  # an instance's root volume, which lives and dies with it


def attachment_view(row: VolumeAttachment) -> AttachmentView:
    return AttachmentView(row.volume_id, row.instance_id, row.device, row.state,
                          as_utc(row.attach_time), row.delete_on_termination)


def volume_view(row: Volume, attachment: VolumeAttachment | None) -> VolumeView:
    return VolumeView(row.id, row.size_gib, row.availability_zone, row.state,
                      as_utc(row.created_at), row.volume_type,
                      reported_iops(row.volume_type, row.size_gib, row.iops),
                      reported_throughput(row.volume_type, row.throughput),
                      row.snapshot_id, row.encrypted,
                      attachment_view(attachment) if attachment is not None else None)


def root_view(volume: RootVolume) -> VolumeView:
    attached = AttachmentView(volume.id, volume.instance_id, volume.device,
                              AttachmentState.ATTACHED, volume.created, True)
    return VolumeView(volume.id, volume.size_gib, volume.zone, VolumeState.IN_USE,
                      volume.created, VOLUME_TYPE, VOLUME_IOPS, VOLUME_THROUGHPUT,
                      attachment=attached, root=True)


def iso(when: datetime) -> str:
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _attached(get: str) -> flt.Extractor:
    """A filter's extractor: field `get` of the volume's attachment."""
    def extract(t: flt.Tagged[VolumeView]) -> str | None:
        found = t.item.attachment
        if found is None:
            return None
        value = getattr(found, get)
        if isinstance(value, bool):
            return str(value).lower()
        return iso(value) if isinstance(value, datetime) else str(value)
    return extract


VOLUME_FILTERS: dict[str, flt.Extractor] = {
    "volume-id": lambda t: t.item.id,
    "size": lambda t: str(t.item.size_gib),
    "availability-zone": lambda t: t.item.zone,
    "create-time": lambda t: iso(t.item.created),
    "status": lambda t: t.item.state,
    "volume-type": lambda t: t.item.volume_type,
    "encrypted": lambda t: str(t.item.encrypted).lower(),
    "multi-attach-enabled": lambda t: "false",
    "fast-restored": lambda t: "false",
    "snapshot-id": lambda t: t.item.snapshot_id,
    "attachment.instance-id": _attached("instance_id"),
    "attachment.device": _attached("device"),
    "attachment.status": _attached("state"),
    "attachment.attach-time": _attached("attach_time"),
    "attachment.delete-on-termination": _attached("delete_on_termination"),
    "operator.managed": lambda t: "false",
    "operator.principal": lambda t: None,
}

STATUS_FILTERS: dict[str, flt.Extractor] = {
    "availability-zone": lambda t: t.item.zone,
    "volume-status.status": lambda t: volume_status(t.item),
    "volume-status.details-name": lambda t: ["io-enabled", "io-performance"],
    "volume-status.details-status": lambda t: io_enabled(t.item),
    "event.event-type": lambda t: None,
    "action.code": lambda t: None,
}


def volume_status(view: VolumeView) -> str:
    """DescribeVolumeStatus's summary: ok once the volume exists and can do I/O."""
    if view.state == VolumeState.ERROR:
        return "impaired"
    if view.state in (VolumeState.AVAILABLE, VolumeState.IN_USE):
        return "ok"
    return "insufficient-data"


def io_enabled(view: VolumeView) -> str:
    return {"ok": "passed", "impaired": "failed"}.get(volume_status(view), "insufficient-data")
