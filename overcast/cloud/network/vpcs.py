"""The default VPC of each project (172.31.0.0/16, as on AWS) with one default subnet per
availability zone, and the private addresses instances get from their subnet."""

from __future__ import annotations

import ipaddress
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network.addresses import RoundRobin
from overcast.cloud.network.route_rows import make_main_table
from overcast.db import Database, utcnow
from overcast.db.models import Instance, Project
from overcast.db.models_network import (
    NetworkInterface,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Vpc,
)
from overcast.errors import InsufficientCapacity, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id

DEFAULT_VPC_CIDR = ipaddress.ip_network("172.31.0.0/16")
DEFAULT_SUBNET_PREFIX = 20
RESERVED_LOW = 4  # network address, router, DNS, future use, as AWS reserves them
ZONES_TTL = 2.0  # seconds between reads of the zone list
DHCP_OPTIONS_ID = "dopt-0a1b2c3d4e5f60718"

# security group defaults, created with the VPC
DEFAULT_GROUP_NAME = "default"
DEFAULT_GROUP_DESCRIPTION = "default VPC security group"


def usable_addresses(cidr: str) -> int:
    """Addresses an instance can get: AWS keeps the first four and the last one."""
    return max(ipaddress.ip_network(cidr).num_addresses - RESERVED_LOW - 1, 0)


def _absent(_t: flt.Tagged[object]) -> None:
    """A documented filter for something this cloud does not have: matches nothing."""
    return None


def _assoc_id(vpc_id: str) -> str:
    return "vpc-cidr-assoc-" + vpc_id.removeprefix("vpc-")


VPC_FILTERS: dict[str, flt.Extractor] = {
    "vpc-id": lambda t: t.item.vpc.id,
    "cidr": lambda t: t.item.vpc.cidr_block,
    "cidr-block-association.cidr-block": lambda t: t.item.vpc.cidr_block,
    "cidr-block-association.association-id": lambda t: _assoc_id(t.item.vpc.id),
    "cidr-block-association.state": lambda t: "associated",
    "dhcp-options-id": lambda t: DHCP_OPTIONS_ID,
    "is-default": lambda t: "true" if t.item.vpc.is_default else "false",
    "isDefault": lambda t: "true" if t.item.vpc.is_default else "false",
    "owner-id": lambda t: t.item.owner_id,
    "state": lambda t: t.item.vpc.state,
    "instance-tenancy": lambda t: "default",
    "ipv6-cidr-block-association.ipv6-cidr-block": _absent,
    "ipv6-cidr-block-association.ipv6-pool": _absent,
    "ipv6-cidr-block-association.association-id": _absent,
    "ipv6-cidr-block-association.state": _absent,
}


def _bool(value: bool) -> str:
    return "true" if value else "false"


SUBNET_FILTERS: dict[str, flt.Extractor] = {
    "subnet-id": lambda t: t.item.subnet.id,
    "vpc-id": lambda t: t.item.subnet.vpc_id,
    "cidr-block": lambda t: t.item.subnet.cidr_block,
    "cidr": lambda t: t.item.subnet.cidr_block,
    "cidrBlock": lambda t: t.item.subnet.cidr_block,
    "availability-zone": lambda t: t.item.subnet.availability_zone,
    "availabilityZone": lambda t: t.item.subnet.availability_zone,
    "availability-zone-id": lambda t: t.item.zone_id,
    "available-ip-address-count": lambda t: str(t.item.free),
    "default-for-az": lambda t: _bool(t.item.subnet.default_for_az),
    "defaultForAz": lambda t: _bool(t.item.subnet.default_for_az),
    "map-public-ip-on-launch": lambda t: _bool(t.item.subnet.map_public_ip_on_launch),
    "owner-id": lambda t: t.item.owner_id,
    "state": lambda t: t.item.subnet.state,
    "subnet-arn": lambda t: t.item.arn,
    "ipv6-native": lambda t: "false",
    "ipv6-cidr-block-association.ipv6-cidr-block": _absent,
    "ipv6-cidr-block-association.association-id": _absent,
    "ipv6-cidr-block-association.state": _absent,
    "outpost-arn": _absent,
    "customer-owned-ipv4-pool": _absent,
    "enable-dns64": lambda t: "false",
    "enable-lni-at-device-index": _absent,
    "map-customer-owned-ip-on-launch": lambda t: "false",
    "private-dns-name-options-on-launch.hostname-type": lambda t: "ip-name",
    "private-dns-name-options-on-launch.enable-resource-name-dns-a-record": lambda t: "false",
    "private-dns-name-options-on-launch.enable-resource-name-dns-aaaa-record":
        lambda t: "false",
}


