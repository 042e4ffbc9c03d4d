"""The OpenStack faces by the first segment of their path."""

from __future__ import annotations

from typing import Any

from overcast.api.openstack.compute import ComputeFace
from overcast.api.openstack.identity import IdentityFace
from overcast.api.openstack.image import ImageFace
from overcast.api.openstack.network import NetworkFace
from overcast.cloud.service import Cloud


def faces(cloud: Cloud) -> dict[str, Any]:
    return {"identity": IdentityFace(cloud), "compute": ComputeFace(cloud),
            "image": ImageFace(cloud), "network": NetworkFace(cloud)}
