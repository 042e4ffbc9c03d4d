"""CreateNetworkInterface, DeleteNetworkInterface, DescribeNetworkInterfaces: interfaces that
hold a private address of their subnet until deleted, and each instance's primary interface
(``eni-`` + the instance's suffix, the ID DescribeInstances shows), attached from launch until
the instance is terminated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network.eip_links import forget_interface
from overcast.cloud.network.security_groups import SecurityGroups
from overcast.cloud.network.vpcs import Vpcs
from overcast.db import Database, as_utc, utcnow
from overcast.db.models import Instance, Tag
from overcast.db.models_network import NetworkInterface
from overcast.errors import Conflict, InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id, new_mac, primary_interface_id
from overcast.lifecycle import State


@dataclass(frozen=True)
class Attachment:
    attachment_id: str
    instance_id: str
    attach_time: datetime


@dataclass(frozen=True)
class InterfaceView:
    id: str
    subnet_id: str
    vpc_id: str
    private_ip: str
    mac_address: str
    description: str
    zone: str
    owner_id: str
    groups: tuple[tuple[str, str], ...] = ()
    source_dest_check: bool = True
    attachment: Attachment | None = None
    public_ip: str | None = None

    @property
    def status(self) -> str:
        return "in-use" if self.attachment else "available"

    @property
    def private_dns_name(self) -> str:
        return f"ip-{self.private_ip.replace('.', '-')}.ec2.internal"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _attached(pick: flt.Extractor) -> flt.Extractor:
    return lambda t: pick(t) if t.item.attachment else None


def _public(pick: flt.Extractor) -> flt.Extractor:
    return lambda t: pick(t) if t.item.public_ip else None


INTERFACE_FILTERS: dict[str, flt.Extractor] = {
    "network-interface-id": lambda t: t.item.id,
    "subnet-id": lambda t: t.item.subnet_id,
    "vpc-id": lambda t: t.item.vpc_id,
    "private-ip-address": lambda t: t.item.private_ip,
    "addresses.private-ip-address": lambda t: t.item.private_ip,
    "addresses.primary": lambda t: "true",
    "addresses.association.public-ip": lambda t: t.item.public_ip,
    "addresses.association.owner-id": _public(lambda t: "amazon"),
    "private-dns-name": lambda t: t.item.private_dns_name,
    "mac-address": lambda t: t.item.mac_address,
    "description": lambda t: t.item.description,
    "availability-zone": lambda t: t.item.zone,
    "owner-id": lambda t: t.item.owner_id,
    "status": lambda t: t.item.status,
    "interface-type": lambda t: "interface",
    "requester-managed": lambda t: "false",
    "requester-id": lambda t: None,
    "source-dest-check": lambda t: _bool(t.item.source_dest_check),
    "group-id": lambda t: [gid for gid, _ in t.item.groups],
    "group-name": lambda t: [name for _, name in t.item.groups],
    "association.public-ip": lambda t: t.item.public_ip,
    "association.ip-owner-id": _public(lambda t: "amazon"),
    "association.public-dns-name": lambda t: None,
    "association.allocation-id": lambda t: None,
    "association.association-id": lambda t: None,
    "attachment.attachment-id": _attached(lambda t: t.item.attachment.attachment_id),
    "attachment.instance-id": _attached(lambda t: t.item.attachment.instance_id),
    "attachment.instance-owner-id": _attached(lambda t: t.item.owner_id),
    "attachment.attach-time": _attached(lambda t: as_utc(t.item.attachment.attach_time)
                                        .strftime("%Y-%m-%dT%H:%M:%S.000Z")),
    "attachment.status": _attached(lambda t: "attached"),
    "attachment.device-index": _attached(lambda t: "0"),
    "attachment.delete-on-termination": _attached(lambda t: "true"),
    "attachment.network-card-index": _attached(lambda t: "0"),
    "ipv6-addresses.ipv6-address": lambda t: None,
}


def _check_ids(ids: Sequence[str]) -> None:
    for interface_id in ids:
        if not is_well_formed(interface_id, "eni"):
            raise InvalidParameter("InvalidNetworkInterfaceID.Malformed",
                                   f'Invalid id: "{interface_id}" (expecting "eni-...")')


def _free_view(row: NetworkInterface, owner: str, zone: str) -> InterfaceView:
    return InterfaceView(row.id, row.subnet_id, row.vpc_id, row.private_ip, row.mac_address,
                         row.description, zone, owner)


def _primary_view(row: Instance, owner: str, groups: Sequence[tuple[str, str]]) -> InterfaceView:
    attachment = Attachment("eni-attach-" + row.id.removeprefix("i-"), row.id,
                            as_utc(row.launch_time))
    assert row.subnet_id and row.vpc_id and row.private_ip
    return InterfaceView(primary_interface_id(row.id), row.subnet_id, row.vpc_id, row.private_ip,
                         row.mac_address, "", row.availability_zone, owner, tuple(groups),
                         row.source_dest_check, attachment, row.public_ip)


def _primary_views(s: Session, ctx: Context) -> list[InterfaceView]:
    rows = list(s.scalars(select(Instance).where(
        Instance.project_id == ctx.project_id, Instance.state != State.TERMINATED,
        Instance.subnet_id.is_not(None), Instance.private_ip.is_not(None))))
    groups = SecurityGroups.groups_of(s, ctx.project_id, [r.id for r in rows])
    return [_primary_view(r, ctx.account_id, groups.get(r.id, [])) for r in rows]


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
            return _free_view(row, ctx.account_id, subnet.availability_zone)

    def delete(self, ctx: Context, interface_id: str) -> None:
        _check_ids([interface_id])
        with self.db.session() as s:
            row = s.scalar(select(NetworkInterface).where(
                NetworkInterface.id == interface_id,
                NetworkInterface.project_id == ctx.project_id))
            if row is None:
                attached = [v for v in _primary_views(s, ctx) if v.id == interface_id]
                if attached:
                    raise Conflict("InvalidNetworkInterface.InUse",
                                   f"Interface: [{interface_id}] in use.")
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
        if ids and max_results is not None:
            raise InvalidParameter("InvalidParameterCombination", "The parameter "
                                   "NetworkInterfaceIds cannot be used with the parameter "
                                   "MaxResults")
        with self.db.read() as s:
            rows = list(s.scalars(select(NetworkInterface).where(
                NetworkInterface.project_id == ctx.project_id)))
            zones = {subnet.id: subnet.availability_zone for subnet in
                     (self.vpcs.subnet(s, ctx, i) for i in {r.subnet_id for r in rows})}
            views = [_free_view(r, ctx.account_id, zones[r.subnet_id]) for r in rows]
            views += _primary_views(s, ctx)
            if ids:
                views = [v for v in views if v.id in set(ids)]
            tags = tagsvc.for_resources(s, ctx.project_id, [v.id for v in views])
        missing = [i for i in dict.fromkeys(ids) if i not in {v.id for v in views}]
        if missing:
            raise _not_found(missing)
        items = [flt.Tagged(v, tags.get(v.id, {})) for v in views]
        found = [t for t in items if flt.matches(t, filters, INTERFACE_FILTERS)]
        return flt.page(found, lambda t: t.item.id, max_results, token)


def _not_found(missing: Sequence[str]) -> NotFound:
    return NotFound("InvalidNetworkInterfaceID.NotFound",
                    f"The networkInterface ID '{', '.join(missing)}' does not exist")
