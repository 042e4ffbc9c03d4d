"""CreateVpc/CreateSubnet/CreateNetworkInterface and their deletes through boto3: a subnet's
addresses run out with InsufficientFreeAddressesInSubnet, interfaces and instances share
them, and what is in use cannot be deleted."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def ec2(cloud: RunningCloud):
    cloud.overcast("project", "create", "vpc-changes")
    return cloud.client(cloud.project_credentials("vpc-changes"))


def _free(ec2, subnet_id: str) -> int:
    return ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["AvailableIpAddressCount"]


def test_a_subnet_fills_up_and_frees_again(ec2) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/20", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "mine"}]}])["Vpc"]
    assert vpc["State"] == "available" and not vpc["IsDefault"]
    assert ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["mine"]}])["Vpcs"][0][
        "VpcId"] == vpc["VpcId"]
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id",
                                                    "Values": [vpc["VpcId"]]}])
    assert [g["GroupName"] for g in groups["SecurityGroups"]] == ["default"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.7.0.0/28")["Subnet"]
    assert subnet["AvailableIpAddressCount"] == 11  # 16 less the 4 first and the last
    made = []
    with pytest.raises(ClientError) as exc:
        for _ in range(20):
            made.append(ec2.create_network_interface(SubnetId=subnet["SubnetId"])
                        ["NetworkInterface"])
    assert _code(exc) == "InsufficientFreeAddressesInSubnet"
    assert len(made) == 11 and _free(ec2, subnet["SubnetId"]) == 0
    assert len({n["PrivateIpAddress"] for n in made}) == 11
    assert made[0]["PrivateIpAddress"] == "10.7.0.4" and made[0]["Status"] == "available"
    with pytest.raises(ClientError) as exc:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    assert _code(exc) == "DependencyViolation"
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId=vpc["VpcId"])
    assert _code(exc) == "DependencyViolation"
    ec2.delete_network_interface(NetworkInterfaceId=made[3]["NetworkInterfaceId"])
    with pytest.raises(ClientError) as exc:
        ec2.describe_network_interfaces(NetworkInterfaceIds=[made[3]["NetworkInterfaceId"]])
    assert _code(exc) == "InvalidNetworkInterfaceID.NotFound"
    assert _free(ec2, subnet["SubnetId"]) == 1
    again = ec2.create_network_interface(SubnetId=subnet["SubnetId"])["NetworkInterface"]
    assert again["PrivateIpAddress"] == made[3]["PrivateIpAddress"]  # the only one free
    listed = ec2.describe_network_interfaces(Filters=[
        {"Name": "subnet-id", "Values": [subnet["SubnetId"]]}])["NetworkInterfaces"]
    assert len(listed) == 11
    for interface in listed:
        ec2.delete_network_interface(NetworkInterfaceId=interface["NetworkInterfaceId"])
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc["VpcId"])
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(VpcIds=[vpc["VpcId"]])
    assert _code(exc) == "InvalidVpcID.NotFound"


def test_launches_and_interfaces_never_share_an_address(ec2) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.8.1.0/28")["Subnet"]
    interface = ec2.create_network_interface(SubnetId=subnet["SubnetId"],
                                             PrivateIpAddress="10.8.1.5")["NetworkInterface"]
    image = ec2.describe_images()["Images"][0]["ImageId"]
    launched = ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3,
                                 SubnetId=subnet["SubnetId"])["Instances"]
    addresses = {i["PrivateIpAddress"] for i in launched}
    assert len(addresses) == 3 and interface["PrivateIpAddress"] not in addresses
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"],
                          PrivateIpAddress="10.8.1.5")
    assert _code(exc) == "InvalidIPAddress.InUse"
    ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in launched])


def test_bad_blocks_and_ids(ec2) -> None:
    for cidr, code in (("10.0.0.0/8", "InvalidVpc.Range"), ("10.0.0.0/29", "InvalidVpc.Range"),
                       ("nonsense", "InvalidParameterValue"),
                       ("10.0.0.1/16", "InvalidParameterValue")):
        with pytest.raises(ClientError) as exc:
            ec2.create_vpc(CidrBlock=cidr)
        assert _code(exc) == code, cidr
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/24")["Vpc"]
    ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.9.0.0/26")
    for cidr, code in (("10.10.0.0/26", "InvalidSubnet.Range"),
                       ("10.9.0.0/29", "InvalidSubnet.Range"),
                       ("10.0.0.0/8", "InvalidSubnet.Range"),
                       ("10.9.0.32/27", "InvalidSubnet.Conflict")):
        with pytest.raises(ClientError) as exc:
            ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock=cidr)
        assert _code(exc) == code, cidr
    for call, code in ((lambda: ec2.delete_vpc(VpcId="vpc-nope"), "InvalidVpcID.Malformed"),
                       (lambda: ec2.delete_subnet(SubnetId="subnet-0123456789abcdef0"),
                        "InvalidSubnetID.NotFound"),
                       (lambda: ec2.delete_network_interface(
                           NetworkInterfaceId="eni-0123456789abcdef0"),
                        "InvalidNetworkInterfaceID.NotFound")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == code
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId=default[0]["VpcId"])
    assert _code(exc) == "OperationNotPermitted"


def test_vpc_deleted_after_its_instance_terminated(ec2) -> None:
    """The terminated instance stays visible for an hour, but no longer holds its VPC's
    default group (ec2api-tempest-plugin's instance-attribute tests clean up this way)."""
    from tests.conftest import wait_for_state

    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    vpc_id = ec2.create_vpc(CidrBlock="10.31.0.0/24")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.31.0.0/24")["Subnet"]["SubnetId"]
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1,
                                    SubnetId=subnet_id)["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [instance_id], "running")
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for_state(ec2, [instance_id], "terminated")
    ec2.delete_subnet(SubnetId=subnet_id)
    ec2.delete_vpc(VpcId=vpc_id)
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"] == []
