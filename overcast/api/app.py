"""The HTTP app that mounts the faces on one listen address: the OpenStack services under
their DevStack path prefixes, EC2 everywhere else."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from overcast.api.ec2.app import Ec2App
from overcast.cloud.service import Cloud

Wsgi = Callable[[dict[str, Any], Any], Iterable[bytes]]


def _openstack_faces(cloud: Cloud) -> dict[str, Wsgi]:
    from overcast.api.openstack.mount import faces

    return faces(cloud)


class App:
    def __init__(self, cloud: Cloud) -> None:
        self.ec2 = Ec2App(cloud)
        self.prefixed = _openstack_faces(cloud)  # first path segment -> face

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        first = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
        face = self.prefixed.get(first, self.ec2)
        return face(environ, start_response)
