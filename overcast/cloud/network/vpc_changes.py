"""CreateVpc/DeleteVpc and CreateSubnet/DeleteSubnet: VPCs and subnets beyond each project's
default ones, checked as EC2 checks them. DescribeVpcAttribute and ModifyVpcAttribute: DNS
support, DNS hostnames and network address usage metrics, stored on the VPC (DNS hostnames on
in default VPCs only, as AWS sets them)."""

from __future__ import annotations

import ipaddress

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from overcast.cloud.network.route_tables import RouteTables
from overcast.cloud.network.vpcs import Vpcs
from overcast.db import Database, utcnow
from overcast.db.models import Instance, Tag
from overcast.db.models_network import (
    InstanceSecurityGroup,
    NetworkInterface,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    Vpc,
)
from overcast.db.models_routes import InternetGateway, RouteTable, RouteTableAssociation
from overcast.errors import Conflict, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id
from overcast.lifecycle import State

MIN_PREFIX, MAX_PREFIX = 16, 28  # the block sizes AWS allows for VPCs and subnets


def parse_block(cidr: str, range_code: str) -> ipaddress.IPv4Network:
    """An IPv4 block a VPC or subnet may have; `range_code` names a size out of range
    (InvalidVpc.Range or InvalidSubnet.Range, as EC2 answers for each)."""
    try:
        network = ipaddress.ip_network(cidr)  # host bits set: refused, as EC2 does
    except ValueError:
        raise invalid(f"Value ({cidr}) for parameter cidrBlock is invalid. This is not a "
                      "valid CIDR block.", "InvalidParameterValue") from None
    if not isinstance(network, ipaddress.IPv4Network):
        raise invalid(f"Value ({cidr}) for parameter cidrBlock is invalid. This is not a "
                      "valid CIDR block.")
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise InvalidParameter(range_code, f"The CIDR '{cidr}' is invalid: use a /{MIN_PREFIX} to "
                               f"/{MAX_PREFIX} block.")
    return network


def _check_id(resource_id: str, prefix: str, code: str) -> None:
    if not is_well_formed(resource_id, prefix):
        raise InvalidParameter(f"{code}.Malformed",
                               f'Invalid id: "{resource_id}" (expecting "{prefix}-...")')


