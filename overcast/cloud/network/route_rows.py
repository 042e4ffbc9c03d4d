"""Rows every VPC is made with: its main route table with the `local` route, and for a
default VPC its internet gateway with the 0.0.0.0/0 route to it, as AWS makes them. Finding a
project's gateway or table by ID, checked."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.db import utcnow
from overcast.db.models_network import Vpc
from overcast.db.models_routes import (
    InternetGateway,
    Route,
    RouteTable,
    RouteTableAssociation,
)
from overcast.errors import InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id

LOCAL = "local"
ANYWHERE = "0.0.0.0/0"


def make_route_table(s: Session, vpc: Vpc) -> RouteTable:
    """A table with the VPC's `local` route (the one route no call may change)."""
    table = RouteTable(id=new_id("rtb"), project_id=vpc.project_id, vpc_id=vpc.id,
                       created_at=utcnow())
    s.add(table)
    s.flush()
    s.add(Route(route_table_id=table.id, destination_cidr=vpc.cidr_block, gateway_id=LOCAL,
                origin="CreateRouteTable"))
    return table


def make_main_table(s: Session, vpc: Vpc) -> RouteTable:
    """The VPC's main table; a default VPC also gets its internet gateway and the route to it."""
    table = make_route_table(s, vpc)
    s.add(RouteTableAssociation(id=new_id("rtbassoc"), project_id=vpc.project_id,
                                route_table_id=table.id, vpc_id=vpc.id, main_vpc_id=vpc.id,
                                is_main=True))
    if vpc.is_default:
        gateway = InternetGateway(id=new_id("igw"), project_id=vpc.project_id, vpc_id=vpc.id,
                                  created_at=utcnow())
        s.add(gateway)
        s.flush()
        s.add(Route(route_table_id=table.id, destination_cidr=ANYWHERE, gateway_id=gateway.id,
                    origin="CreateRouteTable"))
    s.flush()
    return table


def check_id(resource_id: str, prefix: str, code: str) -> None:
    if not is_well_formed(resource_id, prefix):
        raise InvalidParameter(f"{code}.Malformed",
                               f'Invalid id: "{resource_id[:64]}" (expecting "{prefix}-...")')


def gateway(s: Session, ctx: Context, gateway_id: str) -> InternetGateway:
    check_id(gateway_id, "igw", "InvalidInternetGatewayID")
    row = s.scalar(select(InternetGateway).where(InternetGateway.id == gateway_id,
                                                 InternetGateway.project_id == ctx.project_id))
    if row is None:
        raise NotFound("InvalidInternetGatewayID.NotFound",
                       f"The internetGateway ID '{gateway_id}' does not exist")
    return row


def route_table(s: Session, ctx: Context, table_id: str) -> RouteTable:
    check_id(table_id, "rtb", "InvalidRouteTableID")
    row = s.scalar(select(RouteTable).where(RouteTable.id == table_id,
                                            RouteTable.project_id == ctx.project_id))
    if row is None:
        raise NotFound("InvalidRouteTableID.NotFound",
                       f"The routeTable ID '{table_id}' does not exist")
    return row


def vpc(s: Session, ctx: Context, vpc_id: str) -> Vpc:
    check_id(vpc_id, "vpc", "InvalidVpcID")
    row = s.scalar(select(Vpc).where(Vpc.id == vpc_id, Vpc.project_id == ctx.project_id))
    if row is None:
        raise NotFound("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
    return row
