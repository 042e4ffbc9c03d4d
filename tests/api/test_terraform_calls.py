"""The calls Terraform's AWS provider makes for aws_instance, aws_security_group and aws_vpc,
with the parameters its source sends them (internal/service/ec2: ec2_instance.go,
vpc_security_group.go, vpc_.go), through create, refresh and destroy."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for_state


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def test_aws_instance_create_read_destroy(ec2, image_id: str) -> None:
    made = ec2.run_instances(
        ImageId=image_id, InstanceType="t2.micro", MinCount=1, MaxCount=1,
        MetadataOptions={"HttpEndpoint": "enabled", "HttpTokens": "required"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name",
                                                                  "Value": "tf"}]},
                           {"ResourceType": "volume", "Tags": [{"Key": "vt", "Value": "1"}]}],
    )["Instances"][0]
    instance_id = made["InstanceId"]
    instance = wait_for_state(ec2, [instance_id], "running")[0]

    # refresh: the instance, its attributes, its root block device, its primary interface
    for attribute in ("disableApiTermination", "disableApiStop",
                      "instanceInitiatedShutdownBehavior", "userData"):
        assert ec2.describe_instance_attribute(InstanceId=instance_id, Attribute=attribute)
    root = instance["BlockDeviceMappings"][0]
    assert root["DeviceName"] == instance["RootDeviceName"]
    volumes = ec2.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"]
    assert len(volumes) == 1
    volume = volumes[0]
    assert volume["Attachments"][0]["InstanceId"] == instance_id
    assert volume["Attachments"][0]["Device"] == root["DeviceName"]
    assert volume["Attachments"][0]["DeleteOnTermination"] is True
    assert volume["Size"] == 8 and volume["State"] == "in-use"
    assert volume["Tags"] == [{"Key": "vt", "Value": "1"}]  # volume_tags
    assert volume["AvailabilityZone"] == instance["Placement"]["AvailabilityZone"]
    by_filter = ec2.describe_volumes(Filters=[{"Name": "attachment.instance-id",
                                               "Values": [instance_id]}])["Volumes"]
    assert [v["VolumeId"] for v in by_filter] == [volume["VolumeId"]]
    ec2.create_tags(Resources=[volume["VolumeId"]], Tags=[{"Key": "Name", "Value": "root"}])
    tagged = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["root"]}])["Volumes"]
    assert [v["VolumeId"] for v in tagged] == [volume["VolumeId"]]

    eni = instance["NetworkInterfaces"][0]
    found = ec2.describe_network_interfaces(
        NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"][0]
    assert found["Attachment"]["InstanceId"] == instance_id
    assert found["Attachment"]["AttachmentId"] == eni["Attachment"]["AttachmentId"]
    assert found["Status"] == "in-use"
    assert found["PrivateIpAddress"] == instance["PrivateIpAddress"]
    assert found["Association"]["PublicIp"] == instance["PublicIpAddress"]
    assert found["Groups"] == eni["Groups"]
    assert found["SubnetId"] == instance["SubnetId"]

    # destroy
    ec2.terminate_instances(InstanceIds=[instance_id])
    gone = wait_for_state(ec2, [instance_id], "terminated")[0]
    assert gone["NetworkInterfaces"] == [] and gone["BlockDeviceMappings"] == []
    with pytest.raises(ClientError) as exc:
        ec2.describe_volumes(VolumeIds=[volume["VolumeId"]])
    assert _code(exc) == "InvalidVolume.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])
    assert _code(exc) == "InvalidNetworkInterfaceID.NotFound"


def test_aws_security_group_delete_looks_for_lingering_interfaces(ec2,
                                                                  image_id: str) -> None:
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]
    group_id = ec2.create_security_group(GroupName="tf-sg", Description="Managed by Terraform",
                                         VpcId=vpc_id)["GroupId"]
    ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1,
                                    SecurityGroupIds=[group_id])["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [instance_id], "running")

    group_filter = [{"Name": "group-id", "Values": [group_id]}]
    using = ec2.describe_network_interfaces(Filters=group_filter)["NetworkInterfaces"]
    assert [i["Attachment"]["InstanceId"] for i in using] == [instance_id]
    assert using[0]["Groups"] == [{"GroupId": group_id, "GroupName": "tf-sg"}]
    with pytest.raises(ClientError) as exc:
        ec2.delete_security_group(GroupId=group_id)
    assert _code(exc) == "DependencyViolation"

    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_for_state(ec2, [instance_id], "terminated")
    assert ec2.describe_network_interfaces(Filters=group_filter)["NetworkInterfaces"] == []
    ec2.delete_security_group(GroupId=group_id)


def test_network_interface_filters_and_paging(ec2, image_id: str) -> None:
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image_id, MinCount=2,
                                                      MaxCount=2)["Instances"]]
    by_id = {i["InstanceId"]: i for i in wait_for_state(ec2, ids, "running")}
    instances = [by_id[i] for i in ids]
    subnet_id = instances[0]["SubnetId"]
    free = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]
    assert free["Status"] == "available"

    def find(*filters: tuple[str, str]) -> set[str]:
        return {i["NetworkInterfaceId"] for i in ec2.describe_network_interfaces(
            Filters=[{"Name": n, "Values": [v]} for n, v in filters])["NetworkInterfaces"]}

    enis = {i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in instances}
    assert find(("attachment.instance-id", ids[0])) == {
        instances[0]["NetworkInterfaces"][0]["NetworkInterfaceId"]}
    assert enis | {free["NetworkInterfaceId"]} <= find(("subnet-id", subnet_id))
    assert enis | {free["NetworkInterfaceId"]} <= find(("vpc-id", instances[0]["VpcId"]))
    assert free["NetworkInterfaceId"] in find(("status", "available"))
    assert not enis & find(("status", "available"))
    assert enis <= find(("status", "in-use"))
    assert find(("private-ip-address", instances[1]["PrivateIpAddress"])) == {
        instances[1]["NetworkInterfaces"][0]["NetworkInterfaceId"]}
    assert find(("association.public-ip", instances[1]["PublicIpAddress"])) == {
        instances[1]["NetworkInterfaces"][0]["NetworkInterfaceId"]}
    assert find(("attachment.status", "attached")) >= enis
    with pytest.raises(ClientError) as exc:
        find(("no-such-filter", "x"))
    assert _code(exc) == "InvalidParameterValue"
    with pytest.raises(ClientError) as exc:
        ec2.delete_network_interface(NetworkInterfaceId=next(iter(enis)))
    assert _code(exc) == "InvalidNetworkInterface.InUse"

    pages = list(ec2.get_paginator("describe_network_interfaces").paginate(
        PaginationConfig={"PageSize": 5}))
    listed = [i["NetworkInterfaceId"] for p in pages for i in p["NetworkInterfaces"]]
    assert len(listed) == len(set(listed)) and enis <= set(listed)
    ec2.delete_network_interface(NetworkInterfaceId=free["NetworkInterfaceId"])
    ec2.terminate_instances(InstanceIds=ids)


def test_volume_paging_and_errors(ec2, image_id: str) -> None:
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image_id, MinCount=6,
                                                      MaxCount=6)["Instances"]]
    pages = list(ec2.get_paginator("describe_volumes").paginate(
        PaginationConfig={"PageSize": 5}))
    assert len(pages) >= 2
    attached = {v["Attachments"][0]["InstanceId"] for p in pages for v in p["Volumes"]}
    assert set(ids) <= attached
    with pytest.raises(ClientError) as exc:
        ec2.describe_volumes(VolumeIds=["vol-0123456789abcdef0"])
    assert _code(exc) == "InvalidVolume.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.describe_volumes(VolumeIds=["volume-1"])
    assert _code(exc) == "InvalidVolumeID.Malformed"
    with pytest.raises(ClientError) as exc:
        ec2.describe_volumes(Filters=[{"Name": "flavour", "Values": ["x"]}])
    assert _code(exc) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=ids)


def test_aws_vpc_read_and_dns_attributes(ec2) -> None:
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])[
        "Vpcs"][0]["VpcId"]
    vpc_id = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]

    def attribute(vpc: str, name: str) -> bool:
        answer = ec2.describe_vpc_attribute(VpcId=vpc, Attribute=name)
        assert answer["VpcId"] == vpc
        return answer[name[0].upper() + name[1:]]["Value"]

    assert attribute(default, "enableDnsHostnames") is True
    assert attribute(vpc_id, "enableDnsSupport") is True
    assert attribute(vpc_id, "enableDnsHostnames") is False
    assert attribute(vpc_id, "enableNetworkAddressUsageMetrics") is False
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableNetworkAddressUsageMetrics={"Value": True})
    assert attribute(vpc_id, "enableDnsHostnames") is True
    assert attribute(vpc_id, "enableNetworkAddressUsageMetrics") is True
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": False})
    assert attribute(vpc_id, "enableDnsHostnames") is False

    with pytest.raises(ClientError) as exc:
        ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True},
                                 EnableDnsSupport={"Value": True})
    assert _code(exc) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpc_attribute(VpcId="vpc-0123456789abcdef0", Attribute="enableDnsSupport")
    assert _code(exc) == "InvalidVpcID.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableMagic")
    assert _code(exc) == "InvalidParameterValue"
    ec2.delete_vpc(VpcId=vpc_id)
