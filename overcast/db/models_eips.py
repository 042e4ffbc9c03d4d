"""Elastic IP addresses (migration 0851_elastic_ips): an address of the cloud's public pool
allocated to a project, and what it is associated with, if anything."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class ElasticIp(Base):
    __tablename__ = "elastic_ips"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # eipalloc-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    # unique: two allocations never get one address, whatever races them
    public_ip: Mapped[str] = mapped_column(String(64), unique=True)
    domain: Mapped[str] = mapped_column(String(16), default="vpc")
    association_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    instance_id: Mapped[str | None] = mapped_column(ForeignKey("instances.id"), index=True)
    network_interface_id: Mapped[str | None] = mapped_column(String(32), index=True)
    private_ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
