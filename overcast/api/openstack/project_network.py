"""The one network each project has as Neutron sees it: its default VPC's address space
(172.31.0.0/16, where every instance gets its private address)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from overcast.cloud.launch import DEFAULT_SUBNET

_NAMESPACE = uuid.UUID("5f1d3c2a-8d4e-4b7a-9a51-0c3e7d2b1f60")
NETWORK_NAME = "default"


@dataclass(frozen=True)
class ProjectNetwork:
    id: str
    subnet_id: str
    name: str
    cidr: str
    gateway: str
    project_id: str


def project_network(project_id: str) -> ProjectNetwork:
    hosts = DEFAULT_SUBNET.hosts()
    gateway = str(next(hosts))
    return ProjectNetwork(id=str(uuid.uuid5(_NAMESPACE, f"network:{project_id}")),
                          subnet_id=str(uuid.uuid5(_NAMESPACE, f"subnet:{project_id}")),
                          name=NETWORK_NAME, cidr=str(DEFAULT_SUBNET), gateway=gateway,
                          project_id=project_id)


def port_id(instance_uuid: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"port:{instance_uuid}"))
