"""EC2 VPC and subnet actions (each project's default VPC and its default subnets)."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import (
    Call,
    action,
    delete_named,
    dry_run_check,
    required,
    tag_list,
    tagged_on_create,
)
from overcast.cloud import filters as flt
from overcast.cloud.network import DHCP_OPTIONS_ID, SubnetView, VpcView
from overcast.errors import InvalidParameter


def _render_vpc(call: Call, tagged: flt.Tagged[VpcView]) -> dict[str, Any]:
    vpc = tagged.item.vpc
    return {
        "VpcId": vpc.id, "CidrBlock": vpc.cidr_block, "State": vpc.state,
        "DhcpOptionsId": DHCP_OPTIONS_ID, "InstanceTenancy": "default",
        "IsDefault": vpc.is_default, "OwnerId": call.ctx.account_id,
        "CidrBlockAssociationSet": [{
            "AssociationId": "vpc-cidr-assoc-" + vpc.id.removeprefix("vpc-"),
            "CidrBlock": vpc.cidr_block, "CidrBlockState": {"State": "associated"}}],
        "Tags": tag_list(tagged.tags),
    }


def _render_subnet(call: Call, tagged: flt.Tagged[SubnetView]) -> dict[str, Any]:
    view = tagged.item
    subnet = view.subnet
    return {
        "SubnetId": subnet.id, "VpcId": subnet.vpc_id, "CidrBlock": subnet.cidr_block,
        "State": subnet.state, "AvailabilityZone": subnet.availability_zone,
        "AvailabilityZoneId": view.zone_id, "AvailableIpAddressCount": view.free,
        "DefaultForAz": subnet.default_for_az,
        "MapPublicIpOnLaunch": subnet.map_public_ip_on_launch,
        "MapCustomerOwnedIpOnLaunch": False, "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [], "EnableDns64": False, "Ipv6Native": False,
        "OwnerId": call.ctx.account_id, "SubnetArn": view.arn,
        "PrivateDnsNameOptionsOnLaunch": {"HostnameType": "ip-name",
                                          "EnableResourceNameDnsARecord": False,
                                          "EnableResourceNameDnsAAAARecord": False},
        "Tags": tag_list(tagged.tags),
    }


@action("DescribeVpcs")
def describe_vpcs(call: Call) -> dict[str, Any]:
    items, token = call.cloud.vpcs.describe_vpcs(
        call.ctx, call.get("VpcIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"Vpcs": [_render_vpc(call, t) for t in items], "NextToken": token}


@action("DescribeSubnets")
def describe_subnets(call: Call) -> dict[str, Any]:
    items, token = call.cloud.vpcs.describe_subnets(
        call.ctx, call.get("SubnetIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"Subnets": [_render_subnet(call, t) for t in items], "NextToken": token}


@action("CreateVpc")
def create_vpc(call: Call) -> dict[str, Any]:
    cidr = required(call, "CidrBlock")
    dry_run_check(call)
    vpc = call.cloud.vpc_changes.create_vpc(call.ctx, cidr)
    tags = tagged_on_create(call, "vpc", vpc.id)
    return {"Vpc": _render_vpc(call, flt.Tagged(VpcView(vpc, call.ctx.account_id), tags))}


@action("DeleteVpc")
def delete_vpc(call: Call) -> dict[str, Any]:
    return delete_named(call, "VpcId", call.cloud.vpc_changes.delete_vpc)


@action("CreateSubnet")
def create_subnet(call: Call) -> dict[str, Any]:
    vpc_id, cidr = required(call, "VpcId"), required(call, "CidrBlock")
    dry_run_check(call)
    subnet = call.cloud.vpc_changes.create_subnet(call.ctx, vpc_id, cidr,
                                                  call.get("AvailabilityZone"))
    tags = tagged_on_create(call, "subnet", subnet.id)
    found, _ = call.cloud.vpcs.describe_subnets(call.ctx, [subnet.id], [], None, None)
    return {"Subnet": _render_subnet(call, flt.Tagged(found[0].item, tags))}


@action("DeleteSubnet")
def delete_subnet(call: Call) -> dict[str, Any]:
    return delete_named(call, "SubnetId", call.cloud.vpc_changes.delete_subnet)


_ATTRIBUTE_MEMBERS = {"enableDnsSupport": "EnableDnsSupport",
                      "enableDnsHostnames": "EnableDnsHostnames",
                      "enableNetworkAddressUsageMetrics": "EnableNetworkAddressUsageMetrics"}


@action("DescribeVpcAttribute")
def describe_vpc_attribute(call: Call) -> dict[str, Any]:
    vpc_id, attribute = required(call, "VpcId"), required(call, "Attribute")
    value = call.cloud.vpc_attributes.get(call.ctx, vpc_id, attribute)
    dry_run_check(call)
    return {"VpcId": vpc_id, _ATTRIBUTE_MEMBERS[attribute]: {"Value": value}}


@action("ModifyVpcAttribute")
def modify_vpc_attribute(call: Call) -> dict[str, Any]:
    vpc_id = required(call, "VpcId")
    changes = {name: call.params[member].get("Value")
               for name, member in _ATTRIBUTE_MEMBERS.items() if member in call.params}
    unset = [f"{_ATTRIBUTE_MEMBERS[n]}.Value" for n, v in changes.items() if v is None]
    if unset:
        raise InvalidParameter("MissingParameter",
                               f"The request must contain the parameter {unset[0]}")
    if call.get("DryRun"):
        call.cloud.vpc_attributes.get(call.ctx, vpc_id, "enableDnsSupport")
        dry_run_check(call)
    call.cloud.vpc_attributes.modify(call.ctx, vpc_id, changes)
    return {}
