"""Frozen views of network rows, the form in which they leave the service layer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from overcast.clock import as_utc
from overcast.db.models_network import SecurityGroupRule


@dataclass(frozen=True)
class RuleRecord:
    """One security group rule: a protocol and port range and one source (or destination)."""

    id: str
    group_id: str
    project_id: str
    is_egress: bool
    protocol: str
    from_port: int
    to_port: int
    cidr_ipv4: str | None
    cidr_ipv6: str | None
    source_group_id: str | None
    description: str
    created_at: datetime

    @classmethod
    def of(cls, row: SecurityGroupRule) -> RuleRecord:
        return cls(row.id, row.group_id, row.project_id, row.is_egress, row.protocol,
                   row.from_port, row.to_port, row.cidr_ipv4, row.cidr_ipv6,
                   row.source_group_id, row.description, as_utc(row.created_at))
