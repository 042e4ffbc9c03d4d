"""The OpenStack faces by the first segment of their path."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import (
    floating_ips,  # noqa: F401 - adds its routes to the network face
    network_quotas,  # noqa: F401 - likewise
    routers,  # noqa: F401 - likewise
)
from overcast.api.openstack.block_storage import BlockStorageFace
from overcast.api.openstack.compute import ComputeFace
from overcast.api.openstack.identity import IdentityFace
from overcast.api.openstack.image import ImageFace
from overcast.api.openstack.network import NetworkFace
from overcast.api.openstack.openapi import describe
from overcast.cloud.service import Cloud


def faces(cloud: Cloud) -> dict[str, Any]:
    found: dict[str, Any] = {"identity": IdentityFace(cloud), "compute": ComputeFace(cloud),
                             "image": ImageFace(cloud), "network": NetworkFace(cloud),
                             "volume": BlockStorageFace(cloud)}
    document = json.dumps(describe(found)).encode()
    found["openapi.json"] = Response(document, content_type="application/json")
    return found
