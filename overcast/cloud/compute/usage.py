"""What instances used over a period (Nova's os-simple-tenant-usage): each instance's hours
inside the period, with its size. The cloud admin reads every project's; others their own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Instance
from overcast.errors import Forbidden
from overcast.identity.context import Context


@dataclass(frozen=True)
class InstanceUsage:
    project_id: str
    instance_uuid: str
    name_hint: str  # the instance ID; faces add the name from tags
    flavor: str
    vcpus: int
    memory_mib: int
    disk_gib: int
    state: str
    started_at: datetime
    ended_at: datetime | None
    hours: float  # inside the period


class Usage:
    def __init__(self, db: Database) -> None:
        self.db = db

    def between(self, ctx: Context, start: datetime, end: datetime,
                project_id: str | None) -> list[InstanceUsage]:
        """Instances that ran in [start, end) for one project, or for all (admin only)."""
        if project_id != ctx.project_id and not ctx.is_admin:
            raise Forbidden("Forbidden", "Only the cloud admin may read other projects' "
                            "usage.")
        query = select(Instance).where(Instance.launch_time < end, or_(
            Instance.terminated_at.is_(None), Instance.terminated_at >= start))
        if project_id is not None:
            query = query.where(Instance.project_id == project_id)
        now = utcnow()
        with self.db.read() as s:
            found = []
            for row in s.scalars(query.order_by(Instance.launch_time)):
                began = as_utc(row.launch_time)
                ended = as_utc(row.terminated_at) if row.terminated_at else None
                hours = (min(ended or now, end, now) - max(began, start)).total_seconds()
                found.append(InstanceUsage(row.project_id, row.uuid, row.id,
                                           row.instance_type, row.vcpus, row.memory_mib,
                                           row.disk_gib, row.state, began, ended,
                                           max(hours, 0.0) / 3600))
            return found
