"""What an instance is told about itself: the facts the service layer gathers (in
overcast.cloud.compute.metadata) and the documents and the config drive are built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class MetadataOptions:
    http_tokens: str = "optional"  # "required": IMDSv1 requests are refused
    http_endpoint: str = "enabled"
    instance_tags: str = "disabled"


@dataclass(frozen=True)
class InstanceFacts:
    instance_id: str
    uuid: str
    account_id: str
    project_id: str
    reservation_id: str
    launch_index: int
    image_id: str
    instance_type: str
    region: str
    availability_zone: str
    private_ip: str
    public_ip: str
    mac: str
    subnet_cidr: str
    launch_time: datetime
    key_name: str | None
    public_key: str | None
    user_data: bytes
    security_groups: list[str]
    options: MetadataOptions
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def local_hostname(self) -> str:
        dashed = self.private_ip.replace(".", "-") or self.instance_id
        return f"ip-{dashed}.{self.region}.compute.internal"
