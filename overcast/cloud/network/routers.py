"""Neutron's view of a VPC's routing, read only: one router per VPC, its external gateway the
attached internet gateway, its interfaces the VPC's subnets, its extra routes the main route
table's routes to an interface or an instance (a next hop Neutron can name by address)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud import tags as tagsvc
from overcast.db import Database
from overcast.db.models import Instance
from overcast.db.models_network import NetworkInterface, Subnet, Vpc
from overcast.db.models_routes import InternetGateway, Route, RouteTableAssociation
from overcast.identity.context import Context


@dataclass(frozen=True)
class RouterView:
    vpc_id: str
    project_id: str
    is_default: bool
    created_at: datetime
    name: str | None  # the VPC's Name tag
    gateway_id: str | None  # the attached internet gateway
    subnet_ids: list[str]
    hops: list[tuple[str, str]]  # (destination, next hop address)


class Routers:
    def __init__(self, db: Database) -> None:
        self.db = db

    def describe(self, ctx: Context) -> list[RouterView]:
        with self.db.read() as s:
            vpcs = list(s.scalars(select(Vpc).where(Vpc.project_id == ctx.project_id)))
            gateways = dict(s.execute(select(InternetGateway.vpc_id, InternetGateway.id).where(
                InternetGateway.project_id == ctx.project_id,
                InternetGateway.vpc_id.is_not(None))).tuples().all())
            subnets = s.execute(select(Subnet.vpc_id, Subnet.id).where(
                Subnet.project_id == ctx.project_id).order_by(Subnet.id)).tuples().all()
            routes = s.execute(select(RouteTableAssociation.vpc_id, Route).join(
                Route, Route.route_table_id == RouteTableAssociation.route_table_id).where(
                RouteTableAssociation.project_id == ctx.project_id,
                RouteTableAssociation.is_main)).tuples().all()
            addresses = self._next_hops(s, ctx, [r for _, r in routes])
            names = tagsvc.for_resources(s, ctx.project_id, [v.id for v in vpcs])
        return [RouterView(
            vpc_id=v.id, project_id=v.project_id, is_default=v.is_default,
            created_at=v.created_at, name=names.get(v.id, {}).get("Name"),
            gateway_id=gateways.get(v.id),
            subnet_ids=[sid for vid, sid in subnets if vid == v.id],
            hops=[(r.destination_cidr, addresses[target]) for vid, r in routes
                  if vid == v.id and (target := r.network_interface_id or r.instance_id)
                  and target in addresses]) for v in vpcs]

    @staticmethod
    def _next_hops(s: Session, ctx: Context, routes: list[Route]) -> dict[str, str]:
        """Interface or instance ID -> its private address."""
        interfaces = {r.network_interface_id for r in routes if r.network_interface_id}
        instances = {r.instance_id for r in routes if r.instance_id}
        found: dict[str, str] = {}
        if interfaces:
            found.update(s.execute(select(NetworkInterface.id, NetworkInterface.private_ip)
                                   .where(NetworkInterface.id.in_(interfaces),
                                          NetworkInterface.project_id == ctx.project_id))
                         .tuples().all())
        if instances:
            found.update((i, ip) for i, ip in s.execute(
                select(Instance.id, Instance.private_ip).where(
                    Instance.id.in_(instances), Instance.project_id == ctx.project_id))
                .tuples().all() if ip)
        return found