class VpcChanges:
    def __init__(self, db: Database, vpcs: Vpcs) -> None:
        self.db, self.vpcs = db, vpcs

    # VPCs ---------------------------------------------------------------------------------
    def create_vpc(self, ctx: Context, cidr: str) -> Vpc:
        network = parse_block(cidr, "InvalidVpc.Range")
        self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            return self.vpcs.make_vpc(s, ctx.project_id, str(network))

    def _vpc(self, s: Session, ctx: Context, vpc_id: str) -> Vpc:
        _check_id(vpc_id, "vpc", "InvalidVpcID")
        vpc = s.scalar(select(Vpc).where(Vpc.id == vpc_id, Vpc.project_id == ctx.project_id))
        if vpc is None:
            raise NotFound("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
        return vpc

    def delete_vpc(self, ctx: Context, vpc_id: str) -> None:
        with self.db.session() as s:
            vpc = self._vpc(s, ctx, vpc_id)
            if vpc.is_default:
                raise Conflict("OperationNotPermitted",
                               "The default VPC cannot be deleted in this cloud.")
            groups = list(s.scalars(select(SecurityGroup).where(SecurityGroup.vpc_id == vpc.id)))
            subnets = s.scalar(select(func.count()).select_from(Subnet).where(
                Subnet.vpc_id == vpc.id))
            if subnets or any(g.name != "default" for g in groups) or _routing_in_use(s, vpc):
                raise Conflict("DependencyViolation",
                               f"The vpc '{vpc.id}' has dependencies and cannot be deleted.")
            ids = [g.id for g in groups]
            # only terminated instances (kept visible for a while) can still name these groups
            s.execute(delete(InstanceSecurityGroup).where(InstanceSecurityGroup.group_id.in_(ids)))
            s.execute(delete(SecurityGroupRule).where(SecurityGroupRule.group_id.in_(ids)))
            s.execute(delete(SecurityGroup).where(SecurityGroup.id.in_(ids)))
            s.execute(delete(Tag).where(Tag.resource_id.in_([vpc.id, *ids])))
            for table_id in list(s.scalars(select(RouteTable.id).where(
                    RouteTable.vpc_id == vpc.id))):
                RouteTables.remove(s, table_id)  # the main one: the only one left
            s.delete(vpc)

    # subnets ------------------------------------------------------------------------------
    def create_subnet(self, ctx: Context, vpc_id: str, cidr: str, zone: str | None) -> Subnet:
        network = parse_block(cidr, "InvalidSubnet.Range")
        zones = self.vpcs.zones()
        if zone is not None and zone not in zones:
            raise invalid(f"Value ({zone}) for parameter availabilityZone is invalid. "
                          f"Subnets can currently only be created in the following "
                          f"availability zones: {', '.join(zones)}.")
        with self.db.session() as s:
            vpc = self._vpc(s, ctx, vpc_id)
            if not network.subnet_of(ipaddress.ip_network(vpc.cidr_block)):  # type: ignore[arg-type]
                raise InvalidParameter("InvalidSubnet.Range",
                                       f"The CIDR '{cidr}' is invalid for the VPC "
                                       f"'{vpc.id}' ({vpc.cidr_block}).")
            for other in s.scalars(select(Subnet).where(Subnet.vpc_id == vpc.id)):
                if network.overlaps(ipaddress.ip_network(other.cidr_block)):
                    raise InvalidParameter("InvalidSubnet.Conflict",
                                           f"The CIDR '{cidr}' conflicts with another "
                                           "subnet")
            subnet = Subnet(id=new_id("subnet"), project_id=ctx.project_id, vpc_id=vpc.id,
                            cidr_block=str(network), availability_zone=zone or zones[0],
                            default_for_az=False, map_public_ip_on_launch=False,
                            state="available", created_at=utcnow())
            s.add(subnet)
        return subnet

    def delete_subnet(self, ctx: Context, subnet_id: str) -> None:
        with self.db.session() as s:
            subnet = self.vpcs.subnet(s, ctx, subnet_id)
            users = s.scalar(select(func.count()).select_from(Instance).where(
                Instance.subnet_id == subnet.id, Instance.state != State.TERMINATED)) or 0
            users += s.scalar(select(func.count()).select_from(NetworkInterface).where(
                NetworkInterface.subnet_id == subnet.id)) or 0
            if users:
                raise Conflict("DependencyViolation",
                               f"The subnet '{subnet.id}' has dependencies and cannot be "
                               "deleted.")
            s.execute(delete(Tag).where(Tag.resource_id == subnet.id))
            s.delete(subnet)


def _routing_in_use(s: Session, vpc: Vpc) -> bool:
    """An internet gateway attached, or a route table besides the main one."""
    if s.scalar(select(InternetGateway.id).where(InternetGateway.vpc_id == vpc.id)):
        return True
    main = select(RouteTableAssociation.route_table_id).where(
        RouteTableAssociation.main_vpc_id == vpc.id)
    return s.scalar(select(RouteTable.id).where(RouteTable.vpc_id == vpc.id,
                                                RouteTable.id.not_in(main))) is not None


# the API's attribute name -> the column holding it
ATTRIBUTES = {
    "enableDnsSupport": "enable_dns_support",
    "enableDnsHostnames": "enable_dns_hostnames",
    "enableNetworkAddressUsageMetrics": "enable_network_address_usage_metrics",
}


def _check_attribute(name: str) -> str:
    column = ATTRIBUTES.get(name)
    if column is None:
        raise InvalidParameter("InvalidParameterValue", f"Value ({name[:64]}) for parameter "
                               f"attribute is invalid. Use one of {', '.join(ATTRIBUTES)}.")
    return column


class VpcAttributes:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _vpc(s: Session, ctx: Context, vpc_id: str) -> Vpc:
        if not is_well_formed(vpc_id, "vpc"):
            raise InvalidParameter("InvalidVpcID.Malformed",
                                   f'Invalid id: "{vpc_id[:64]}" (expecting "vpc-...")')
        vpc = s.scalar(select(Vpc).where(Vpc.id == vpc_id, Vpc.project_id == ctx.project_id))
        if vpc is None:
            raise NotFound("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
        return vpc

    def get(self, ctx: Context, vpc_id: str, attribute: str) -> bool:
        column = _check_attribute(attribute)
        with self.db.read() as s:
            return bool(getattr(self._vpc(s, ctx, vpc_id), column))

    def modify(self, ctx: Context, vpc_id: str, changes: dict[str, bool]) -> None:
        """Set one attribute (EC2 takes one a request)."""
        if len(changes) != 1:
            raise InvalidParameter("InvalidParameterCombination" if changes else
                                   "MissingParameter", "Specify exactly one attribute: "
                                   f"{', '.join(ATTRIBUTES)}.")
        [(attribute, value)] = changes.items()
        column = _check_attribute(attribute)
        with self.db.session() as s:
            vpc = self._vpc(s, ctx, vpc_id)
            if attribute == "enableDnsHostnames" and value and not vpc.enable_dns_support:
                raise InvalidParameter("InvalidParameterValue", "DNS hostnames cannot be "
                                       "enabled while DNS support is disabled.")
            setattr(vpc, column, value)
