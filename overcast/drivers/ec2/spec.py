"""What the ec2 driver is told (the target, a remote launch) and what it reports."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from overcast.drivers.base import LaunchSpec, VmStatus

# Tags every remote instance carries, so the remote side can be read back after a crash.
TAG_INSTANCE = "overcast:instance-id"
TAG_CLOUD = "overcast:cloud-id"
TAG_TARGET = "overcast:target"


@dataclass(frozen=True)
class Ec2Target:
    """Where and as whom to reach the remote cloud, and whose instances to look for there."""

    name: str
    endpoint: str
    region: str
    access_key_id: str
    secret_access_key: str
    cloud_id: str
    target_id: str
    max_vcpus: int | None = None


@dataclass(frozen=True)
class IngressRule:
    protocol: str  # tcp | udp | icmp | -1
    from_port: int
    to_port: int
    cidr: str


@dataclass(frozen=True)
class RemoteLaunchSpec(LaunchSpec):
    """A LaunchSpec with what only a remote cloud needs: its AMI and type, the key to import
    and, when the instance has security groups, the ingress rules to mirror."""

    remote_image_id: str = ""
    remote_instance_type: str = ""
    public_key: str | None = None
    mirror_groups: bool = False
    ingress: tuple[IngressRule, ...] = ()


@dataclass(frozen=True)
class RemoteVm(VmStatus):
    """A VmStatus with the remote instance's own ID, state and addresses."""

    remote_id: str = ""
    remote_state: str = ""
    private_ip: str | None = None
    public_ip: str | None = None

    @property
    def gone(self) -> bool:
        return self.remote_state in ("shutting-down", "terminated")

    @property
    def settling(self) -> bool:
        """On its way between states: wait before acting on it."""
        return self.remote_state in ("pending", "stopping")


def client_token(cloud_id: str, instance_id: str) -> str:
    """The same for every try at launching one instance, so the remote makes it once."""
    digest = hashlib.sha256(f"{cloud_id}/{instance_id}".encode()).hexdigest()[:24]
    return f"{instance_id}-{digest}"


def remote_key_name(public_key: str) -> str:
    """One remote key pair per distinct public key (two projects' 'k1' may differ)."""
    body = " ".join(public_key.split()[:2])
    return "overcast-" + hashlib.sha256(body.encode()).hexdigest()[:20]


def remote_group_name(instance_id: str) -> str:
    return f"overcast-{instance_id}"
