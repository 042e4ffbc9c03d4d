"""Internet gateways and route tables through boto3 (fake driver): issue 12's recipe end to
end, every error code, filters, tags, DeleteVpc's dependencies, and tenancy."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud


def _fails(code: str, call, *args, **kwargs) -> None:
    with pytest.raises(ClientError) as exc:
        call(*args, **kwargs)
    assert exc.value.response["Error"]["Code"] == code, exc.value.response["Error"]


@pytest.fixture(scope="module")
def ec2(cloud: RunningCloud):
    cloud.overcast("project", "create", "routes")
    return cloud.client(cloud.project_credentials("routes"))


@pytest.fixture(scope="module")
def other(cloud: RunningCloud):
    cloud.overcast("project", "create", "routes-others")
    return cloud.client(cloud.project_credentials("routes-others"))


def _tables(ec2, **filters: list[str]) -> list[dict]:
    found = ec2.describe_route_tables(Filters=[{"Name": k.replace("_", "."), "Values": v}
                                               for k, v in filters.items()])
    return found["RouteTables"]


def _main(ec2, vpc_id: str) -> dict:
    (table,) = _tables(ec2, **{"vpc-id": [vpc_id], "association.main": ["true"]})
    return table


def _gateways(ec2, name: str, values: list[str]) -> list[str]:
    found = ec2.describe_internet_gateways(Filters=[{"Name": name, "Values": values}])
    return [g["InternetGatewayId"] for g in found["InternetGateways"]]


def test_the_default_vpc_has_its_gateway_and_route(ec2) -> None:
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]
    (igw,) = ec2.describe_internet_gateways(Filters=[
        {"Name": "attachment.vpc-id", "Values": [vpc_id]}])["InternetGateways"]
    assert igw["Attachments"] == [{"State": "available", "VpcId": vpc_id}]
    main = _main(ec2, vpc_id)
    routes = {r["DestinationCidrBlock"]: r["GatewayId"] for r in main["Routes"]}
    assert routes == {"172.31.0.0/16": "local", "0.0.0.0/0": igw["InternetGatewayId"]}
    assert main["Associations"][0]["Main"] is True
    assert all(r["State"] == "active" for r in main["Routes"])


def test_the_recipe_end_to_end(ec2) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    main = _main(ec2, vpc_id)
    assert [(r["DestinationCidrBlock"], r["GatewayId"], r["Origin"]) for r in main["Routes"]] \
        == [("10.20.0.0/16", "local", "CreateRouteTable")]
    igw = ec2.create_internet_gateway(TagSpecifications=[{
        "ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "gw"}]}])[
        "InternetGateway"]
    igw_id = igw["InternetGatewayId"]
    assert igw["Attachments"] == [] and igw["Tags"] == [{"Key": "Name", "Value": "gw"}]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    table = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=[{
        "ResourceType": "route-table", "Tags": [{"Key": "tier", "Value": "public"}]}])[
        "RouteTable"]
    rtb = table["RouteTableId"]
    assert table["Associations"] == [] and table["Tags"] == [{"Key": "tier", "Value": "public"}]
    assert ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0",
                            GatewayId=igw_id)["Return"] is True
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet_id)
    assert assoc["AssociationState"]["State"] == "associated"
    (found,) = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"]
    assert {r["DestinationCidrBlock"]: (r["GatewayId"], r["State"]) for r in found["Routes"]} \
        == {"10.20.0.0/16": ("local", "active"), "0.0.0.0/0": (igw_id, "active")}
    assert [(a["SubnetId"], a["Main"]) for a in found["Associations"]] == [(subnet_id, False)]
    # the recipe undone, in the order a user must follow
    _fails("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)
    _fails("DependencyViolation", ec2.delete_route_table, RouteTableId=rtb)
    ec2.disassociate_route_table(AssociationId=assoc["AssociationId"])
    ec2.delete_route_table(RouteTableId=rtb)
    _fails("DependencyViolation", ec2.delete_internet_gateway, InternetGatewayId=igw_id)
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw_id)
    ec2.delete_subnet(SubnetId=subnet_id)
    main_id = main["RouteTableId"]
    ec2.delete_vpc(VpcId=vpc_id)
    _fails("InvalidRouteTableID.NotFound", ec2.describe_route_tables, RouteTableIds=[main_id])
    _fails("InvalidInternetGatewayID.NotFound", ec2.describe_internet_gateways,
           InternetGatewayIds=[igw_id])


def test_routes_change_and_go_blackhole(ec2) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.21.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.21.0.0/24")["Subnet"]["SubnetId"]
    eni = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"][
        "NetworkInterfaceId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    rtb = _main(ec2, vpc_id)["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="192.168.0.0/16",
                     NetworkInterfaceId=eni)
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.replace_route(RouteTableId=rtb, DestinationCidrBlock="192.168.0.0/16",
                      GatewayId=igw_id)
    ec2.replace_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0",
                      NetworkInterfaceId=eni)
    routes = {r["DestinationCidrBlock"]: r for r in _main(ec2, vpc_id)["Routes"]}
    assert routes["192.168.0.0/16"]["GatewayId"] == igw_id
    assert "NetworkInterfaceId" not in routes["192.168.0.0/16"]
    assert routes["0.0.0.0/0"]["NetworkInterfaceId"] == eni
    assert [t["RouteTableId"] for t in _tables(ec2, **{"route.gateway-id": [igw_id]})] == [rtb]
    assert [t["RouteTableId"] for t in _tables(
        ec2, **{"route.destination-cidr-block": ["192.168.*"]})] == [rtb]
    ec2.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    routes = {r["DestinationCidrBlock"]: r for r in _main(ec2, vpc_id)["Routes"]}
    assert routes["192.168.0.0/16"]["State"] == "blackhole"
    ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock="192.168.0.0/16")
    _fails("InvalidRoute.NotFound", ec2.delete_route, RouteTableId=rtb,
           DestinationCidrBlock="192.168.0.0/16")
    _fails("InvalidRoute.NotFound", ec2.replace_route, RouteTableId=rtb,
           DestinationCidrBlock="192.168.0.0/16", NetworkInterfaceId=eni)
    assert sorted(r["DestinationCidrBlock"] for r in _main(ec2, vpc_id)["Routes"]) == [
        "0.0.0.0/0", "10.21.0.0/16"]


def test_the_main_association_moves(ec2) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.22.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.22.0.0/24")["Subnet"]["SubnetId"]
    first = _main(ec2, vpc_id)
    main_assoc = first["Associations"][0]["RouteTableAssociationId"]
    second = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    third = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    _fails("InvalidParameterValue", ec2.disassociate_route_table, AssociationId=main_assoc)
    moved = ec2.replace_route_table_association(AssociationId=main_assoc,
                                                RouteTableId=second)["NewAssociationId"]
    assert moved != main_assoc and _main(ec2, vpc_id)["RouteTableId"] == second
    _fails("DependencyViolation", ec2.delete_route_table, RouteTableId=second)
    ec2.delete_route_table(RouteTableId=first["RouteTableId"])  # no longer the main one
    sub = ec2.associate_route_table(RouteTableId=second, SubnetId=subnet_id)["AssociationId"]
    _fails("Resource.AlreadyAssociated", ec2.associate_route_table, RouteTableId=third,
           SubnetId=subnet_id)
    again = ec2.replace_route_table_association(AssociationId=sub, RouteTableId=third)[
        "NewAssociationId"]
    assert [t["RouteTableId"] for t in _tables(ec2, **{"association.subnet-id": [subnet_id]})] \
        == [third]
    _fails("InvalidAssociationID.NotFound", ec2.disassociate_route_table, AssociationId=sub)
    ec2.disassociate_route_table(AssociationId=again)
    ec2.delete_route_table(RouteTableId=third)
    _fails("DependencyViolation", ec2.delete_vpc, VpcId=vpc_id)  # the subnet
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)
    assert _tables(ec2, **{"vpc-id": [vpc_id]}) == []


def test_gateway_errors(ec2) -> None:
    vpc_a = ec2.create_vpc(CidrBlock="10.23.0.0/16")["Vpc"]["VpcId"]
    vpc_b = ec2.create_vpc(CidrBlock="10.24.0.0/16")["Vpc"]["VpcId"]
    igw_1 = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    igw_2 = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_1, VpcId=vpc_a)
    _fails("Resource.AlreadyAssociated", ec2.attach_internet_gateway,
           InternetGatewayId=igw_2, VpcId=vpc_a)  # one per VPC
    _fails("Resource.AlreadyAssociated", ec2.attach_internet_gateway,
           InternetGatewayId=igw_1, VpcId=vpc_b)  # one VPC per gateway
    _fails("Gateway.NotAttached", ec2.detach_internet_gateway, InternetGatewayId=igw_1,
           VpcId=vpc_b)
    _fails("Gateway.NotAttached", ec2.detach_internet_gateway, InternetGatewayId=igw_2,
           VpcId=vpc_a)
    _fails("InvalidInternetGatewayID.NotFound", ec2.attach_internet_gateway,
           InternetGatewayId="igw-0123456789abcdef0", VpcId=vpc_a)
    _fails("InvalidInternetGatewayID.Malformed", ec2.delete_internet_gateway,
           InternetGatewayId="igw-nope")
    _fails("InvalidVpcID.NotFound", ec2.attach_internet_gateway, InternetGatewayId=igw_2,
           VpcId="vpc-0123456789abcdef0")
    _fails("DependencyViolation", ec2.delete_vpc, VpcId=vpc_a)
    assert _gateways(ec2, "attachment.state", ["available"]) and igw_2 not in _gateways(
        ec2, "attachment.state", ["available"])
    assert _gateways(ec2, "attachment.vpc-id", [vpc_a]) == [igw_1]
    assert _gateways(ec2, "internet-gateway-id", [igw_2]) == [igw_2]
    ec2.create_tags(Resources=[igw_2], Tags=[{"Key": "team", "Value": "net"}])
    assert _gateways(ec2, "tag:team", ["net"]) == [igw_2]
    _fails("InvalidParameterValue", ec2.describe_internet_gateways,
           Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    ec2.detach_internet_gateway(InternetGatewayId=igw_1, VpcId=vpc_a)
    for igw in (igw_1, igw_2):
        ec2.delete_internet_gateway(InternetGatewayId=igw)
    _fails("InvalidInternetGatewayID.NotFound", ec2.delete_internet_gateway,
           InternetGatewayId=igw_1)
    for vpc in (vpc_a, vpc_b):
        ec2.delete_vpc(VpcId=vpc)


def test_route_errors(ec2) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.25.0.0/16")["Vpc"]["VpcId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.26.0.0/16")["Vpc"]["VpcId"]
    other_subnet = ec2.create_subnet(VpcId=other_vpc, CidrBlock="10.26.0.0/24")["Subnet"][
        "SubnetId"]
    rtb = _main(ec2, vpc_id)["RouteTableId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    _fails("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,  # not attached
           DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    for bad in ("2001:db8::/32", "10.0.0.0/33", "not-a-cidr", "10.0.0.1/8"):
        _fails("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,
               DestinationCidrBlock=bad, GatewayId=igw_id)
    _fails("MissingParameter", ec2.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0")
    _fails("InvalidNatGatewayID.NotFound", ec2.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", NatGatewayId="nat-0123456789abcdef0")
    _fails("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,
           DestinationIpv6CidrBlock="::/0", GatewayId=igw_id)
    _fails("InvalidGatewayID.NotFound", ec2.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", GatewayId="vgw-0123456789abcdef0")
    _fails("InvalidNetworkInterfaceID.NotFound", ec2.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", NetworkInterfaceId="eni-0123456789abcdef0")
    _fails("InvalidInstanceID.NotFound", ec2.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", InstanceId="i-0123456789abcdef0")
    _fails("InvalidRouteTableID.NotFound", ec2.create_route, RouteTableId="rtb-0123456789abcdef0",
           DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    _fails("InvalidRouteTableID.Malformed", ec2.describe_route_tables, RouteTableIds=["rtb-x"])
    _fails("InvalidParameterValue", ec2.create_route, RouteTableId=rtb,  # the local one
           DestinationCidrBlock="10.25.0.0/16", GatewayId=igw_id)
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    _fails("RouteAlreadyExists", ec2.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    _fails("InvalidParameterValue", ec2.delete_route, RouteTableId=rtb,  # local is immutable
           DestinationCidrBlock="10.25.0.0/16")
    _fails("InvalidParameterValue", ec2.replace_route, RouteTableId=rtb,
           DestinationCidrBlock="10.25.0.0/16", GatewayId=igw_id)
    _fails("InvalidParameterValue", ec2.associate_route_table, RouteTableId=rtb,
           SubnetId=other_subnet)  # another VPC's subnet
    _fails("InvalidSubnetID.NotFound", ec2.associate_route_table, RouteTableId=rtb,
           SubnetId="subnet-0123456789abcdef0")
    _fails("DependencyViolation", ec2.delete_route_table, RouteTableId=rtb)  # the main one
    _fails("InvalidVpcID.NotFound", ec2.create_route_table, VpcId="vpc-0123456789abcdef0")
    _fails("InvalidParameterValue", ec2.describe_route_tables,
           Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    ec2.create_tags(Resources=[rtb], Tags=[{"Key": "k", "Value": "v"}])
    assert [t["RouteTableId"] for t in _tables(ec2, **{"tag:k": ["v"]})] == [rtb]
    assert rtb in [t["RouteTableId"] for t in _tables(ec2, **{"route-table-id": [rtb]})]


def test_another_project_sees_nothing(ec2, other) -> None:
    vpc_id = ec2.create_vpc(CidrBlock="10.27.0.0/16")["Vpc"]["VpcId"]
    igw_id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    rtb = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    theirs_vpc = other.create_vpc(CidrBlock="10.28.0.0/16")["Vpc"]["VpcId"]
    theirs_igw = other.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    _fails("InvalidInternetGatewayID.NotFound", other.describe_internet_gateways,
           InternetGatewayIds=[igw_id])
    _fails("InvalidInternetGatewayID.NotFound", other.attach_internet_gateway,
           InternetGatewayId=igw_id, VpcId=theirs_vpc)
    _fails("InvalidInternetGatewayID.NotFound", other.delete_internet_gateway,
           InternetGatewayId=igw_id)
    _fails("InvalidVpcID.NotFound", other.attach_internet_gateway,
           InternetGatewayId=theirs_igw, VpcId=vpc_id)
    _fails("InvalidRouteTableID.NotFound", other.describe_route_tables, RouteTableIds=[rtb])
    _fails("InvalidRouteTableID.NotFound", other.delete_route_table, RouteTableId=rtb)
    _fails("InvalidRouteTableID.NotFound", other.create_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", GatewayId=theirs_igw)
    _fails("InvalidID.NotFound", other.create_tags, Resources=[rtb, igw_id],
           Tags=[{"Key": "a", "Value": "b"}])
    seen = [t["RouteTableId"] for t in other.describe_route_tables()["RouteTables"]]
    assert rtb not in seen and _tables(other, **{"vpc-id": [vpc_id]}) == []
    assert igw_id not in _gateways(other, "internet-gateway-id", ["*"])
    ec2.delete_route_table(RouteTableId=rtb)
    ec2.delete_internet_gateway(InternetGatewayId=igw_id)
    ec2.delete_vpc(VpcId=vpc_id)
