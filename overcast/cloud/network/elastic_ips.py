"""Elastic IPs: addresses of the cloud's public pool (setting ELASTIC_IP_POOL) that a project
allocates, keeps across instances and releases. What they are associated with, and what that
does to an instance's public IP, is in eip_associations.py."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network.addresses import PUBLIC_POOL, Addresses
from overcast.cloud.network.public_leases import PublicLeases
from overcast.config import Settings
from overcast.db import Database, utcnow
from overcast.db.models import Project, Tag
from overcast.db.models_eips import ElasticIp
from overcast.db.models_nat import PublicAddressLease
from overcast.errors import (
    Conflict,
    DryRunOk,
    Forbidden,
    InsufficientCapacity,
    InvalidParameter,
    NotFound,
    QuotaExceeded,
    invalid,
)
from overcast.identity.context import Context
from overcast.identity.records import ProjectRecord
from overcast.ids import is_well_formed, new_id

POOL_NAME = "amazon"  # PublicIpv4Pool, as AWS names its own


@dataclass(frozen=True)
class AddressView:
    address: ElasticIp
    owner_id: str  # the project's account ID
    border_group: str  # the region


ADDRESS_FILTERS: dict[str, flt.Extractor] = {
    "allocation-id": lambda t: t.item.address.id,
    "association-id": lambda t: t.item.address.association_id,
    "domain": lambda t: t.item.address.domain,
    "instance-id": lambda t: t.item.address.instance_id,
    "network-border-group": lambda t: t.item.border_group,
    "network-interface-id": lambda t: t.item.address.network_interface_id,
    "network-interface-owner-id":
        lambda t: t.item.owner_id if t.item.address.network_interface_id else None,
    "private-ip-address": lambda t: t.item.address.private_ip,
    "public-ip": lambda t: t.item.address.public_ip,
    "public-ipv4-pool": lambda t: POOL_NAME,
}


def elastic_pool(settings: Settings) -> ipaddress.IPv4Network:
    """The configured pool; refused when it overlaps the auto-assigned public addresses (those
    are unique per host, Elastic IPs across the cloud: one range must not serve both)."""
    try:
        pool = ipaddress.IPv4Network(settings.elastic_ip_pool)
    except ValueError as exc:
        raise ValueError(f"ELASTIC_IP_POOL {settings.elastic_ip_pool!r}: {exc}") from exc
    if pool.overlaps(PUBLIC_POOL):
        raise ValueError(f"ELASTIC_IP_POOL {pool} overlaps the auto-assigned public "
                         f"addresses {PUBLIC_POOL}")
    if settings.public_cidr:  # kernel networking's public network: the pool lies in it
        public = ipaddress.IPv4Network(settings.public_cidr, strict=False)
        return pool if pool.subnet_of(public) else public
    return pool


def check_allocation_ids(ids: Sequence[str]) -> None:
    for allocation_id in ids:
        if not is_well_formed(allocation_id, "eipalloc"):
            raise InvalidParameter("InvalidAllocationID.Malformed",
                                   f'Invalid id: "{allocation_id}" (expecting "eipalloc-...")')


def allocation_not_found(allocation_id: str) -> NotFound:
    return NotFound("InvalidAllocationID.NotFound",
                    f"The allocation ID '{allocation_id}' does not exist")


def address_not_found(public_ip: str) -> NotFound:
    return NotFound("InvalidAddress.NotFound", f"Address '{public_ip}' not found.")


class ElasticIps:
    def __init__(self, db: Database, settings: Settings, addresses: Addresses) -> None:
        self.db, self.settings, self.addresses = db, settings, addresses
        self.pool = elastic_pool(settings)
        # the public network's gateway is never handed out
        reserved = {int(ipaddress.IPv4Address(settings.public_gateway_ip))} \
            if settings.public_gateway_ip else set()
        # with a public network, instances get addresses of the same pool at launch
        self.leases = PublicLeases(self.pool, reserved, auto_assign=bool(settings.public_cidr))

    # allocating -----------------------------------------------------------------------------
    def allocate(self, ctx: Context, address: str | None = None,
                 tags: dict[str, str] | None = None, dry_run: bool = False) -> AddressView:
        """A free address of the pool (or the one asked for) for the project, within its
        limit; concurrent allocations never share an address (a unique column decides)."""
        tagsvc.validate(tags or {})
        with self.db.session() as s:
            project = s.scalar(select(Project).where(Project.id == ctx.project_id)
                               .with_for_update())  # one allocation of a project at a time
            if project is None:
                raise NotFound("AuthFailure", "The project no longer exists")
            held = s.scalar(select(func.count()).select_from(ElasticIp).where(
                ElasticIp.project_id == ctx.project_id)) or 0
            if held >= self.limit(project):
                raise QuotaExceeded("AddressLimitExceeded",
                                    "The maximum number of addresses has been reached.")
            if dry_run:
                raise DryRunOk()
            row = self._insert(s, ctx, address)
            tagsvc.add(s, ctx.project_id, row.id, tags or {}, new=True)
            return AddressView(row, ctx.account_id, self.settings.region)

    def project_limit(self, ctx: Context) -> int:
        with self.db.read() as s:
            project = s.get(Project, ctx.project_id)
        return self.settings.default_max_elastic_ips if project is None else self.limit(project)

    def limit(self, project: Project | ProjectRecord) -> int:
        return (self.settings.default_max_elastic_ips if project.max_elastic_ips is None
                else project.max_elastic_ips)

    def check_request(self, address: str | None, domain: str, pool: str | None,
                      border_group: str | None) -> None:
        """AllocateAddress's parameters, checked before anything is done."""
        if domain not in ("vpc", "standard"):
            raise invalid(f"Invalid value '{domain}' for domain.")
        if domain == "standard":
            raise invalid("EC2-Classic is not offered: allocate addresses for use in a VPC "
                          "(Domain vpc).")
        if pool not in (None, POOL_NAME):
            raise NotFound("InvalidPublicIpv4PoolID.NotFound",
                           f"The public IPv4 pool ID '{pool}' does not exist")
        if border_group not in (None, self.settings.region):
            raise invalid(f"Invalid network border group '{border_group}'; this cloud's is "
                          f"'{self.settings.region}'.")
        if address is not None:
            try:
                wanted = ipaddress.IPv4Address(address)
            except ValueError as exc:
                raise invalid(f"Invalid value '{address}' for address.") from exc
            if wanted not in self.pool or int(wanted) in self.leases.reserved or \
                    wanted in (self.pool.network_address, self.pool.broadcast_address):
                raise invalid(f"Address {address} is not in this cloud's pool of public "
                              f"addresses ({self.pool}).")

    def _insert(self, s: Session, ctx: Context, address: str | None) -> ElasticIp:
        """Insert the project's new row with the first candidate no one holds; a candidate
        another transaction took meanwhile fails the unique column and the next is tried."""
        candidates = [address] if address is not None else \
            self.leases.candidates(s, "eip", self.addresses.bound())
        for candidate in candidates:
            row = ElasticIp(id=new_id("eipalloc"), project_id=ctx.project_id,
                            public_ip=candidate, domain="vpc", created_at=utcnow())
            try:
                with s.begin_nested():
                    s.add(row)
                    s.add(PublicAddressLease(public_ip=candidate, allocation_id=row.id))
            except IntegrityError:
                continue
            return row
        if address is not None:
            raise Conflict("InvalidIPAddress.InUse", f"Address {address} is in use.")
        raise InsufficientCapacity("InsufficientAddressCapacity",
                                   "There are no free addresses in the cloud's public pool.")

    # finding --------------------------------------------------------------------------------
    def find(self, s: Session, ctx: Context, allocation_id: str | None,
             public_ip: str | None, lock: bool = True) -> ElasticIp:
        """The project's address by allocation ID or by address; another project's address
        named by its public IP answers AuthFailure, as EC2 does."""
        if allocation_id is None and public_ip is None:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter AllocationId")
        query = select(ElasticIp)
        if allocation_id is not None:
            check_allocation_ids([allocation_id])
            query = query.where(ElasticIp.id == allocation_id)
        else:
            query = query.where(ElasticIp.public_ip == public_ip)
        row = s.scalar(query.with_for_update() if lock else query)
        if row is None or (allocation_id is not None and row.project_id != ctx.project_id):
            raise (allocation_not_found(allocation_id) if allocation_id is not None
                   else address_not_found(str(public_ip)))
        if row.project_id != ctx.project_id:
            raise Forbidden("AuthFailure",
                            "You do not have permission to access the specified resource.")
        return row

    def refuse_classic(self, s: Session, ctx: Context, public_ip: str, needed: str) -> NoReturn:
        """EC2-Classic named addresses by their public IP; a VPC address is named by `needed`
        (its allocation or association ID), so EC2 refuses the project's own address named by
        IP, and answers AuthFailure for any other."""
        owner = s.scalar(select(ElasticIp.project_id).where(ElasticIp.public_ip == public_ip))
        if owner == ctx.project_id:
            raise invalid(f"You must specify {needed} for the VPC address {public_ip}.")
        raise Forbidden("AuthFailure",
                        "You do not have permission to access the specified resource.")

    def release(self, ctx: Context, allocation_id: str | None, public_ip: str | None,
                dry_run: bool = False) -> None:
        if allocation_id is not None and public_ip is not None:
            raise InvalidParameter("InvalidParameterCombination",
                                   "Specify either an allocation ID or a public IP, not both.")
        with self.db.session() as s:
            if allocation_id is None and public_ip is not None:
                self.refuse_classic(s, ctx, public_ip, "an allocation ID")
            row = self.find(s, ctx, allocation_id, public_ip)
            if row.association_id is not None:
                raise Conflict("InvalidIPAddress.InUse", f"Address {row.public_ip} is in use.")
            if dry_run:
                raise DryRunOk()
            s.execute(delete(Tag).where(Tag.resource_id == row.id))
            self.leases.release_allocation(s, row.id)
            s.delete(row)

    def describe(self, ctx: Context, allocation_ids: Sequence[str], public_ips: Sequence[str],
                 filters: Sequence[flt.Filter]) -> list[flt.Tagged[AddressView]]:
        check_allocation_ids(allocation_ids)
        for public_ip in public_ips:
            try:
                ipaddress.IPv4Address(public_ip)
            except ValueError as exc:
                raise invalid(f"Invalid value '{public_ip}' for PublicIp.") from exc
        flt.check_filters(filters, ADDRESS_FILTERS)
        with self.db.read() as s:
            rows = list(s.scalars(select(ElasticIp).where(
                ElasticIp.project_id == ctx.project_id).order_by(ElasticIp.public_ip)))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        for allocation_id in allocation_ids:
            if allocation_id not in {r.id for r in rows}:
                raise allocation_not_found(allocation_id)
        for public_ip in public_ips:
            if public_ip not in {r.public_ip for r in rows}:
                raise address_not_found(public_ip)
        named = set(allocation_ids) | set(public_ips)  # either names an address, as in EC2
        items = [flt.Tagged(AddressView(r, ctx.account_id, self.settings.region),
                            tags.get(r.id, {})) for r in rows
                 if not named or r.id in named or r.public_ip in named]
        return flt.apply(items, filters, ADDRESS_FILTERS)

    def exists(self, s: Session, ctx: Context, allocation_id: str) -> bool:
        """For tags: is this the project's allocation."""
        return s.scalar(select(ElasticIp.id).where(
            ElasticIp.id == allocation_id, ElasticIp.project_id == ctx.project_id)) is not None