@dataclass(frozen=True)
class VpcView:
    vpc: Vpc
    owner_id: str


@dataclass(frozen=True)
class SubnetView:
    subnet: Subnet
    owner_id: str
    free: int  # available IP addresses
    zone_id: str
    arn: str


class Vpcs:
    def __init__(self, db: Database, region: str, zones: Callable[[], list[str]],
                 subnet_prefix: int = DEFAULT_SUBNET_PREFIX) -> None:
        self.db, self.region, self.zones = db, region, zones
        if not 16 <= subnet_prefix <= 28:
            raise ValueError(f"default subnet prefix /{subnet_prefix}: AWS allows /16 to /28")
        self.subnet_prefix = subnet_prefix
        # project -> (default VPC ID, zones that have a default subnet)
        self._ready: dict[str, tuple[str, frozenset[str]]] = {}
        self._zones_read: tuple[float, frozenset[str]] = (-ZONES_TTL, frozenset())
        self._cidrs: dict[str, str] = {}  # subnet id -> CIDR (they never change)
        self._zone_ids: tuple[frozenset[str], dict[str, str]] = (frozenset(), {})
        self._private = RoundRobin()  # per subnet

    # the default VPC ----------------------------------------------------------------------
    def _current_zones(self) -> frozenset[str]:
        now = time.monotonic()
        if now - self._zones_read[0] > ZONES_TTL:
            self._zones_read = (now, frozenset(self.zones()))
        return self._zones_read[1]

    def ensure_defaults(self, project_id: str) -> str:
        """The ID of the project's default VPC, made on first use (in its own transaction:
        call it before opening a session) with its default security group and a default
        subnet in every availability zone."""
        zones = self._current_zones()
        known = self._ready.get(project_id)
        if known is not None and zones <= known[1]:
            return known[0]
        with self.db.session() as s:
            # one maker at a time per project (PostgreSQL); SQLite writers are serialized
            s.scalar(select(Project.id).where(Project.id == project_id).with_for_update())
            vpc = s.scalar(select(Vpc).where(Vpc.project_id == project_id, Vpc.is_default))
            if vpc is None:
                vpc = self._make_default_vpc(s, project_id)
            self._add_default_subnets(s, vpc, zones)
            vpc_id = vpc.id
        self._ready[project_id] = (vpc_id, zones)
        return vpc_id

    def default_vpc_in(self, s: Session, project_id: str) -> str:
        """The default VPC's ID inside an open session (after `ensure_defaults`)."""
        known = self._ready.get(project_id)
        if known is not None:
            return known[0]
        vpc_id = s.scalar(select(Vpc.id).where(Vpc.project_id == project_id, Vpc.is_default))
        if vpc_id is None:
            raise NotFound("InvalidVpcID.NotFound", "The project has no default VPC")
        return vpc_id

    def _make_default_vpc(self, s: Session, project_id: str) -> Vpc:
        return self.make_vpc(s, project_id, str(DEFAULT_VPC_CIDR), is_default=True)

    @staticmethod
    def make_vpc(s: Session, project_id: str, cidr: str, is_default: bool = False) -> Vpc:
        """A VPC with its default security group (all traffic from the group in, all out) and
        its main route table (a default VPC: with its internet gateway)."""
        now = utcnow()
        vpc = Vpc(id=new_id("vpc"), project_id=project_id, cidr_block=cidr,
                  is_default=is_default, state="available", created_at=now,
                  enable_dns_support=True, enable_dns_hostnames=is_default,
                  enable_network_address_usage_metrics=False, vni=_next_vni(s))
        group = SecurityGroup(id=new_id("sg"), project_id=project_id, vpc_id=vpc.id,
                              name=DEFAULT_GROUP_NAME, description=DEFAULT_GROUP_DESCRIPTION,
                              created_at=now)
        s.add(vpc)
        s.flush()
        s.add(group)
        s.flush()
        s.add_all([
            SecurityGroupRule(id=new_id("sgr"), group_id=group.id, project_id=project_id,
                              is_egress=False, protocol="-1", from_port=-1, to_port=-1,
                              source_group_id=group.id, description="", created_at=now),
            SecurityGroupRule(id=new_id("sgr"), group_id=group.id, project_id=project_id,
                              is_egress=True, protocol="-1", from_port=-1, to_port=-1,
                              cidr_ipv4="0.0.0.0/0", description="", created_at=now),
        ])
        make_main_table(s, vpc)
        return vpc

    def _add_default_subnets(self, s: Session, vpc: Vpc, zones: frozenset[str]) -> None:
        subnets = list(s.scalars(select(Subnet).where(Subnet.vpc_id == vpc.id)))
        covered = {n.availability_zone for n in subnets if n.default_for_az}
        taken = [ipaddress.ip_network(n.cidr_block) for n in subnets]
        free = (c for c in ipaddress.ip_network(vpc.cidr_block).subnets(
            new_prefix=self.subnet_prefix) if not any(c.overlaps(t) for t in taken))
        for zone in sorted(zones - covered):
            cidr = next(free, None)
            if cidr is None:
                break  # the VPC is full; zones beyond it get no default subnet
            s.add(Subnet(id=new_id("subnet"), project_id=vpc.project_id, vpc_id=vpc.id,
                         cidr_block=str(cidr), availability_zone=zone, default_for_az=True,
                         map_public_ip_on_launch=True, state="available",
                         created_at=utcnow()))
        s.flush()

    def default_vpc_id(self, ctx: Context) -> str:
        return self.ensure_defaults(ctx.project_id)

    # subnets for launches -----------------------------------------------------------------
    def subnet_for_launch(self, s: Session, ctx: Context, subnet_id: str | None,
                          zone: str | None) -> Subnet | None:
        """The subnet a launch names (checked), or None to use each host's default one."""
        if subnet_id is None:
            return None
        subnet = self.subnet(s, ctx, subnet_id)
        if zone and zone != subnet.availability_zone:
            raise invalid(f"The subnet '{subnet_id}' is in availability zone "
                          f"'{subnet.availability_zone}', not '{zone}'.",
                          "InvalidParameterCombination")
        return subnet

    def subnet(self, s: Session, ctx: Context, subnet_id: str) -> Subnet:
        """One of the caller's subnets, checked."""
        if not is_well_formed(subnet_id, "subnet"):
            raise InvalidParameter("InvalidSubnetID.Malformed",
                                   f'Invalid id: "{subnet_id}" (expecting "subnet-...")')
        subnet = s.scalar(select(Subnet).where(Subnet.id == subnet_id,
                                               Subnet.project_id == ctx.project_id))
        if subnet is None:
            raise NotFound("InvalidSubnetID.NotFound",
                           f"The subnet ID '{subnet_id}' does not exist")
        return subnet

    def default_subnet(self, s: Session, vpc_id: str, zone: str) -> Subnet:
        """The default subnet of a zone, made now if the zone is newer than the VPC."""
        where = {"vpc": vpc_id, "zone": zone}
        subnet = s.scalar(_DEFAULT_SUBNET, where)
        if subnet is None:
            vpc = s.get(Vpc, vpc_id)
            if vpc is not None:
                self._add_default_subnets(s, vpc, frozenset([zone]))
            subnet = s.scalar(_DEFAULT_SUBNET, where)
        if subnet is None:
            raise InsufficientCapacity(
                "InsufficientFreeAddressesInSubnet",
                f"There is no room for a default subnet in availability zone '{zone}'.")
        return subnet

    def free_addresses(self, s: Session, subnet: Subnet,
                       wanted: str | None = None) -> Iterator[str]:
        """Free private addresses of a subnet (or just `wanted`, checked), round the subnet
        (RoundRobin). Callers hold the project's row lock, so two launches never get the same
        address."""
        network = ipaddress.ip_network(subnet.cidr_block)
        if wanted is not None:
            yield _checked_address(network, wanted, _in_use(s, subnet.id, [wanted]))
            return
        yield from self._private.free(
            subnet.id, int(network.network_address) + RESERVED_LOW,
            max(network.num_addresses - 1 - RESERVED_LOW, 0),
            lambda addresses: _in_use(s, subnet.id, addresses))
        raise InsufficientCapacity(
            "InsufficientFreeAddressesInSubnet",
            f"There are not enough free addresses in subnet '{subnet.id}' to satisfy the "
            "requested number of instances.")

    def subnet_cidr(self, instance_row: Instance) -> str | None:
        """The CIDR of the instance's subnet (None for instances made before subnets)."""
        subnet_id = instance_row.subnet_id
        if not subnet_id:
            return None
        cidr = self._cidrs.get(subnet_id)
        if cidr is None:
            with self.db.read() as s:
                cidr = s.scalar(select(Subnet.cidr_block).where(Subnet.id == subnet_id))
            if cidr is not None:
                self._cidrs[subnet_id] = cidr
        return cidr

    # describe ---------------------------------------------------------------------------
    def describe_vpcs(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                      max_results: int | None,
                      token: str | None) -> tuple[list[flt.Tagged[VpcView]], str | None]:
        _check_ids(ids, "vpc", "InvalidVpcID")
        flt.check_filters(filters, VPC_FILTERS)
        flt.check_max_results(max_results, 5, 1000)
        self.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            rows = list(s.scalars(select(Vpc).where(Vpc.project_id == ctx.project_id)))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        _check_found(ids, {r.id for r in rows}, "InvalidVpcID.NotFound", "VPC")
        items = [flt.Tagged(VpcView(r, ctx.account_id), tags.get(r.id, {}))
                 for r in rows if not ids or r.id in ids]
        found = [t for t in items if flt.matches(t, filters, VPC_FILTERS)]
        return flt.page(found, lambda t: t.item.vpc.id, max_results, token)

    def describe_subnets(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                         max_results: int | None,
                         token: str | None) -> tuple[list[flt.Tagged[SubnetView]], str | None]:
        _check_ids(ids, "subnet", "InvalidSubnetID")
        flt.check_filters(filters, SUBNET_FILTERS)
        flt.check_max_results(max_results, 5, 1000)
        self.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            rows = list(s.scalars(select(Subnet).where(Subnet.project_id == ctx.project_id)))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
            used = Counter(dict(s.execute(
                select(Instance.subnet_id, func.count()).where(
                    Instance.project_id == ctx.project_id, Instance.private_ip.is_not(None))
                .group_by(Instance.subnet_id)).all()))
            used.update(dict(s.execute(
                select(NetworkInterface.subnet_id, func.count()).where(
                    NetworkInterface.project_id == ctx.project_id)
                .group_by(NetworkInterface.subnet_id)).all()))
        _check_found(ids, {r.id for r in rows}, "InvalidSubnetID.NotFound", "subnet")
        items = [flt.Tagged(self._subnet_view(ctx, r, used), tags.get(r.id, {}))
                 for r in rows if not ids or r.id in ids]
        found = [t for t in items if flt.matches(t, filters, SUBNET_FILTERS)]
        return flt.page(found, lambda t: t.item.subnet.id, max_results, token)

    def _subnet_view(self, ctx: Context, subnet: Subnet,
                     used: Counter[str | None]) -> SubnetView:
        free = usable_addresses(subnet.cidr_block) - used.get(subnet.id, 0)
        return SubnetView(subnet, ctx.account_id, free, self.zone_id(subnet.availability_zone),
                          f"arn:aws:ec2:{self.region}:{ctx.account_id}:subnet/{subnet.id}")

    def zone_id(self, zone: str) -> str:
        """The zone's ID as DescribeAvailabilityZones numbers them (region-az1, -az2...)."""
        zones = self._current_zones()
        if self._zone_ids[0] != zones:
            self._zone_ids = (zones, {z: f"{self.region}-az{n + 1}"
                                      for n, z in enumerate(sorted(zones))})
        return self._zone_ids[1].get(zone, f"{self.region}-az1")

    def exists(self, kind: type[Vpc] | type[Subnet] | type[NetworkInterface],
               ) -> Callable[[Session, Context, str], bool]:
        def found(s: Session, ctx: Context, resource_id: str) -> bool:
            return s.scalar(select(kind.id).where(kind.id == resource_id,
                                                  kind.project_id == ctx.project_id)) \
                is not None
        return found


