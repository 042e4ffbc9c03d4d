"""The HTTP app that mounts the faces on one listen address."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from overcast.api.ec2.app import Ec2App
from overcast.cloud.service import Cloud


class App:
    def __init__(self, cloud: Cloud) -> None:
        self.ec2 = Ec2App(cloud)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return self.ec2(environ, start_response)
