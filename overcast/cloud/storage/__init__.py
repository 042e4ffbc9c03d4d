"""The storage wing: block storage.

volumes (EBS volumes: create, delete, modify, describe, quotas in quotas.py, types and their
limits in types.py), attachments (attach and detach to instances, DeleteOnTermination),
snapshots (EBS snapshots; snapshot_lookup finds them), cinder, cinder_snapshots and
cinder_quotas (the Cinder face's view of the same rows, by UUID), nova_attachments (Nova's
os-volume_attachments), jobs (what each host's
agent owes and its reports), views (what the faces see, DescribeVolumes filters), root_volumes (each
instance's root volume, a read-only view over instances).
"""

from __future__ import annotations

from overcast.cloud.storage.attachments import Attachments
from overcast.cloud.storage.cinder import CinderCreate, CinderUpdate, CinderVolume, CinderVolumes
from overcast.cloud.storage.cinder_quotas import CinderQuotas, VolumeUsage
from overcast.cloud.storage.cinder_snapshots import CinderSnapshot, CinderSnapshots, SnapshotCreate
from overcast.cloud.storage.jobs import GIB, VolumeJob, VolumeJobs
from overcast.cloud.storage.nova_attachments import NovaAttachment, NovaAttachments
from overcast.cloud.storage.quotas import VolumeLimits, VolumeQuotas, volume_limits
from overcast.cloud.storage.root_volumes import (
    VOLUME_IOPS,
    VOLUME_THROUGHPUT,
    VOLUME_TYPE,
    RootVolume,
    RootVolumes,
    check_volume_ids,
)
from overcast.cloud.storage.snapshot_lookup import check_snapshot_ids
from overcast.cloud.storage.snapshots import SnapshotView, VolumeSnapshots, progress
from overcast.cloud.storage.views import (
    STATUS_FILTERS,
    AttachmentView,
    VolumeView,
    io_enabled,
    volume_status,
)
from overcast.cloud.storage.volumes import Modification, VolumeChange, VolumeRequest, Volumes

__all__ = [
    "Attachments", "AttachmentView", "CinderCreate", "CinderQuotas", "CinderSnapshot",
    "CinderSnapshots", "CinderUpdate", "CinderVolume", "CinderVolumes", "SnapshotCreate",
    "VolumeUsage", "NovaAttachment", "NovaAttachments", "GIB", "Modification", "RootVolume",
    "RootVolumes",
    "STATUS_FILTERS", "SnapshotView", "VOLUME_IOPS", "VOLUME_THROUGHPUT", "VOLUME_TYPE",
    "VolumeChange", "VolumeJob", "VolumeJobs", "VolumeLimits", "VolumeQuotas",
    "VolumeRequest", "VolumeSnapshots", "VolumeView", "Volumes", "check_snapshot_ids",
    "check_volume_ids", "io_enabled", "progress", "volume_limits", "volume_status",
]
