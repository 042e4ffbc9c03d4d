"""CreateNetworkInterface, DeleteNetworkInterface, DescribeNetworkInterfaces: interfaces that
hold a private address of their subnet until deleted (attaching them to instances comes with
the networking issue)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.eip_links import forget_interface
from overcast.cloud.launch import new_mac
from overcast.cloud.vpcs import Vpcs
from overcast.db import Database, utcnow
from overcast.db.models import Tag
from overcast.db.models_network import NetworkInterface
from overcast.errors import InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id


@dataclass(frozen=True)
class InterfaceView:
    interface: NetworkInterface
    owner_id: str
    zone: str


INTERFACE_FILTERS: dict[str, flt.Extractor] = {
    "network-interface-id": lambda t: t.item.interface.id,
    "subnet-id": lambda t: t.item.interface.subnet_id,
    "vpc-id": lambda t: t.item.interface.vpc_id,
    "private-ip-address": lambda t: t.item.interface.private_ip,
    "addresses.private-ip-address": lambda t: t.item.interface.private_ip,
    "mac-address": lambda t: t.item.interface.mac_address,
    "description": lambda t: t.item.interface.description,
    "availability-zone": lambda t: t.item.zone,
    "owner-id": lambda t: t.item.owner_id,
    "status": lambda t: "available",
    "interface-type": lambda t: "interface",
    "requester-managed": lambda t: "false",
    "source-dest-check": lambda t: "true",
    "attachment.status": lambda t: None,
    "attachment.instance-id": lambda t: None,
}


def _check_ids(ids: Sequence[str]) -> None:
    for interface_id in ids:
        if not is_well_formed(interface_id, "eni"):
            raise InvalidParameter("InvalidNetworkInterfaceID.Malformed",
                                   f'Invalid id: "{interface_id}" (expecting "eni-...")')


class NetworkInterfaces:
    def __init__(self, db: Database, vpcs: Vpcs) -> None:
        self.db, self.vpcs = db, vpcs

    def create(self, ctx: Context, subnet_id: str, private_ip: str | None = None,
               description: str = "") -> InterfaceView:
        with self.db.session() as s:
            subnet = self.vpcs.subnet(s, ctx, subnet_id)
            address = next(self.vpcs.free_addresses(s, subnet, private_ip))
            row = NetworkInterface(id=new_id("eni"), project_id=ctx.project_id,
                                   subnet_id=subnet.id, vpc_id=subnet.vpc_id,
                                   private_ip=address, mac_address=new_mac(),
                                   description=description, created_at=utcnow())
            s.add(row)
            return InterfaceView(row, ctx.account_id, subnet.availability_zone)

    def delete(self, ctx: Context, interface_id: str) -> None:
        _check_ids([interface_id])
        with self.db.session() as s:
            row = s.scalar(select(NetworkInterface).where(
                NetworkInterface.id == interface_id,
                NetworkInterface.project_id == ctx.project_id))
            if row is None:
                raise _not_found([interface_id])
            s.execute(delete(Tag).where(Tag.resource_id == row.id))
            forget_interface(s, row.id)  # its Elastic IPs stay allocated
            s.delete(row)

    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None, token: str | None,
                 ) -> tuple[list[flt.Tagged[InterfaceView]], str | None]:
        _check_ids(ids)
        flt.check_filters(filters, INTERFACE_FILTERS)
        flt.check_max_results(max_results, 5, 1000)
        with self.db.read() as s:
            query = select(NetworkInterface).where(
                NetworkInterface.project_id == ctx.project_id)
            rows = list(s.scalars(query.where(NetworkInterface.id.in_(ids)) if ids else query))
            zones = {subnet.id: subnet.availability_zone for subnet in
                     (self.vpcs.subnet(s, ctx, i) for i in {r.subnet_id for r in rows})}
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        missing = [i for i in dict.fromkeys(ids) if i not in {r.id for r in rows}]
        if missing:
            raise _not_found(missing)
        items = [flt.Tagged(InterfaceView(r, ctx.account_id, zones[r.subnet_id]),
                            tags.get(r.id, {})) for r in rows]
        found = [t for t in items if flt.matches(t, filters, INTERFACE_FILTERS)]
        return flt.page(found, lambda t: t.item.interface.id, max_results, token)


def _not_found(missing: Sequence[str]) -> NotFound:
    return NotFound("InvalidNetworkInterfaceID.NotFound",
                    f"The networkInterface ID '{', '.join(missing)}' does not exist")
