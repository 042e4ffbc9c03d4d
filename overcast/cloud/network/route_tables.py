"""Route tables: Create/Delete/DescribeRouteTables and their associations with subnets
(Associate/DisassociateRouteTable, ReplaceRouteTableAssociation, the main one too). The
routes themselves are in routes.py; every VPC's main table is made with it (route_rows)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network import route_rows
from overcast.db import Database
from overcast.db.models import Tag
from overcast.db.models_nat import NatGateway
from overcast.db.models_network import Subnet
from overcast.db.models_routes import InternetGateway, Route, RouteTable, RouteTableAssociation
from overcast.errors import Conflict, DryRunOk, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import new_id


@dataclass(frozen=True)
class RouteView:
    route: Route
    state: str  # active, or blackhole when the target is gone


@dataclass(frozen=True)
class TableView:
    table: RouteTable
    routes: list[RouteView]
    associations: list[RouteTableAssociation]
    owner_id: str


def _routes(t: flt.Tagged[TableView], column: str) -> list[str]:
    return [v for r in t.item.routes if (v := getattr(r.route, column))]


TABLE_FILTERS: dict[str, flt.Extractor] = {
    "route-table-id": lambda t: t.item.table.id,
    "vpc-id": lambda t: t.item.table.vpc_id,
    "owner-id": lambda t: t.item.owner_id,
    "association.main": lambda t: "true" if any(a.is_main for a in t.item.associations)
    else "false",
    "association.subnet-id": lambda t: [a.subnet_id for a in t.item.associations
                                        if a.subnet_id],
    "association.route-table-association-id": lambda t: [a.id for a in t.item.associations],
    "association.route-table-id": lambda t: [a.route_table_id for a in t.item.associations],
    "route.destination-cidr-block": lambda t: _routes(t, "destination_cidr"),
    "route.gateway-id": lambda t: _routes(t, "gateway_id"),
    "route.instance-id": lambda t: _routes(t, "instance_id"),
    "route.network-interface-id": lambda t: _routes(t, "network_interface_id"),
    "route.nat-gateway-id": lambda t: _routes(t, "nat_gateway_id"),
    "route.origin": lambda t: _routes(t, "origin"),
    "route.state": lambda t: [r.state for r in t.item.routes],
}


def association_not_found(association_id: str) -> NotFound:
    return NotFound("InvalidAssociationID.NotFound",
                    f"The association ID '{association_id}' does not exist")


class RouteTables:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, ctx: Context, vpc_id: str, tags: dict[str, str],
               dry_run: bool = False) -> TableView:
        tagsvc.validate(tags)
        with self.db.session() as s:
            vpc = route_rows.vpc(s, ctx, vpc_id)
            if dry_run:
                raise DryRunOk()
            table = route_rows.make_route_table(s, vpc)
            tagsvc.add(s, ctx.project_id, table.id, tags, new=True)
            s.flush()
            return self._view(s, ctx, table)

    def delete(self, ctx: Context, table_id: str) -> None:
        with self.db.session() as s:
            table = route_rows.route_table(s, ctx, table_id)
            if s.scalar(select(RouteTableAssociation.id).where(
                    RouteTableAssociation.route_table_id == table.id)) is not None:
                raise Conflict("DependencyViolation", f"The routeTable '{table.id}' has "
                               "dependencies and cannot be deleted.")
            self.remove(s, table.id)

    @staticmethod
    def remove(s: Session, table_id: str) -> None:
        """A table's rows, inside an open transaction (DeleteVpc removes the main one)."""
        s.execute(delete(RouteTableAssociation).where(
            RouteTableAssociation.route_table_id == table_id))
        s.execute(delete(Route).where(Route.route_table_id == table_id))
        s.execute(delete(Tag).where(Tag.resource_id == table_id))
        s.execute(delete(RouteTable).where(RouteTable.id == table_id))

    # associations -----------------------------------------------------------------------------
    def associate(self, ctx: Context, table_id: str, subnet_id: str) -> str:
        with self.db.session() as s:
            table = route_rows.route_table(s, ctx, table_id)
            route_rows.check_id(subnet_id, "subnet", "InvalidSubnetID")
            subnet = s.scalar(select(Subnet).where(Subnet.id == subnet_id,
                                                   Subnet.project_id == ctx.project_id))
            if subnet is None:
                raise NotFound("InvalidSubnetID.NotFound",
                               f"The subnet ID '{subnet_id}' does not exist")
            if subnet.vpc_id != table.vpc_id:
                raise invalid(f"Route table {table.id} and subnet {subnet.id} belong to "
                              "different networks")
            taken = s.scalar(select(RouteTableAssociation).where(
                RouteTableAssociation.subnet_id == subnet.id))
            if taken is not None:
                raise Conflict("Resource.AlreadyAssociated", f"the specified association for "
                               f"route table {taken.route_table_id} conflicts with an "
                               "existing association")
            row = RouteTableAssociation(id=new_id("rtbassoc"), project_id=ctx.project_id,
                                        route_table_id=table.id, vpc_id=table.vpc_id,
                                        subnet_id=subnet.id, main_vpc_id=None, is_main=False)
            s.add(row)
            return row.id

    def _association(self, s: Session, ctx: Context,
                     association_id: str) -> RouteTableAssociation:
        route_rows.check_id(association_id, "rtbassoc", "InvalidAssociationID")
        row = s.scalar(select(RouteTableAssociation).where(
            RouteTableAssociation.id == association_id,
            RouteTableAssociation.project_id == ctx.project_id))
        if row is None:
            raise association_not_found(association_id)
        return row

    def disassociate(self, ctx: Context, association_id: str) -> None:
        with self.db.session() as s:
            row = self._association(s, ctx, association_id)
            if row.is_main:
                raise InvalidParameter("InvalidParameterValue", "The main route table "
                                       "association cannot be disassociated: replace it.")
            s.delete(row)

    def replace_association(self, ctx: Context, association_id: str, table_id: str) -> str:
        """Point a subnet (or the VPC's main association) at another table of its VPC; the
        association gets a new ID, as in EC2."""
        with self.db.session() as s:
            row = self._association(s, ctx, association_id)
            table = route_rows.route_table(s, ctx, table_id)
            if table.vpc_id != row.vpc_id:
                raise invalid(f"Route table {table.id} and association {row.id} belong to "
                              "different networks")
            moved = RouteTableAssociation(
                id=new_id("rtbassoc"), project_id=ctx.project_id, route_table_id=table.id,
                vpc_id=row.vpc_id, subnet_id=row.subnet_id, main_vpc_id=row.main_vpc_id,
                is_main=row.is_main)
            s.delete(row)
            s.flush()
            s.add(moved)
            return moved.id

    # describe -------------------------------------------------------------------------------
    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None,
                 token: str | None) -> tuple[list[flt.Tagged[TableView]], str | None]:
        for table_id in ids:
            route_rows.check_id(table_id, "rtb", "InvalidRouteTableID")
        flt.check_filters(filters, TABLE_FILTERS)
        flt.check_max_results(max_results, 5, 100)
        with self.db.read() as s:
            tables = list(s.scalars(select(RouteTable).where(
                RouteTable.project_id == ctx.project_id)))
            missing = [i for i in dict.fromkeys(ids) if i not in {t.id for t in tables}]
            if missing:
                raise NotFound("InvalidRouteTableID.NotFound",
                               f"The routeTable ID '{', '.join(missing)}' does not exist")
            tags = tagsvc.for_resources(s, ctx.project_id, [t.id for t in tables])
            items = [flt.Tagged(self._view(s, ctx, t), tags.get(t.id, {}))
                     for t in tables if not ids or t.id in ids]
        found = [t for t in items if flt.matches(t, filters, TABLE_FILTERS)]
        return flt.page(found, lambda t: t.item.table.id, max_results, token)

    @staticmethod
    def _view(s: Session, ctx: Context, table: RouteTable) -> TableView:
        attached = set(s.scalars(select(InternetGateway.id).where(
            InternetGateway.vpc_id == table.vpc_id)))
        routes = list(s.scalars(select(Route).where(Route.route_table_id == table.id)
                                .order_by(Route.id)))
        live_nats = set(s.scalars(select(NatGateway.id).where(
            NatGateway.vpc_id == table.vpc_id, NatGateway.state != "deleted")))
        views = [RouteView(r, "blackhole" if (r.gateway_id not in (None, route_rows.LOCAL)
                                              and r.gateway_id not in attached)
                           or (r.nat_gateway_id and r.nat_gateway_id not in live_nats)
                           else "active") for r in routes]
        associations = list(s.scalars(select(RouteTableAssociation).where(
            RouteTableAssociation.route_table_id == table.id)
            .order_by(RouteTableAssociation.is_main.desc(), RouteTableAssociation.id)))
        return TableView(table, views, associations, ctx.account_id)

    @staticmethod
    def exists(s: Session, ctx: Context, table_id: str) -> bool:
        """For tags: is this the project's route table."""
        return s.scalar(select(RouteTable.id).where(
            RouteTable.id == table_id, RouteTable.project_id == ctx.project_id)) is not None
