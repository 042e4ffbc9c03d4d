"""NAT gateways: Create/Delete/DescribeNatGateways, public connectivity only.

A NAT gateway sits in a subnet: it holds an interface there (a private address of the subnet,
shown by DescribeNetworkInterfaces as AWS does) and the Elastic IP it is made with, associated
with that interface. Subnets whose route table sends 0.0.0.0/0 to it leave from that address
(the kernel data plane: overcast/cloud/network/public_plane.py). It is available at once; a
deleted one gives its address and interface back and stays visible as `deleted` for an hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network.elastic_ips import ElasticIps
from overcast.cloud.network.route_rows import check_id
from overcast.cloud.network.vpcs import Vpcs
from overcast.db import Database, utcnow
from overcast.db.models import Project, Tag
from overcast.db.models_eips import ElasticIp
from overcast.db.models_nat import NatGateway
from overcast.db.models_network import NetworkInterface
from overcast.errors import Conflict, DryRunOk, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import new_id, new_mac

AVAILABLE, DELETED = "available", "deleted"
KEEP_DELETED = timedelta(hours=1)


@dataclass(frozen=True)
class NatView:
    nat: NatGateway
    association_id: str | None


NAT_FILTERS: dict[str, flt.Extractor] = {
    "nat-gateway-id": lambda t: t.item.nat.id,
    "state": lambda t: t.item.nat.state,
    "subnet-id": lambda t: t.item.nat.subnet_id,
    "vpc-id": lambda t: t.item.nat.vpc_id,
}


def nat_not_found(nat_id: str) -> NotFound:
    return NotFound("NatGatewayNotFound", f"The Nat Gateway {nat_id[:64]} was not found")


def find(s: Session, ctx: Context, nat_id: str) -> NatGateway:
    """One of the project's NAT gateways that is not deleted, checked."""
    check_id(nat_id, "nat", "InvalidNatGatewayID")
    row = s.scalar(select(NatGateway).where(NatGateway.id == nat_id,
                                            NatGateway.project_id == ctx.project_id))
    if row is None or row.state == DELETED:
        raise nat_not_found(nat_id)
    return row


class NatGateways:
    def __init__(self, db: Database, vpcs: Vpcs, eips: ElasticIps) -> None:
        self.db, self.vpcs, self.eips = db, vpcs, eips

    def create(self, ctx: Context, subnet_id: str, allocation_id: str | None,
               connectivity: str, tags: dict[str, str], dry_run: bool = False) -> NatView:
        tagsvc.validate(tags)
        if connectivity not in ("public", "private"):
            raise invalid(f"Invalid value '{connectivity[:32]}' for ConnectivityType.")
        if connectivity == "private":
            raise invalid("Private NAT gateways are not offered: make a public one.")
        if allocation_id is None:
            raise InvalidParameter("MissingParameter", "The request must contain the parameter "
                                   "AllocationId for a public NAT gateway")
        with self.db.session() as s:
            s.scalar(select(Project).where(Project.id == ctx.project_id)
                     .with_for_update())  # one address search of a project at a time
            subnet = self.vpcs.subnet(s, ctx, subnet_id)
            address = self.eips.find(s, ctx, allocation_id, None)
            if address.association_id is not None:
                raise Conflict("Resource.AlreadyAssociated", f"Elastic IP address "
                               f"[{allocation_id}] is already associated")
            if dry_run:
                raise DryRunOk()
            nat_id = new_id("nat")
            interface = NetworkInterface(
                id=new_id("eni"), project_id=ctx.project_id, subnet_id=subnet.id,
                vpc_id=subnet.vpc_id, private_ip=next(self.vpcs.free_addresses(s, subnet)),
                mac_address=new_mac(), description=f"Interface for NAT Gateway {nat_id}",
                created_at=utcnow())
            s.add(interface)
            address.association_id = new_id("eipassoc")
            address.network_interface_id = interface.id
            address.private_ip = interface.private_ip
            row = NatGateway(id=nat_id, project_id=ctx.project_id, vpc_id=subnet.vpc_id,
                             subnet_id=subnet.id, allocation_id=address.id,
                             public_ip=address.public_ip, network_interface_id=interface.id,
                             private_ip=interface.private_ip, state=AVAILABLE,
                             created_at=utcnow())
            s.add(row)
            s.flush()
            tagsvc.add(s, ctx.project_id, row.id, tags, new=True)
            return NatView(row, address.association_id)

    def delete(self, ctx: Context, nat_id: str, dry_run: bool = False) -> str:
        """Gives back its address and interface; the gateway's ID."""
        with self.db.session() as s:
            row = find(s, ctx, nat_id)
            if dry_run:
                raise DryRunOk()
            s.execute(delete(NetworkInterface).where(
                NetworkInterface.id == row.network_interface_id))
            address = self.eips.find(s, ctx, row.allocation_id, None) \
                if row.allocation_id else None
            if address is not None and address.network_interface_id == row.network_interface_id:
                address.association_id = address.network_interface_id = None
                address.private_ip = None
            row.state, row.deleted_at = DELETED, utcnow()
            return row.id

    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None,
                 token: str | None) -> tuple[list[flt.Tagged[NatView]], str | None]:
        for nat_id in ids:
            check_id(nat_id, "nat", "InvalidNatGatewayID")
        flt.check_filters(filters, NAT_FILTERS)
        flt.check_max_results(max_results, 5, 1000)
        with self.db.session() as s:
            self._purge(s)
            rows = list(s.scalars(select(NatGateway).where(
                NatGateway.project_id == ctx.project_id).order_by(NatGateway.created_at)))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
            associations = self._associations(s, rows)
        missing = [i for i in dict.fromkeys(ids) if i not in {r.id for r in rows}]
        if missing:
            raise nat_not_found(missing[0])
        items = [flt.Tagged(NatView(r, associations.get(r.id)), tags.get(r.id, {}))
                 for r in rows if not ids or r.id in ids]
        found = [t for t in items if flt.matches(t, filters, NAT_FILTERS)]
        return flt.page(found, lambda t: t.item.nat.id, max_results, token)

    @staticmethod
    def _purge(s: Session) -> None:
        """Forget gateways deleted more than KEEP_DELETED ago, with their tags."""
        gone = list(s.scalars(select(NatGateway.id).where(
            NatGateway.state == DELETED, NatGateway.deleted_at < utcnow() - KEEP_DELETED)))
        if gone:
            s.execute(delete(Tag).where(Tag.resource_id.in_(gone)))
            s.execute(delete(NatGateway).where(NatGateway.id.in_(gone)))

    @staticmethod
    def _associations(s: Session, rows: list[NatGateway]) -> dict[str, str | None]:
        by_interface = {r.network_interface_id: r.id for r in rows if r.state != DELETED}
        return {by_interface[str(interface)]: association
                for interface, association in s.execute(
                    select(ElasticIp.network_interface_id, ElasticIp.association_id).where(
                        ElasticIp.network_interface_id.in_(list(by_interface))))}

    @staticmethod
    def exists(s: Session, ctx: Context, nat_id: str) -> bool:
        """For tags: is this the project's NAT gateway."""
        return s.scalar(select(NatGateway.id).where(
            NatGateway.id == nat_id, NatGateway.project_id == ctx.project_id)) is not None
