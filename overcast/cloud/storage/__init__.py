"""The storage wing: block storage. Today only each instance's root volume (root_volumes), a
read-only view over instances; EBS volumes land here.
"""

from __future__ import annotations

from overcast.cloud.storage.root_volumes import (
    VOLUME_IOPS,
    VOLUME_THROUGHPUT,
    VOLUME_TYPE,
    RootVolume,
    RootVolumes,
)

__all__ = [
    "RootVolume", "RootVolumes", "VOLUME_IOPS", "VOLUME_THROUGHPUT", "VOLUME_TYPE",
]
