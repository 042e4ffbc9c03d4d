"""The default VPC and its subnets: DescribeVpcs/DescribeSubnets through boto3, private
addresses from the subnet, and the default subnets AWS makes per availability zone."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from overcast.cloud.service import Cloud
from overcast.config import Settings
from overcast.drivers.base import HostCapacity
from overcast.identity.context import Context
from tests.conftest import RunningCloud, start_cloud, wait_for_state


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def creds(cloud: RunningCloud) -> dict[str, str]:
    cloud.overcast("project", "create", "vpc-tests")
    return cloud.project_credentials("vpc-tests")


@pytest.fixture(scope="module")
def net(cloud: RunningCloud, creds: dict[str, str]):
    return cloud.client(creds)


@pytest.fixture(scope="module")
def image(net) -> str:
    return net.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def test_default_vpc_and_subnet(net) -> None:
    vpcs = net.describe_vpcs()["Vpcs"]
    assert len(vpcs) == 1
    vpc = vpcs[0]
    assert vpc["CidrBlock"] == "172.31.0.0/16" and vpc["IsDefault"] is True
    assert vpc["State"] == "available"
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlockState"] == {"State": "associated"}
    subnets = net.describe_subnets()["Subnets"]
    assert [s["CidrBlock"] for s in subnets] == ["172.31.0.0/20"]
    subnet = subnets[0]
    assert subnet["VpcId"] == vpc["VpcId"] and subnet["DefaultForAz"] is True
    assert subnet["MapPublicIpOnLaunch"] is True
    assert subnet["AvailableIpAddressCount"] == 4091
    zones = [z["ZoneName"] for z in net.describe_availability_zones()["AvailabilityZones"]]
    assert subnet["AvailabilityZone"] in zones
    attributes = net.describe_account_attributes(AttributeNames=["default-vpc"])
    assert attributes["AccountAttributes"][0]["AttributeValues"] == [
        {"AttributeValue": vpc["VpcId"]}]


def test_filters_tags_and_errors(cloud, creds, net) -> None:
    unchecked = cloud.client(creds, parameter_validation=False)
    vpc_id = net.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnet_id = net.describe_subnets()["Subnets"][0]["SubnetId"]
    net.create_tags(Resources=[vpc_id, subnet_id], Tags=[{"Key": "Name", "Value": "main"}])
    assert net.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["ma*"]}])["Vpcs"][0][
        "Tags"] == [{"Key": "Name", "Value": "main"}]
    for name, values, count in [("is-default", ["true"], 1), ("is-default", ["false"], 0),
                                ("cidr", ["172.31.*"], 1), ("state", ["available"], 1),
                                ("vpc-id", [vpc_id], 1), ("tag-key", ["Other"], 0)]:
        found = net.describe_vpcs(Filters=[{"Name": name, "Values": values}])["Vpcs"]
        assert len(found) == count, (name, values)
    for name, values, count in [("default-for-az", ["true"], 1), ("vpc-id", [vpc_id], 1),
                                ("cidr-block", ["172.31.0.0/20"], 1),
                                ("available-ip-address-count", ["40??"], 1),
                                ("tag:Name", ["main"], 1), ("subnet-id", ["subnet-none*"], 0)]:
        found = net.describe_subnets(Filters=[{"Name": name, "Values": values}])["Subnets"]
        assert len(found) == count, (name, values)
    cases = [
        (lambda: net.describe_vpcs(VpcIds=["vpc-zz"]), "InvalidVpcID.Malformed"),
        (lambda: net.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"]), "InvalidVpcID.NotFound"),
        (lambda: net.describe_subnets(SubnetIds=["subnet-0123456789abcdef0"]),
         "InvalidSubnetID.NotFound"),
        (lambda: net.describe_subnets(Filters=[{"Name": "bogus", "Values": ["1"]}]),
         "InvalidParameterValue"),
        (lambda: net.describe_vpcs(NextToken="nope"), "InvalidPaginationToken"),
        (lambda: unchecked.describe_vpcs(MaxResults=3), "InvalidParameterValue"),
        (lambda: net.describe_vpcs(DryRun=True), "DryRunOperation"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == code


def test_instances_get_addresses_from_their_subnet(net, image) -> None:
    subnet = net.describe_subnets()["Subnets"][0]
    cidr = ipaddress.ip_network(subnet["CidrBlock"])
    made = net.run_instances(ImageId=image, MinCount=2, MaxCount=2)["Instances"]
    for instance in made:
        assert ipaddress.ip_address(instance["PrivateIpAddress"]) in cidr
        assert instance["SubnetId"] == subnet["SubnetId"]
        assert instance["VpcId"] == subnet["VpcId"]
        interface = instance["NetworkInterfaces"][0]
        assert interface["PrivateIpAddress"] == instance["PrivateIpAddress"]
        assert interface["SubnetId"] == subnet["SubnetId"]
        assert interface["NetworkInterfaceId"].startswith("eni-")
        assert interface["Attachment"]["DeviceIndex"] == 0
    after = net.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]
    assert after["AvailableIpAddressCount"] == subnet["AvailableIpAddressCount"] - 2
    fixed = str(cidr[200])
    chosen = net.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                               SubnetId=subnet["SubnetId"], PrivateIpAddress=fixed)
    assert chosen["Instances"][0]["PrivateIpAddress"] == fixed
    by_filter = net.describe_instances(Filters=[
        {"Name": "network-interface.addresses.private-ip-address", "Values": [fixed]}])
    assert [i["InstanceId"] for r in by_filter["Reservations"] for i in r["Instances"]] == \
        [chosen["Instances"][0]["InstanceId"]]
    cases = [
        ({"SubnetId": subnet["SubnetId"], "PrivateIpAddress": fixed}, "InvalidIPAddress.InUse"),
        ({"SubnetId": subnet["SubnetId"], "PrivateIpAddress": "10.9.9.9"},
         "InvalidParameterValue"),
        ({"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"),
        ({"SubnetId": "subnet-x"}, "InvalidSubnetID.Malformed"),
        ({"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": subnet["SubnetId"]}],
          "SubnetId": subnet["SubnetId"]}, "InvalidParameterCombination"),
    ]
    for kwargs, code in cases:
        with pytest.raises(ClientError) as exc:
            net.run_instances(ImageId=image, MinCount=1, MaxCount=1, **kwargs)
        assert _code(exc) == code, kwargs
    ids = [i["InstanceId"] for i in made] + [chosen["Instances"][0]["InstanceId"]]
    net.terminate_instances(InstanceIds=ids)
    wait_for_state(net, ids, "terminated")
    again = net.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]
    assert again["AvailableIpAddressCount"] == subnet["AvailableIpAddressCount"]


def test_tenants_have_their_own_vpcs(net, ec2) -> None:
    mine = net.describe_vpcs()["Vpcs"][0]["VpcId"]
    theirs = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    assert mine != theirs
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(VpcIds=[mine])
    assert _code(exc) == "InvalidVpcID.NotFound"
    subnet = net.describe_subnets()["Subnets"][0]["SubnetId"]
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId=ec2.describe_images()["Images"][0]["ImageId"], MinCount=1,
                          MaxCount=1, SubnetId=subnet)
    assert _code(exc) == "InvalidSubnetID.NotFound"


def test_a_full_subnet_says_so(tmp_path: Path) -> None:
    small = start_cloud(tmp_path, default_subnet_prefix=28)  # 16 addresses, 11 usable
    try:
        ec2 = small.client()
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        assert ec2.describe_subnets()["Subnets"][0]["AvailableIpAddressCount"] == 11
        made = ec2.run_instances(ImageId=image, MinCount=11, MaxCount=11)["Instances"]
        assert len({i["PrivateIpAddress"] for i in made}) == 11
        with pytest.raises(ClientError) as exc:
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
        assert _code(exc) == "InsufficientFreeAddressesInSubnet"
    finally:
        small.stop()


def test_one_default_subnet_per_zone(tmp_path: Path) -> None:
    cloud = Cloud(Settings(data_dir=tmp_path))
    cloud.prepare()
    project = cloud.identity.create_project("zones")
    for zone in ("overcast-1a", "overcast-1b", "overcast-1c"):
        cloud.hosts.heartbeat(f"host-{zone}", "fake", zone, HostCapacity(8, 8192, 100))
    ctx = Context(project.id, project.account_id, "user")
    subnets, _ = cloud.vpcs.describe_subnets(ctx, [], [], None, None)
    found = sorted((t.item.subnet.availability_zone, t.item.subnet.cidr_block) for t in subnets)
    assert found == [("overcast-1a", "172.31.0.0/20"), ("overcast-1b", "172.31.16.0/20"),
                     ("overcast-1c", "172.31.32.0/20")]
    assert [t.item.zone_id for t in sorted(subnets, key=lambda t: t.item.subnet.cidr_block)] \
        == ["overcast-1-az1", "overcast-1-az2", "overcast-1-az3"]
    cloud.db.dispose()


def test_instance_network_filters(net, image) -> None:
    subnet = net.describe_subnets()["Subnets"][0]
    group = net.create_security_group(GroupName="filtered", Description="f")["GroupId"]
    made = net.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                             SecurityGroupIds=[group])["Instances"][0]
    iid = made["InstanceId"]
    zone_id = subnet["AvailabilityZoneId"]

    def ids(*filters: tuple[str, list[str]]) -> list[str]:
        answer = net.describe_instances(Filters=[{"Name": n, "Values": v} for n, v in filters])
        return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]

    assert iid in ids(("vpc-id", [subnet["VpcId"]]), ("subnet-id", [subnet["SubnetId"]]))
    assert ids(("network-interface.group-id", [group])) == [iid]
    assert ids(("instance.group-name", ["filt*"])) == [iid]
    assert ids(("network-interface.network-interface-id",
                [made["NetworkInterfaces"][0]["NetworkInterfaceId"]])) == [iid]
    assert iid in ids(("availability-zone-id", [zone_id]), ("instance-id", [iid]))
    assert ids(("spot-instance-request-id", ["*"])) == []  # documented, never set here
    assert ids(("instance-id", [iid]), ("metadata-options.http-tokens", ["optional"])) == [iid]
    status = net.describe_instance_status(IncludeAllInstances=True, InstanceIds=[iid],
                                          Filters=[{"Name": "availability-zone-id",
                                                    "Values": [zone_id]}])
    assert [s["InstanceId"] for s in status["InstanceStatuses"]] == [iid]
    net.terminate_instances(InstanceIds=[iid])
    wait_for_state(net, [iid], "terminated")
    net.delete_security_group(GroupId=group)
