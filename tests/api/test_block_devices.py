"""The root device as a user sees it through boto3: DescribeImages' block device mapping, and
DescribeInstances / DescribeInstanceAttribute showing the instance's root EBS volume on the
image's root device name."""

from __future__ import annotations

import re
import subprocess

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud, wait_for_state

PROJECT = "block-devices"


@pytest.fixture(scope="module")
def api(cloud: RunningCloud):
    cloud.overcast("project", "create", PROJECT)
    return cloud.client(cloud.project_credentials(PROJECT))


@pytest.fixture(scope="module")
def sda_image(cloud: RunningCloud, api, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The project's own 3 GiB image registered with /dev/sda1 as its root device."""
    disk = tmp_path_factory.mktemp("block-devices") / "three-gib.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "3G"], check=True)
    out = cloud.overcast("image", "import", str(disk), "--name", "three-gib", "--project",
                         PROJECT, "--quiet").stdout
    store_name = out.split("stored as ", 1)[1].split()[0]
    return api.register_image(Name="sda-root", ImageLocation=store_name,
                              RootDeviceName="/dev/sda1")["ImageId"]


def _launch(api, image: str) -> dict:
    iid = api.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return wait_for_state(api, [iid], "running")[0]


def _attribute(api, iid: str, name: str) -> dict:
    found = api.describe_instance_attribute(InstanceId=iid, Attribute=name)
    found.pop("ResponseMetadata")
    return found


def _found(api, **filters: str) -> list[str]:
    """IDs of the instances DescribeInstances finds with these filters (keyword names: '_'
    for '-', '__' for '.')."""
    given = [{"Name": name.replace("__", ".").replace("_", "-"), "Values": [value]}
             for name, value in filters.items()]
    return [i["InstanceId"] for r in api.describe_instances(Filters=given)["Reservations"]
            for i in r["Instances"]]


def _check_root_volume(api, instance: dict, device: str) -> str:
    """The instance shows one mapping, its root EBS volume, everywhere; its volume ID."""
    iid = instance["InstanceId"]
    assert instance["RootDeviceType"] == "ebs" and instance["RootDeviceName"] == device
    [mapping] = instance["BlockDeviceMappings"]
    ebs = mapping["Ebs"]
    assert mapping["DeviceName"] == device
    assert re.fullmatch(r"vol-[0-9a-f]{17}", ebs["VolumeId"])
    assert ebs["Status"] == "attached" and ebs["DeleteOnTermination"] is True
    assert ebs["AttachTime"] == instance["LaunchTime"]
    assert _attribute(api, iid, "blockDeviceMapping") == {
        "InstanceId": iid, "BlockDeviceMappings": instance["BlockDeviceMappings"]}
    assert _attribute(api, iid, "rootDeviceName") == {
        "InstanceId": iid, "RootDeviceName": {"Value": device}}
    return ebs["VolumeId"]


def test_builtin_image_root_volume_on_xvda(api) -> None:
    image = api.describe_images(Owners=["amazon"])["Images"][0]
    assert image["RootDeviceType"] == "ebs" and image["RootDeviceName"] == "/dev/xvda"
    [image_root] = image["BlockDeviceMappings"]
    assert image_root["DeviceName"] == "/dev/xvda"
    assert image_root["Ebs"]["VolumeSize"] >= 1
    assert image_root["Ebs"]["DeleteOnTermination"] is True

    first, second = _launch(api, image["ImageId"]), _launch(api, image["ImageId"])
    volume = _check_root_volume(api, first, "/dev/xvda")
    assert volume != _check_root_volume(api, second, "/dev/xvda")

    # the volume stays the same across a stop and a start, and goes with the instance
    api.stop_instances(InstanceIds=[first["InstanceId"]])
    stopped = wait_for_state(api, [first["InstanceId"]], "stopped")[0]
    assert _check_root_volume(api, stopped, "/dev/xvda") == volume
    # a root volume cannot be deleted while its instance lives, and is gone after
    assert _error(api.delete_volume, VolumeId=volume) == "VolumeInUse"
    assert _error(api.delete_volume, VolumeId="vol-nope") == "InvalidVolumeID.Malformed"
    iids = [first["InstanceId"], second["InstanceId"]]
    api.terminate_instances(InstanceIds=iids)
    for gone in wait_for_state(api, iids, "terminated"):
        assert gone["BlockDeviceMappings"] == [] and gone["RootDeviceName"] == "/dev/xvda"
        assert _attribute(api, gone["InstanceId"], "blockDeviceMapping") == {
            "InstanceId": gone["InstanceId"], "BlockDeviceMappings": []}
    assert _found(api, block_device_mapping__volume_id=volume) == []
    assert _error(api.delete_volume, VolumeId=volume) == "InvalidVolume.NotFound"


def _error(call, **kwargs) -> str:
    with pytest.raises(ClientError) as exc:
        call(**kwargs)
    return exc.value.response["Error"]["Code"]


def test_registered_root_device_name_is_the_instances(api, sda_image: str) -> None:
    image = api.describe_images(ImageIds=[sda_image])["Images"][0]
    assert image["RootDeviceName"] == "/dev/sda1"
    assert [(m["DeviceName"], m["Ebs"]["VolumeSize"]) for m in image["BlockDeviceMappings"]] \
        == [("/dev/sda1", 3)]
    assert api.describe_image_attribute(ImageId=sda_image, Attribute="blockDeviceMapping")[
        "BlockDeviceMappings"] == image["BlockDeviceMappings"]

    launched = api.run_instances(ImageId=sda_image, MinCount=1, MaxCount=1)["Instances"][0]
    assert launched["RootDeviceName"] == "/dev/sda1"
    assert [m["DeviceName"] for m in launched["BlockDeviceMappings"]] == ["/dev/sda1"]
    instance = wait_for_state(api, [launched["InstanceId"]], "running")[0]
    volume = _check_root_volume(api, instance, "/dev/sda1")
    iid = instance["InstanceId"]
    assert _found(api, root_device_name="/dev/sda1") == [iid]
    assert _found(api, block_device_mapping__device_name="/dev/sda1",
                  block_device_mapping__volume_id=volume,
                  block_device_mapping__status="attached",
                  block_device_mapping__delete_on_termination="true") == [iid]
    assert _found(api, block_device_mapping__volume_id="vol-0123456789abcdef0") == []

    # a deregistered image's instances keep their root device
    api.deregister_image(ImageId=sda_image)
    again = api.describe_instances(InstanceIds=[instance["InstanceId"]])
    assert again["Reservations"][0]["Instances"][0]["BlockDeviceMappings"] == \
        instance["BlockDeviceMappings"]
    api.terminate_instances(InstanceIds=[instance["InstanceId"]])

