"""CreateRoute, ReplaceRoute and DeleteRoute: one destination per table, one target per route
(an internet gateway attached to the table's VPC, a NAT gateway, a network interface or an
instance of that VPC); the `local` route is made with the table and never changes."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.cloud.network import route_rows
from overcast.db import Database
from overcast.db.models import Instance
from overcast.db.models_nat import NatGateway
from overcast.db.models_network import NetworkInterface
from overcast.db.models_routes import InternetGateway, Route, RouteTable
from overcast.errors import Conflict, DryRunOk, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import is_well_formed
from overcast.lifecycle import State


@dataclass(frozen=True)
class RouteRequest:
    table_id: str
    destination: str | None
    gateway_id: str | None = None
    network_interface_id: str | None = None
    instance_id: str | None = None
    nat_gateway_id: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class Target:
    gateway_id: str | None = None
    network_interface_id: str | None = None
    instance_id: str | None = None
    nat_gateway_id: str | None = None


def parse_destination(cidr: str | None) -> str:
    if cidr is None:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter destinationCidrBlock")
    try:
        network = ipaddress.ip_network(cidr)
    except ValueError:
        network = None
    if not isinstance(network, ipaddress.IPv4Network):
        raise invalid(f"Value ({cidr[:64]}) for parameter destinationCidrBlock is invalid. "
                      "This is not a valid IPv4 CIDR block.")
    return str(network)


def route_not_found(table_id: str, destination: str) -> NotFound:
    return NotFound("InvalidRoute.NotFound", f"no route with destination-cidr-block "
                    f"{destination} in route table {table_id}")


class Routes:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, ctx: Context, req: RouteRequest) -> None:
        destination = parse_destination(req.destination)
        with self.db.session() as s:
            table = route_rows.route_table(s, ctx, req.table_id)
            target = self._target(s, ctx, table, req)
            existing = self._route(s, table.id, destination)
            if existing is not None and existing.gateway_id == route_rows.LOCAL:
                raise invalid(f"The destination CIDR block {destination} is equal to the "
                              f"local route of route table {table.id}.")
            if existing is not None:
                raise Conflict("RouteAlreadyExists", f"The route identified by {destination} "
                               "already exists.")
            if req.dry_run:
                raise DryRunOk()
            s.add(Route(route_table_id=table.id, destination_cidr=destination,
                        origin="CreateRoute", **vars(target)))

    def replace(self, ctx: Context, req: RouteRequest) -> None:
        destination = parse_destination(req.destination)
        with self.db.session() as s:
            table = route_rows.route_table(s, ctx, req.table_id)
            route = self._changeable(s, table.id, destination)
            target = self._target(s, ctx, table, req)
            if req.dry_run:
                raise DryRunOk()
            for column, value in vars(target).items():
                setattr(route, column, value)

    def delete(self, ctx: Context, table_id: str, destination: str | None,
               dry_run: bool = False) -> None:
        cidr = parse_destination(destination)
        with self.db.session() as s:
            table = route_rows.route_table(s, ctx, table_id)
            route = self._changeable(s, table.id, cidr)
            if dry_run:
                raise DryRunOk()
            s.delete(route)

    @staticmethod
    def _route(s: Session, table_id: str, destination: str) -> Route | None:
        return s.scalar(select(Route).where(Route.route_table_id == table_id,
                                            Route.destination_cidr == destination))

    def _changeable(self, s: Session, table_id: str, destination: str) -> Route:
        route = self._route(s, table_id, destination)
        if route is None:
            raise route_not_found(table_id, destination)
        if route.gateway_id == route_rows.LOCAL:
            raise invalid(f"cannot change or remove the local route {destination} in route "
                          f"table {table_id}")
        return route

    def _target(self, s: Session, ctx: Context, table: RouteTable, req: RouteRequest) -> Target:
        named = [v for v in (req.gateway_id, req.network_interface_id, req.instance_id,
                             req.nat_gateway_id) if v is not None]
        if len(named) != 1:
            raise InvalidParameter("InvalidParameterCombination" if named else
                                   "MissingParameter", "Specify exactly one target: "
                                   "gatewayId, natGatewayId, networkInterfaceId or "
                                   "instanceId.")
        if req.nat_gateway_id is not None:
            return Target(nat_gateway_id=self._nat(s, ctx, table, req.nat_gateway_id))
        if req.gateway_id is not None:
            return Target(gateway_id=self._gateway(s, ctx, table, req.gateway_id))
        if req.network_interface_id is not None:
            return Target(network_interface_id=self._interface(s, ctx, table,
                                                               req.network_interface_id))
        return Target(instance_id=self._instance(s, ctx, table, str(req.instance_id)))

    @staticmethod
    def _gateway(s: Session, ctx: Context, table: RouteTable, gateway_id: str) -> str:
        if not gateway_id.startswith("igw-"):
            raise NotFound("InvalidGatewayID.NotFound",
                           f"The gateway ID '{gateway_id[:64]}' does not exist")
        gateway: InternetGateway = route_rows.gateway(s, ctx, gateway_id)
        if gateway.vpc_id != table.vpc_id:
            raise invalid(f"route table {table.id} and network gateway {gateway.id} belong "
                          "to different networks")
        return gateway.id

    @staticmethod
    def _nat(s: Session, ctx: Context, table: RouteTable, nat_id: str) -> str:
        if not is_well_formed(nat_id, "nat"):
            raise NotFound("InvalidNatGatewayID.NotFound",
                           f"The nat gateway ID '{nat_id[:64]}' does not exist")
        nat = s.scalar(select(NatGateway).where(NatGateway.id == nat_id,
                                                NatGateway.project_id == ctx.project_id,
                                                NatGateway.state != "deleted"))
        if nat is None:
            raise NotFound("InvalidNatGatewayID.NotFound",
                           f"The nat gateway ID '{nat_id}' does not exist")
        if nat.vpc_id != table.vpc_id:
            raise invalid(f"route table {table.id} and nat gateway {nat_id} belong to "
                          "different networks")
        return nat.id

    @staticmethod
    def _interface(s: Session, ctx: Context, table: RouteTable, interface_id: str) -> str:
        route_rows.check_id(interface_id, "eni", "InvalidNetworkInterfaceID")
        vpc_id = s.scalar(select(NetworkInterface.vpc_id).where(
            NetworkInterface.id == interface_id, NetworkInterface.project_id == ctx.project_id))
        if vpc_id is None:
            raise NotFound("InvalidNetworkInterfaceID.NotFound",
                           f"The networkInterface ID '{interface_id}' does not exist")
        if vpc_id != table.vpc_id:
            raise invalid(f"route table {table.id} and interface {interface_id} belong to "
                          "different networks")
        return interface_id

    @staticmethod
    def _instance(s: Session, ctx: Context, table: RouteTable, instance_id: str) -> str:
        route_rows.check_id(instance_id, "i", "InvalidInstanceID")
        row = s.scalar(select(Instance).where(Instance.id == instance_id,
                                              Instance.project_id == ctx.project_id,
                                              Instance.state != State.TERMINATED))
        if row is None:
            raise NotFound("InvalidInstanceID.NotFound",
                           f"The instance ID '{instance_id}' does not exist")
        if row.vpc_id != table.vpc_id:
            raise invalid(f"route table {table.id} and instance {instance_id} belong to "
                          "different networks")
        return instance_id
