"""Roles on the EC2 face: a reader's key reads and changes nothing; a role change takes
effect at the key's next request; a role removed on the home project leaves no role."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError

from overcast.api.ec2 import app as _app  # noqa: F401 - fills the action table
from overcast.api.ec2.dispatch import ACTIONS
from tests.conftest import wait_for_state

PASSWORD = "correct horse battery"
READS = ("Describe", "Get")


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def _value(shape: Any, name: str, known: dict[str, Any], depth: int = 0) -> Any:
    """A minimal, valid-looking value for a member of a botocore input shape."""
    if name in known:
        return known[name]
    kind = shape.type_name
    if kind == "structure":
        return {m: _value(s, m, known, depth + 1) for m, s in shape.members.items()
                if m in shape.required_members or (depth == 0 and m in known)}
    if kind == "list":
        return [_value(shape.member, name.removesuffix("s"), known, depth + 1)]
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return False
    if kind == "blob":
        return b"x"
    if kind == "timestamp":
        return "2030-01-01T00:00:00Z"
    return "x"


def _mutating_actions(client: Any) -> list[str]:
    model = client.meta.service_model
    names = [n for n in sorted(ACTIONS) if not n.startswith(READS)]
    assert names and all(n in model.operation_names for n in names)
    return names


def _world(ec2: Any) -> dict[str, Any]:
    """What a user would look at to see whether anything changed."""
    instances = {i["InstanceId"]: i["State"]["Name"]
                 for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]}
    return {"instances": instances,
            "vpcs": sorted(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]),
            "subnets": sorted(s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]),
            "groups": sorted((g["GroupId"], str(g["IpPermissions"]))
                             for g in ec2.describe_security_groups()["SecurityGroups"]),
            "keys": sorted(k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]),
            "images": sorted(i["ImageId"] for i in ec2.describe_images(Owners=["self"])
                             ["Images"]),
            "tags": sorted((t["ResourceId"], t["Key"]) for t in ec2.describe_tags()["Tags"]),
            "interfaces": sorted(n["NetworkInterfaceId"] for n in
                                 ec2.describe_network_interfaces()["NetworkInterfaces"])}


@pytest.fixture(scope="module")
def demoted(cloud, image_id):
    """A member's key and running instance in project 'ro'; then the member is made a reader."""
    cloud.overcast("project", "create", "ro")
    cloud.overcast("user", "create", "ro-alice", "--project", "ro", "--password", PASSWORD)
    ec2 = cloud.client(cloud.project_credentials("ro"))
    assert ec2.describe_instances()["Reservations"] == []  # the key works before
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "web"}]}])[
        "Instances"][0]["InstanceId"]
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    wait_for_state(ec2, [iid], "running")
    cloud.overcast("role", "add", "--user", "ro-alice", "--project", "ro", "reader")
    cloud.overcast("role", "remove", "--user", "ro-alice", "--project", "ro", "member")
    return ec2, iid, group


def test_a_reader_key_is_refused_every_mutating_action(demoted, image_id) -> None:
    ec2, iid, group = demoted
    before = _world(ec2)
    known = {"InstanceIds": [iid], "InstanceId": iid, "ImageId": image_id,
             "GroupId": group, "Resources": [iid], "KeyName": "reader-key",
             "MinCount": 1, "MaxCount": 1, "CidrBlock": "10.9.0.0/16",
             "PublicKeyMaterial": b"ssh-ed25519 AAAA", "Name": "reader-image",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}
    actions = _mutating_actions(ec2)
    for name in actions:
        op = ec2.meta.service_model.operation_model(name)
        params = _value(op.input_shape, "", known) if op.input_shape else {}
        with pytest.raises(ClientError) as exc:
            getattr(ec2, xform_name(name))(**params)
        assert _code(exc) == "UnauthorizedOperation", (name, exc.value.response["Error"])
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as exc:  # a DryRun does not say it would have worked
        ec2.terminate_instances(InstanceIds=[iid], DryRun=True)
    assert _code(exc) == "UnauthorizedOperation"
    assert _world(ec2) == before
    assert before["instances"][iid] == "running"
    assert len(actions) >= 30


def test_a_reader_key_reads(demoted) -> None:
    ec2, iid, _group = demoted
    found = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
    assert found["InstanceId"] == iid
    assert ec2.describe_security_groups(GroupNames=["web"])["SecurityGroups"]
    assert ec2.describe_tags(Filters=[{"Name": "key", "Values": ["app"]}])["Tags"]
    assert ec2.get_console_output(InstanceId=iid)["InstanceId"] == iid
    for name in [n for n in sorted(ACTIONS) if n.startswith("Describe")]:
        op = ec2.meta.service_model.operation_model(name)
        if op.input_shape is None or not op.input_shape.required_members:
            try:
                getattr(ec2, xform_name(name))()
            except ClientError as exc:  # an action may still want a parameter: never a role
                code = exc.response["Error"]["Code"]
                assert code in ("MissingParameter", "InvalidParameterCombination"), (name, code)


def test_promotion_and_demotion_take_effect_at_the_next_request(cloud, image_id) -> None:
    cloud.overcast("project", "create", "flip")
    cloud.overcast("user", "create", "flip-bob", "--project", "flip", "--password", PASSWORD)
    ec2 = cloud.client(cloud.project_credentials("flip"))
    ec2.create_key_pair(KeyName="before")
    cloud.overcast("role", "add", "--user", "flip-bob", "--project", "flip", "reader")
    cloud.overcast("role", "remove", "--user", "flip-bob", "--project", "flip", "member")
    with pytest.raises(ClientError) as exc:
        ec2.create_key_pair(KeyName="as-reader")
    assert _code(exc) == "UnauthorizedOperation"
    cloud.overcast("role", "add", "--user", "flip-bob", "--project", "flip", "member")
    ec2.create_key_pair(KeyName="member-again")
    assert {k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]} == {
        "before", "member-again"}


def test_removing_the_home_role_leaves_no_role(cloud) -> None:
    cloud.overcast("project", "create", "home")
    cloud.overcast("user", "create", "home-carol", "--project", "home", "--password",
                   PASSWORD, "--role", "reader")
    creds = cloud.project_credentials("home")
    ec2 = cloud.client(creds)
    sts = boto3.client("sts", endpoint_url=cloud.endpoint,
                       region_name=creds["AWS_DEFAULT_REGION"],
                       aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"])
    assert ec2.describe_instances()["Reservations"] == []
    assert sts.get_caller_identity()["Arn"].endswith(":user/home-carol")
    cloud.overcast("role", "remove", "--user", "home-carol", "--project", "home", "reader")
    listing = cloud.overcast("user", "list").stdout
    assert not [line for line in listing.splitlines() if line.startswith("home-carol ")]
    for call in (ec2.describe_instances, lambda: ec2.create_key_pair(KeyName="k")):
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == "UnauthorizedOperation"
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert _code(exc) == "AccessDenied"
