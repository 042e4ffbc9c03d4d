"""NAT gateways through boto3 (fake driver): create with an Elastic IP, route a subnet to it,
describe and filter, delete, every error code, tenancy."""

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
    cloud.overcast("project", "create", "nats")
    return cloud.client(cloud.project_credentials("nats"))


@pytest.fixture(scope="module")
def other(cloud: RunningCloud):
    cloud.overcast("project", "create", "nats-others")
    return cloud.client(cloud.project_credentials("nats-others"))


@pytest.fixture(scope="module")
def vpc(ec2) -> dict[str, str]:
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.30.0.0/24")["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.30.1.0/24")["Subnet"]["SubnetId"]
    return {"vpc": vpc_id, "public": public, "private": private}


def test_a_nat_gateway_takes_its_address_and_a_route_names_it(ec2, vpc) -> None:
    allocation = ec2.allocate_address(Domain="vpc")
    made = ec2.create_nat_gateway(
        SubnetId=vpc["public"], AllocationId=allocation["AllocationId"],
        TagSpecifications=[{"ResourceType": "natgateway",
                            "Tags": [{"Key": "Name", "Value": "out"}]}])["NatGateway"]
    nat_id = made["NatGatewayId"]
    assert nat_id.startswith("nat-") and made["State"] == "pending"
    (nat,) = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    assert nat["State"] == "available" and nat["VpcId"] == vpc["vpc"]
    assert nat["Tags"] == [{"Key": "Name", "Value": "out"}]
    (address,) = nat["NatGatewayAddresses"]
    assert address["PublicIp"] == allocation["PublicIp"]
    assert address["PrivateIp"].startswith("10.30.0.")
    (eip,) = ec2.describe_addresses(AllocationIds=[allocation["AllocationId"]])["Addresses"]
    assert eip["NetworkInterfaceId"] == address["NetworkInterfaceId"]
    assert eip["PrivateIpAddress"] == address["PrivateIp"] and eip["AssociationId"]
    _fails("InvalidIPAddress.InUse", ec2.release_address,
           AllocationId=allocation["AllocationId"])
    _fails("Resource.AlreadyAssociated", ec2.create_nat_gateway, SubnetId=vpc["private"],
           AllocationId=allocation["AllocationId"])

    rtb = ec2.create_route_table(VpcId=vpc["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=vpc["private"])
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    (table,) = ec2.describe_route_tables(Filters=[
        {"Name": "route.nat-gateway-id", "Values": [nat_id]}])["RouteTables"]
    (route,) = [r for r in table["Routes"] if r["DestinationCidrBlock"] == "0.0.0.0/0"]
    assert route["NatGatewayId"] == nat_id and route["State"] == "active"
    found = ec2.describe_nat_gateways(Filters=[{"Name": "subnet-id",
                                                "Values": [vpc["public"]]}])["NatGateways"]
    assert [n["NatGatewayId"] for n in found] == [nat_id]
    _fails("DependencyViolation", ec2.delete_subnet, SubnetId=vpc["public"])

    assert ec2.delete_nat_gateway(NatGatewayId=nat_id)["NatGatewayId"] == nat_id
    (nat,) = ec2.describe_nat_gateways(NatGatewayIds=[nat_id])["NatGateways"]
    assert nat["State"] == "deleted"
    (table,) = ec2.describe_route_tables(RouteTableIds=[rtb])["RouteTables"]
    assert [r["State"] for r in table["Routes"] if r.get("NatGatewayId")] == ["blackhole"]
    (eip,) = ec2.describe_addresses(AllocationIds=[allocation["AllocationId"]])["Addresses"]
    assert "AssociationId" not in eip
    _fails("NatGatewayNotFound", ec2.delete_nat_gateway, NatGatewayId=nat_id)
    _fails("InvalidNatGatewayID.NotFound", ec2.replace_route, RouteTableId=rtb,
           DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    ec2.release_address(AllocationId=allocation["AllocationId"])


def test_bad_requests_get_ec2s_errors(ec2, vpc) -> None:
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    _fails("InvalidSubnetID.NotFound", ec2.create_nat_gateway,
           SubnetId="subnet-0123456789abcdef0", AllocationId=allocation_id)
    _fails("InvalidAllocationID.NotFound", ec2.create_nat_gateway, SubnetId=vpc["public"],
           AllocationId="eipalloc-0123456789abcdef0")
    _fails("MissingParameter", ec2.create_nat_gateway, SubnetId=vpc["public"])
    _fails("InvalidParameterValue", ec2.create_nat_gateway, SubnetId=vpc["public"],
           ConnectivityType="private")
    _fails("NatGatewayNotFound", ec2.describe_nat_gateways,
           NatGatewayIds=["nat-0123456789abcdef0"])
    _fails("InvalidNatGatewayID.Malformed", ec2.delete_nat_gateway, NatGatewayId="nat-xyz")
    _fails("InvalidParameterValue", ec2.describe_nat_gateways,
           Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    _fails("DryRunOperation", ec2.create_nat_gateway, SubnetId=vpc["public"],
           AllocationId=allocation_id, DryRun=True)
    assert ec2.describe_nat_gateways(Filters=[{"Name": "state", "Values": ["available"]}])[
        "NatGateways"] == []
    ec2.release_address(AllocationId=allocation_id)


def test_another_project_sees_nothing(ec2, other, vpc) -> None:
    allocation_id = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat_id = ec2.create_nat_gateway(SubnetId=vpc["public"],
                                    AllocationId=allocation_id)["NatGateway"]["NatGatewayId"]
    assert other.describe_nat_gateways()["NatGateways"] == []
    _fails("NatGatewayNotFound", other.delete_nat_gateway, NatGatewayId=nat_id)
    _fails("NatGatewayNotFound", other.describe_nat_gateways, NatGatewayIds=[nat_id])
    ec2.delete_nat_gateway(NatGatewayId=nat_id)
    ec2.release_address(AllocationId=allocation_id)
