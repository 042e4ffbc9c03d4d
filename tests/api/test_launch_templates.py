"""Launch templates: versions, defaults, RunInstances from one (the call's own parameters
win), and the calls Terraform's aws_launch_template makes (launch_template.go)."""

from __future__ import annotations

import base64

import pytest
from botocore.exceptions import ClientError

from tests.conftest import RunningCloud, wait_for_state


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return exc.value.response["Error"]["Code"]


def _instance(ec2, instance_id: str) -> dict:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def test_terraform_aws_launch_template_lifecycle(ec2, image_id: str) -> None:
    data = {"ImageId": image_id, "InstanceType": "t3.micro",
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
            "TagSpecifications": [{"ResourceType": "instance",
                                   "Tags": [{"Key": "from", "Value": "template"}]}]}
    made = ec2.create_launch_template(
        LaunchTemplateName="tf-lt", LaunchTemplateData=data, VersionDescription="first",
        TagSpecifications=[{"ResourceType": "launch-template",
                            "Tags": [{"Key": "Name", "Value": "tf-lt"}]}])["LaunchTemplate"]
    template_id = made["LaunchTemplateId"]
    assert template_id.startswith("lt-")
    assert (made["DefaultVersionNumber"], made["LatestVersionNumber"]) == (1, 1)

    # read, as the provider refreshes it
    listed = ec2.describe_launch_templates(LaunchTemplateIds=[template_id])["LaunchTemplates"]
    assert listed[0]["LaunchTemplateName"] == "tf-lt"
    assert listed[0]["Tags"] == [{"Key": "Name", "Value": "tf-lt"}]
    default = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id, Versions=["$Default"])["LaunchTemplateVersions"][0]
    assert default["VersionNumber"] == 1 and default["DefaultVersion"] is True
    assert default["LaunchTemplateData"]["InstanceType"] == "t3.micro"
    assert default["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"

    # update: a new version from the source, then made the default
    second = ec2.create_launch_template_version(
        LaunchTemplateId=template_id, SourceVersion="1", VersionDescription="bigger",
        LaunchTemplateData={"InstanceType": "t3.small"})["LaunchTemplateVersion"]
    assert second["VersionNumber"] == 2 and second["DefaultVersion"] is False
    assert second["LaunchTemplateData"]["ImageId"] == image_id  # kept from the source
    latest = ec2.describe_launch_template_versions(
        LaunchTemplateName="tf-lt", Versions=["$Latest"])["LaunchTemplateVersions"][0]
    assert latest["LaunchTemplateData"]["InstanceType"] == "t3.small"
    modified = ec2.modify_launch_template(LaunchTemplateId=template_id,
                                          DefaultVersion="2")["LaunchTemplate"]
    assert modified["DefaultVersionNumber"] == 2
    all_versions = ec2.describe_launch_template_versions(
        LaunchTemplateId=template_id)["LaunchTemplateVersions"]
    assert [(v["VersionNumber"], v["DefaultVersion"]) for v in all_versions] == [
        (1, False), (2, True)]

    # RunInstances with the template by name, $Default (version 2)
    instance_id = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={
        "LaunchTemplateName": "tf-lt"})["Instances"][0]["InstanceId"]
    instance = wait_for_state(ec2, [instance_id], "running")[0]
    assert instance["InstanceType"] == "t3.small"
    assert instance["MetadataOptions"]["HttpTokens"] == "required"
    assert {"Key": "from", "Value": "template"} in instance["Tags"]
    ec2.terminate_instances(InstanceIds=[instance_id])

    # destroy
    deleted = ec2.delete_launch_template(LaunchTemplateId=template_id)["LaunchTemplate"]
    assert deleted["LaunchTemplateId"] == template_id
    with pytest.raises(ClientError) as exc:
        ec2.describe_launch_templates(LaunchTemplateIds=[template_id])
    assert _code(exc) == "InvalidLaunchTemplateId.NotFound"