def _next_vni(s: Session) -> int:
    """The next VXLAN network identifier. A unique index guards it: two VPCs made at once on
    PostgreSQL may collide, and the later commit fails."""
    return int(s.scalar(select(func.coalesce(func.max(Vpc.vni), 0))) or 0) + 1


# built once: every launch runs them
_DEFAULT_SUBNET = select(Subnet).where(Subnet.vpc_id == bindparam("vpc"), Subnet.default_for_az,
                                       Subnet.availability_zone == bindparam("zone"))
_PRIVATE_IPS_IN_USE = select(Instance.private_ip).where(
    Instance.subnet_id == bindparam("subnet"),
    Instance.private_ip.in_(bindparam("ips", expanding=True))).union_all(
    select(NetworkInterface.private_ip).where(
        NetworkInterface.subnet_id == bindparam("subnet"),
        NetworkInterface.private_ip.in_(bindparam("ips", expanding=True))))


def _in_use(s: Session, subnet_id: str, addresses: list[str]) -> set[str]:
    """Which of these addresses instances or network interfaces of the subnet hold."""
    return set(s.scalars(_PRIVATE_IPS_IN_USE, {"subnet": subnet_id, "ips": addresses}))


def _checked_address(network: ipaddress.IPv4Network | ipaddress.IPv6Network, wanted: str,
                     used: set[str]) -> str:
    try:
        address = ipaddress.ip_address(wanted)
    except ValueError:
        raise invalid(f"Invalid private IP address '{wanted}'.") from None
    offset = int(address) - int(network.network_address)
    if address not in network or not RESERVED_LOW <= offset < network.num_addresses - 1:
        raise invalid(f"Address {wanted} does not fall within the subnet's address range")
    if str(address) in used:
        raise InvalidParameter("InvalidIPAddress.InUse", f"Address {wanted} is in use.")
    return str(address)


def _check_ids(ids: Sequence[str], prefix: str, code: str) -> None:
    for rid in ids:
        if not is_well_formed(rid, prefix):
            raise InvalidParameter(f"{code}.Malformed",
                                   f'Invalid id: "{rid}" (expecting "{prefix}-...")')


def _check_found(ids: Sequence[str], have: set[str], code: str, what: str) -> None:
    missing = [i for i in dict.fromkeys(ids) if i not in have]
    if missing:
        raise NotFound(code, f"The {what} ID '{', '.join(missing)}' does not exist")
