"""A launch template's data laid under a RunInstances call's own parameters."""

from __future__ import annotations

import pytest

from overcast.cloud.compute.launch_template_data import check_data, merge
from overcast.errors import InvalidParameter

RUN = {"MinCount": 1, "MaxCount": 1}


def test_call_wins_and_template_fills_in() -> None:
    data = {"ImageId": "ami-1", "InstanceType": "t3.micro", "KeyName": "k1",
            "SecurityGroupIds": ["sg-1"], "Placement": {"AvailabilityZone": "overcast-1a"}}
    merged = merge(data, {**RUN, "InstanceType": "t3.large", "Placement": {"Tenancy": "default"},
                          "LaunchTemplate": {"LaunchTemplateName": "lt"}})
    assert merged == {"ImageId": "ami-1", "InstanceType": "t3.large", "KeyName": "k1",
                      "SecurityGroupIds": ["sg-1"], **RUN,
                      "Placement": {"AvailabilityZone": "overcast-1a", "Tenancy": "default"}}


def test_the_calls_groups_replace_the_templates() -> None:
    merged = merge({"SecurityGroupIds": ["sg-1"]}, {**RUN, "SecurityGroups": ["web"]})
    assert "SecurityGroupIds" not in merged and merged["SecurityGroups"] == ["web"]


def test_instance_level_network_goes_into_the_templates_interface() -> None:
    data = {"NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": "subnet-1",
                                   "Groups": ["sg-1"]}]}
    merged = merge(data, {**RUN, "SubnetId": "subnet-2", "PrivateIpAddress": "10.0.0.9"})
    assert merged["NetworkInterfaces"] == [{"DeviceIndex": 0, "SubnetId": "subnet-2",
                                            "Groups": ["sg-1"], "PrivateIpAddress": "10.0.0.9"}]
    assert "SubnetId" not in merged and "PrivateIpAddress" not in merged
    with pytest.raises(InvalidParameter) as exc:
        merge(data, {**RUN, "SecurityGroups": ["web"]})
    assert exc.value.code == "InvalidParameterCombination"


def test_tags_merge_by_type_and_key() -> None:
    data = {"TagSpecifications": [{"ResourceType": "instance", "Tags": [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "1"}]}]}
    merged = merge(data, {**RUN, "TagSpecifications": [
        {"ResourceType": "instance", "Tags": [{"Key": "b", "Value": "2"}]},
        {"ResourceType": "volume", "Tags": [{"Key": "v", "Value": "3"}]}]})
    assert merged["TagSpecifications"] == [
        {"ResourceType": "instance", "Tags": [{"Key": "a", "Value": "1"},
                                              {"Key": "b", "Value": "2"}]},
        {"ResourceType": "volume", "Tags": [{"Key": "v", "Value": "3"}]}]


@pytest.mark.parametrize(("data", "named"), [
    ({"IamInstanceProfile": {"Name": "p"}}, "IamInstanceProfile"),
    ({"BlockDeviceMappings": [{"DeviceName": "/dev/sda1"}]}, "BlockDeviceMappings"),
    ({"Placement": {"GroupName": "pg"}}, "Placement.GroupName"),
    ({"Placement": {"Tenancy": "dedicated"}}, "Placement.Tenancy"),
    ({"NetworkInterfaces": [{"DeviceIndex": 1}]}, "NetworkInterfaces.DeviceIndex"),
    ({"NetworkInterfaces": [{"Ipv6AddressCount": 1}]}, "NetworkInterfaces.Ipv6AddressCount"),
    ({"Monitoring": {"Enabled": True}}, "Monitoring.Enabled"),
    ({"TagSpecifications": [{"ResourceType": "spot-instances-request"}]},
     "TagSpecifications.ResourceType"),
])
def test_unsupported_fields_are_named(data: dict, named: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        check_data(data)
    assert exc.value.code == "InvalidParameterValue"
    assert named in exc.value.message


def test_supported_fields_pass() -> None:
    check_data({"ImageId": "ami-1", "InstanceType": "t3.micro", "KeyName": "k",
                "UserData": "IyEvYmluL3No", "SecurityGroupIds": ["sg-1"],
                "DisableApiTermination": True, "DisableApiStop": False,
                "InstanceInitiatedShutdownBehavior": "terminate",
                "MetadataOptions": {"HttpTokens": "required"}, "Monitoring": {"Enabled": False},
                "Placement": {"AvailabilityZone": "overcast-1a", "Tenancy": "default"},
                "NetworkInterfaces": [{"DeviceIndex": 0, "AssociatePublicIpAddress": True,
                                       "DeleteOnTermination": True}],
                "TagSpecifications": [{"ResourceType": "volume", "Tags": []}]})
