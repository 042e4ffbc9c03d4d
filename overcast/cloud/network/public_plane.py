"""A VPC's part of the public network, as the kernel data plane needs it (dataplane.py asks):
wanted while an internet gateway is attached to the VPC. Which subnets reach the internet gateway
(their route table, explicit or the main one, sends 0.0.0.0/0 to it), which NAT gateways serve
which subnets, and the public addresses (Elastic IPs) of the host's instances."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.network.route_rows import ANYWHERE
from overcast.db.models import Instance
from overcast.db.models_nat import NatGateway
from overcast.db.models_network import Subnet
from overcast.db.models_routes import InternetGateway, Route, RouteTableAssociation
from overcast.drivers.network.spec import NatGatewaySpec, PublicMapping, VpcPublicSpec


def vpc_public(s: Session, vpc_id: str, subnets: Sequence[Subnet],
               local: Sequence[Instance]) -> VpcPublicSpec | None:
    """None when the VPC has no internet gateway attached."""
    igw = s.scalar(select(InternetGateway.id).where(InternetGateway.vpc_id == vpc_id))
    if igw is None:
        return None
    routes = default_routes(s, vpc_id, [subnet.id for subnet in subnets])
    internet = {n.id for n in subnets if (r := routes.get(n.id)) and r.gateway_id == igw}
    nats = []
    for nat in s.scalars(select(NatGateway).where(NatGateway.vpc_id == vpc_id,
                                                  NatGateway.state == "available")
                         .order_by(NatGateway.id)):
        if nat.subnet_id in internet and nat.public_ip:  # a NAT leaves through the igw too
            served = tuple(n.cidr_block for n in subnets
                           if (r := routes.get(n.id)) and r.nat_gateway_id == nat.id)
            nats.append(NatGatewaySpec(nat.id, nat.public_ip, served))
    return VpcPublicSpec(
        internet_cidrs=tuple(n.cidr_block for n in subnets if n.id in internet),
        mappings=tuple(PublicMapping(i.public_ip, i.private_ip) for i in local
                       if i.public_ip and i.private_ip),
        nat_gateways=tuple(nats))


def default_routes(s: Session, vpc_id: str, subnet_ids: list[str]) -> dict[str, Route]:
    """Each subnet's 0.0.0.0/0 route, from its own table or else the VPC's main one."""
    tables = {subnet_id: table_id for subnet_id, table_id in s.execute(
        select(RouteTableAssociation.subnet_id, RouteTableAssociation.route_table_id).where(
            RouteTableAssociation.subnet_id.in_(subnet_ids)))}
    main = s.scalar(select(RouteTableAssociation.route_table_id).where(
        RouteTableAssociation.main_vpc_id == vpc_id))
    wanted = {tables.get(subnet_id, main) for subnet_id in subnet_ids} - {None}
    by_table = {r.route_table_id: r for r in s.scalars(select(Route).where(
        Route.route_table_id.in_(wanted), Route.destination_cidr == ANYWHERE))}
    return {subnet_id: by_table[table] for subnet_id in subnet_ids
            if (table := tables.get(subnet_id, main)) in by_table}
