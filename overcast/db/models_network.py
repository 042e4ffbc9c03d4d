"""EC2 networking tables: the default VPC and its subnets, security groups, their rules, and
which groups each instance is in (migration 0002_ec2_networking)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from overcast.db.models import Base


class Vpc(Base):
    __tablename__ = "vpcs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    cidr_block: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), default="available")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # DescribeVpcAttribute/ModifyVpcAttribute (migration 0801_clients)
    enable_dns_support: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_dns_hostnames: Mapped[bool] = mapped_column(Boolean, default=False)
    enable_network_address_usage_metrics: Mapped[bool] = mapped_column(Boolean, default=False)
    # the VXLAN network identifier of its traffic between hosts (migration 0941_kernel_network)
    vni: Mapped[int | None] = mapped_column(Integer, unique=True)


class Subnet(Base):
    __tablename__ = "subnets"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("vpcs.id"), index=True)
    cidr_block: Mapped[str] = mapped_column(String(64))
    availability_zone: Mapped[str] = mapped_column(String(64))
    default_for_az: Mapped[bool] = mapped_column(Boolean, default=False)
    map_public_ip_on_launch: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[str] = mapped_column(String(16), default="available")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SecurityGroup(Base):
    __tablename__ = "security_groups"
    __table_args__ = (UniqueConstraint("vpc_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    vpc_id: Mapped[str] = mapped_column(ForeignKey("vpcs.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SecurityGroupRule(Base):
    """One rule: a protocol and port range, and exactly one source (or destination): an IPv4
    CIDR, an IPv6 CIDR or another group of the same project."""

    __tablename__ = "security_group_rules"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    is_egress: Mapped[bool] = mapped_column(Boolean, default=False)
    protocol: Mapped[str] = mapped_column(String(16))  # tcp | udp | icmp | icmpv6 | -1 | number
    from_port: Mapped[int] = mapped_column(Integer, default=-1)
    to_port: Mapped[int] = mapped_column(Integer, default=-1)
    cidr_ipv4: Mapped[str | None] = mapped_column(String(64))
    cidr_ipv6: Mapped[str | None] = mapped_column(String(64))
    source_group_id: Mapped[str | None] = mapped_column(ForeignKey("security_groups.id"),
                                                        index=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InstanceSecurityGroup(Base):
    __tablename__ = "instance_security_groups"
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("security_groups.id"), primary_key=True,
                                          index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class NetworkInterface(Base):
    """An elastic network interface made by CreateNetworkInterface (migration
    0006_network_interfaces): it holds a private address of its subnet."""

    __tablename__ = "network_interfaces"
    __table_args__ = (Index("ix_network_interfaces_subnet_ip", "subnet_id", "private_ip"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("subnets.id"))
    vpc_id: Mapped[str] = mapped_column(String(32))
    private_ip: Mapped[str] = mapped_column(String(64))
    mac_address: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
