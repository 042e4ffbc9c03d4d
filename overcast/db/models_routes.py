"""Internet gateways and route tables (migration 0961_routes): the control plane the kernel
data plane acts on. A VPC's main route table is the one its main association names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class InternetGateway(Base):
    __tablename__ = "internet_gateways"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # igw-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    # unique: one gateway per VPC, whatever races attach
    vpc_id: Mapped[str | None] = mapped_column(ForeignKey("vpcs.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RouteTable(Base):
    __tablename__ = "route_tables"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # rtb-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("vpcs.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Route(Base):
    """One route: a destination and exactly one target (`local`, an igw-, an eni-, an i- or a
    nat-)."""

    __tablename__ = "routes"
    __table_args__ = (UniqueConstraint("route_table_id", "destination_cidr"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    route_table_id: Mapped[str] = mapped_column(ForeignKey("route_tables.id"), index=True)
    destination_cidr: Mapped[str] = mapped_column(String(64))
    gateway_id: Mapped[str | None] = mapped_column(String(32))  # "local" or igw-...
    network_interface_id: Mapped[str | None] = mapped_column(String(32))
    instance_id: Mapped[str | None] = mapped_column(String(32))
    nat_gateway_id: Mapped[str | None] = mapped_column(String(32))  # migration 0995
    origin: Mapped[str] = mapped_column(String(32))  # CreateRouteTable | CreateRoute


class RouteTableAssociation(Base):
    """A subnet's table, or (main, no subnet) the VPC's main table: one main row per VPC."""

    __tablename__ = "route_table_associations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # rtbassoc-...
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    route_table_id: Mapped[str] = mapped_column(ForeignKey("route_tables.id"), index=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("vpcs.id"), index=True)
    subnet_id: Mapped[str | None] = mapped_column(ForeignKey("subnets.id"), unique=True)
    main_vpc_id: Mapped[str | None] = mapped_column(String(32), unique=True)  # set when main
    is_main: Mapped[bool] = mapped_column(Boolean, default=False)