def test_run_instances_call_wins_over_template(ec2, image_id: str) -> None:
    user_data = base64.b64encode(b"#!/bin/sh\necho from-template\n").decode()
    template_id = ec2.create_launch_template(LaunchTemplateName="merge-lt", LaunchTemplateData={
        "ImageId": image_id, "InstanceType": "t3.micro", "UserData": user_data,
        "DisableApiTermination": True,
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [
            {"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}]}]},
    )["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData={
        "ImageId": image_id, "InstanceType": "t2.small"})
    instance_id = ec2.run_instances(
        MinCount=1, MaxCount=1, InstanceType="t2.micro",
        LaunchTemplate={"LaunchTemplateId": template_id, "Version": "1"},
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": "env", "Value": "prod"}]}],
    )["Instances"][0]["InstanceId"]
    instance = _instance(ec2, instance_id)
    assert instance["InstanceType"] == "t2.micro"  # the call's
    assert {t["Key"]: t["Value"] for t in instance["Tags"]} == {"team": "a", "env": "prod"}
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert attribute["UserData"]["Value"] == user_data
    assert ec2.describe_instance_attribute(
        InstanceId=instance_id, Attribute="disableApiTermination")[
            "DisableApiTermination"]["Value"] is True
    ec2.modify_instance_attribute(InstanceId=instance_id,
                                  DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[instance_id])

    latest = ec2.run_instances(MinCount=1, MaxCount=1, LaunchTemplate={
        "LaunchTemplateId": template_id, "Version": "$Latest"})["Instances"][0]
    assert latest["InstanceType"] == "t2.small"
    ec2.terminate_instances(InstanceIds=[latest["InstanceId"]])


def test_aws_cli_run_instances_with_launch_template(cloud: RunningCloud, ec2,
                                                    image_id: str) -> None:
    ec2.create_launch_template(LaunchTemplateName="cli-lt", LaunchTemplateData={
        "ImageId": image_id, "InstanceType": "t3.nano"})
    ran = cloud.aws_json("run-instances", "--launch-template",
                         "LaunchTemplateName=cli-lt,Version=$Latest")
    instance = ran["Instances"][0]
    assert (instance["ImageId"], instance["InstanceType"]) == (image_id, "t3.nano")
    cloud.aws("terminate-instances", "--instance-ids", instance["InstanceId"])


def test_versions_delete_and_errors(ec2, image_id: str) -> None:
    data = {"ImageId": image_id}
    template_id = ec2.create_launch_template(LaunchTemplateName="v-lt", LaunchTemplateData=data)[
        "LaunchTemplate"]["LaunchTemplateId"]
    for _ in range(3):
        ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData=data)
    answer = ec2.delete_launch_template_versions(LaunchTemplateId=template_id,
                                                 Versions=["4", "1", "9"])
    assert [v["VersionNumber"] for v in answer["SuccessfullyDeletedLaunchTemplateVersions"]] == [4]
    failed = {v["VersionNumber"]: v["ResponseError"]["Code"]
              for v in answer["UnsuccessfullyDeletedLaunchTemplateVersions"]}
    assert failed == {1: "unexpectedError", 9: "launchTemplateVersionDoesNotExist"}
    described = ec2.describe_launch_templates(LaunchTemplateNames=["v-lt"])["LaunchTemplates"][0]
    assert described["LatestVersionNumber"] == 3
    ranged = ec2.describe_launch_template_versions(LaunchTemplateId=template_id, MinVersion="2",
                                                   MaxVersion="3")["LaunchTemplateVersions"]
    assert [v["VersionNumber"] for v in ranged] == [2, 3]

    def error(call, **kwargs) -> str:
        with pytest.raises(ClientError) as exc:
            call(**kwargs)
        return _code(exc)

    assert error(ec2.create_launch_template, LaunchTemplateName="v-lt",
                 LaunchTemplateData=data) == "InvalidLaunchTemplateName.AlreadyExistsException"
    assert error(ec2.create_launch_template, LaunchTemplateName="a",
                 LaunchTemplateData=data) == "InvalidLaunchTemplateName.MalformedException"
    assert error(ec2.describe_launch_templates, LaunchTemplateNames=["nope"]) == \
        "InvalidLaunchTemplateName.NotFoundException"
    assert error(ec2.describe_launch_templates, LaunchTemplateIds=["lt-zz"]) == \
        "InvalidLaunchTemplateId.Malformed"
    assert error(ec2.modify_launch_template, LaunchTemplateId=template_id,
                 DefaultVersion="4") == "InvalidLaunchTemplateId.VersionNotFound"
    assert error(ec2.run_instances, MinCount=1, MaxCount=1, LaunchTemplate={
        "LaunchTemplateId": "lt-0123456789abcdef0"}) == "InvalidLaunchTemplateId.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.create_launch_template(LaunchTemplateName="gpu-lt", LaunchTemplateData={
            "ImageId": image_id, "ElasticGpuSpecifications": [{"Type": "eg1.medium"}]})
    assert _code(exc) == "InvalidParameterValue"
    assert "ElasticGpuSpecifications" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        ec2.create_launch_template_version(LaunchTemplateId=template_id, LaunchTemplateData={
            "Placement": {"AvailabilityZone": "overcast-1a", "GroupName": "pg"}})
    assert "Placement.GroupName" in exc.value.response["Error"]["Message"]
    assert ec2.describe_launch_templates(LaunchTemplateNames=["v-lt"])["LaunchTemplates"][0][
        "LatestVersionNumber"] == 3  # nothing half-made
    ec2.delete_launch_template(LaunchTemplateName="v-lt")
