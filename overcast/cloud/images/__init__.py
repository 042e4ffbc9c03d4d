"""The images wing: images, who may see them, and the files behind them.

images (describe, register, attributes, launch permissions), members (Glance image members),
quotas (per-project image counts and sizes), store (upload recovery, file collection), uploads
(Glance image data), metadefs (Glance metadata definitions).
"""

from __future__ import annotations

from overcast.cloud.images.builtin import ensure_builtin_image
from overcast.cloud.images.images import (
    CLOUD_ACCOUNT,
    DescribeRequest,
    ImageFiles,
    Images,
    ImageView,
    PermissionChange,
    RegisterRequest,
    check_image_id,
    check_name,
    creation_date,
    owner_alias,
    volume_size,
)
from overcast.cloud.images.members import ImageMembers
from overcast.cloud.images.metadefs import RESOURCE_TYPES, Metadefs, Namespace
from overcast.cloud.images.metadefs import check_name as check_namespace_name
from overcast.cloud.images.quotas import GIB, ImageQuotas, image_limits
from overcast.cloud.images.records import GlanceAttributes, MemberRecord
from overcast.cloud.images.store import ImageStore
from overcast.cloud.images.uploads import ImageUploads, NewImage

__all__ = [
    "CLOUD_ACCOUNT", "DescribeRequest", "GIB", "GlanceAttributes", "ImageFiles",
    "ImageMembers", "ImageQuotas", "ImageStore", "ImageUploads", "ImageView", "Images",
    "MemberRecord", "Metadefs", "Namespace", "NewImage", "PermissionChange", "RESOURCE_TYPES",
    "RegisterRequest", "check_image_id", "check_name", "check_namespace_name", "creation_date",
    "ensure_builtin_image", "image_limits", "owner_alias", "volume_size",
]
