"""Neutron routers, read only, through openstacksdk and the `openstack` command: one router
per VPC, its external gateway the EC2 internet gateway, its routes the main table's routes to
an interface, its changes refused; another project sees none of them."""

from __future__ import annotations

import pytest
from openstack import exceptions

from tests.openstack.conftest import OsCloud


def _router_of(conn, vpc_id: str):
    found = [r for r in conn.network.routers() if vpc_id in r.description]
    assert len(found) == 1, [r.description for r in conn.network.routers()]
    return found[0]


def test_each_vpc_is_a_router(osc: OsCloud, admin) -> None:
    ec2 = osc.cloud.client()
    public = admin.network.find_network("public")
    default_vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]
    default = _router_of(admin, default_vpc)
    assert default.name == "default"
    assert default.external_gateway_info["network_id"] == public.id  # its default gateway

    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16", TagSpecifications=[{
        "ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "shop"}]}])["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]
    made = _router_of(admin, vpc_id)
    assert made.name == "shop" and made.external_gateway_info is None and made.routes == []
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "RouteTables"][0]["RouteTableId"]
    ec2.create_route(RouteTableId=main, DestinationCidrBlock="192.168.9.0/24",
                     NetworkInterfaceId=eni["NetworkInterfaceId"])
    shown = admin.network.get_router(made.id)
    assert shown.external_gateway_info["network_id"] == public.id
    assert shown.routes == [{"destination": "192.168.9.0/24",
                             "nexthop": eni["PrivateIpAddress"]}]
    listed = osc.cli_json("router", "show", made.id)
    assert listed["name"] == "shop"

    with pytest.raises(exceptions.BadRequestException):
        admin.network.create_router(name="extra")
    with pytest.raises(exceptions.BadRequestException):
        admin.network.update_router(made, name="renamed")
    with pytest.raises(exceptions.NotFoundException):
        admin.network.get_router("00000000-0000-0000-0000-000000000000")

    alice = osc.user("alice", "p2")
    assert made.id not in {r.id for r in alice.network.routers()}
    with pytest.raises(exceptions.NotFoundException):
        alice.network.get_router(made.id)

    ec2.delete_route(RouteTableId=main, DestinationCidrBlock="192.168.9.0/24")
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)
    assert made.id not in {r.id for r in admin.network.routers()}
