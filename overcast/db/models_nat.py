"""NAT gateways (migration 0995_nat_gateways): a VPC's way out for private subnets, through an
Elastic IP associated with the gateway's own interface in a public subnet; and the leases of
the public network's addresses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class NatGateway(Base):
    __tablename__ = "nat_gateways"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # nat-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    vpc_id: Mapped[str] = mapped_column(String(32), index=True)
    subnet_id: Mapped[str] = mapped_column(String(32))
    # its Elastic IP and the interface that holds it (the interface row goes when it is deleted)
    allocation_id: Mapped[str | None] = mapped_column(String(32))
    public_ip: Mapped[str | None] = mapped_column(String(64))
    network_interface_id: Mapped[str] = mapped_column(String(32))
    private_ip: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # available | deleted
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PublicAddressLease(Base):
    """An address of the public network that is taken (migration 0995): by an Elastic IP
    allocation, or auto-assigned to an instance at launch (kernel networking's
    MapPublicIpOnLaunch). The primary key decides between racing takers of either kind."""

    __tablename__ = "public_address_leases"
    public_ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    allocation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(32), index=True)
