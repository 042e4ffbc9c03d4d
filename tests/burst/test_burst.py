"""Overflow to a remote EC2 cloud (moto_server), checked through boto3 on both sides. The
tests here share one cloud whose local host is full."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization

from tests.burst.conftest import (
    ALL_STATES,
    BURST_ZONE,
    REMOTE_REGION,
    Bursting,
    Remote,
    fill_local_host,
    instances,
    remote_instances,
    start_bursting,
    stop_bursting,
    wait_until,
)
from tests.conftest import wait_for_state

USER_DATA = b"#!/bin/sh\necho burst > /tmp/hello\n\x00\xff binary tail"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, remote: Remote,
           remote_ami: str) -> Iterator[Bursting]:
    running = start_bursting(tmp_path_factory.mktemp("shared"), remote, remote_ami,
                             max_instances="20")
    running.local_id = fill_local_host(running)  # type: ignore[attr-defined]
    yield running
    stop_bursting(running)


def _launch(bursting: Bursting, count: int = 1, **extra: object) -> list[dict]:
    return bursting.ec2.run_instances(ImageId=bursting.local_image, InstanceType="t3.micro",
                                      MinCount=count, MaxCount=count, **extra)["Instances"]


def _public_key_body(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH)
    return public.decode().split()[1]


def test_overflow_runs_remotely_under_overcast_ids(shared: Bursting) -> None:
    ec2, remote = shared.ec2, shared.remote
    key = ec2.create_key_pair(KeyName="k1")
    launched = _launch(shared, 2, KeyName="k1", UserData=USER_DATA, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "overflow"}]}])
    ids = [i["InstanceId"] for i in launched]
    assert all(i.startswith("i-") for i in ids)
    assert {i["Placement"]["AvailabilityZone"] for i in launched} == {BURST_ZONE}
    running = {i["InstanceId"]: i for i in wait_for_state(ec2, ids, "running")}

    found = remote_instances(remote, ids)
    assert len(found) == 2
    remote_by_id = {}
    for item in found:
        tags = {t["Key"]: t["Value"] for t in item["Tags"]}
        remote_by_id[tags["overcast:instance-id"]] = item
        assert item["ImageId"] == shared.remote_ami
        assert item["InstanceType"] == "t3.micro"
        assert tags["Name"] == "overflow"
        assert tags["overcast:cloud-id"].startswith("oc-")
        user_data = remote.client().describe_instance_attribute(
            InstanceId=item["InstanceId"], Attribute="userData")["UserData"]["Value"]
        assert base64.b64decode(user_data) == USER_DATA
    assert set(remote_by_id) == set(ids)
    # the user's key, imported to the remote side under a name of its own
    key_names = {i["KeyName"] for i in found}
    assert len(key_names) == 1
    remote_key = remote.client().describe_key_pairs(KeyNames=list(key_names),
                                                    IncludePublicKey=True)["KeyPairs"][0]
    assert remote_key["PublicKey"].split()[1] == _public_key_body(key["KeyMaterial"])
    # addresses mirrored from the remote
    for iid in ids:
        wait_until(lambda iid=iid: instances(ec2, [iid])[iid].get("PublicIpAddress"),
                   what="the public IP mirrored")
        mine = instances(ec2, [iid])[iid]
        assert mine["PublicIpAddress"] == remote_by_id[iid]["PublicIpAddress"]
        assert mine["PrivateIpAddress"] == remote_by_id[iid]["PrivateIpAddress"]
        assert running[iid]["KeyName"] == "k1"
    # the local instance stayed local
    assert remote_instances(remote, [shared.local_id]) == []  # type: ignore[attr-defined]


def test_stop_start_reboot_console_terminate_pass_through(shared: Bursting) -> None:
    ec2, remote = shared.ec2, shared.remote
    [iid] = [i["InstanceId"] for i in _launch(shared)]
    wait_for_state(ec2, [iid], "running")

    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "stopped")
    assert [i["State"]["Name"] for i in remote_instances(remote, [iid])] == ["stopped"]
    assert "PublicIpAddress" not in instances(ec2, [iid])[iid]  # the remote let it go

    ec2.start_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "running")
    assert [i["State"]["Name"] for i in remote_instances(remote, [iid])] == ["running"]
    wait_until(lambda: instances(ec2, [iid])[iid].get("PublicIpAddress"), what="a new IP")

    ec2.reboot_instances(InstanceIds=[iid])
    remote_id = remote_instances(remote, [iid])[0]["InstanceId"]
    console = ec2.get_console_output(InstanceId=iid)["Output"]
    assert console and console == remote.client().get_console_output(
        InstanceId=remote_id)["Output"]

    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "terminated")
    assert [i["State"]["Name"] for i in remote_instances(
        remote, [iid], ("shutting-down", "terminated"))] == ["terminated"]
    assert remote_instances(remote, [iid]) == []


def test_availability_zone_names_the_target_and_projects_are_walled(
        shared: Bursting) -> None:
    ec2, cloud = shared.ec2, shared.cloud
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    assert sorted(zones) == sorted(["overcast-1a", BURST_ZONE])
    [direct] = _launch(shared, Placement={"AvailabilityZone": BURST_ZONE})
    assert direct["Placement"]["AvailabilityZone"] == BURST_ZONE
    wait_for_state(ec2, [direct["InstanceId"]], "running")
    assert len(remote_instances(shared.remote, [direct["InstanceId"]])) == 1

    cloud.overcast("project", "create", "other")
    other = cloud.client(cloud.project_credentials("other"))
    zones = [z["ZoneName"] for z in other.describe_availability_zones()["AvailabilityZones"]]
    assert zones == ["overcast-1a"]
    with pytest.raises(ClientError) as refused:
        other.run_instances(ImageId=shared.local_image, InstanceType="t3.micro",
                            MinCount=1, MaxCount=1, Placement={"AvailabilityZone": BURST_ZONE})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as full:  # the local host is full; no burst for it
        other.run_instances(ImageId=shared.local_image, InstanceType="t3.micro",
                            MinCount=1, MaxCount=1)
    assert full.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"


def test_a_full_target_or_an_unmapped_image_means_insufficient_capacity(
        shared: Bursting) -> None:
    cloud = shared.cloud
    cloud.overcast("burst", "add", "small", "--endpoint", shared.proxy.url, "--region",
                   REMOTE_REGION, "--access-key", "AKIDREMOTETEST", "--secret-key", "s",
                   "--max-instances", "3", "--max-vcpus", "4", "--zone", "small-zone")
    cloud.overcast("burst", "allow", "--project", "admin", "small")
    with pytest.raises(ClientError) as unmapped:
        _launch(shared, Placement={"AvailabilityZone": "small-zone"})
    assert unmapped.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    cloud.overcast("burst", "map-image", "small", shared.local_image, shared.remote_ami)
    launched = shared.ec2.run_instances(
        ImageId=shared.local_image, InstanceType="t3.micro", MinCount=1, MaxCount=5,
        Placement={"AvailabilityZone": "small-zone"})["Instances"]
    assert len(launched) == 2  # 4 vCPUs of t3.micro (2 each), though 3 instances are allowed
    with pytest.raises(ClientError) as full:
        _launch(shared, Placement={"AvailabilityZone": "small-zone"})
    assert full.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    ids = [i["InstanceId"] for i in launched]
    wait_for_state(shared.ec2, ids, "running")
    status = cloud.overcast("status").stdout
    assert "small" in status and "2/3" in status and "4/4" in status
    shared.ec2.terminate_instances(InstanceIds=ids)
    wait_for_state(shared.ec2, ids, "terminated")


def test_a_remote_refusal_fails_the_instance_with_the_remote_message(shared: Bursting) -> None:
    cloud = shared.cloud
    cloud.overcast("burst", "add", "broken", "--endpoint", shared.proxy.url, "--region",
                   REMOTE_REGION, "--access-key", "AKIDREMOTETEST", "--secret-key", "s",
                   "--zone", "broken-zone")
    cloud.overcast("burst", "allow", "--project", "admin", "broken")
    cloud.overcast("burst", "map-image", "broken", shared.local_image, "ami-0badc0ffee0000000")
    [iid] = [i["InstanceId"] for i in _launch(shared, Placement={
        "AvailabilityZone": "broken-zone"})]
    [failed] = wait_for_state(shared.ec2, [iid], "terminated")
    reason = failed["StateReason"]
    assert reason["Code"] == "Server.InternalError"
    assert "InvalidAMIID.NotFound" in reason["Message"]
    assert "ami-0badc0ffee0000000" in reason["Message"]  # the remote's own words
    assert remote_instances(shared.remote, [iid], ALL_STATES) == []
    assert "InvalidAMIID.NotFound" in cloud.overcast("status").stdout
    cloud.overcast("burst", "disallow", "--project", "admin", "broken")


def test_the_orphan_sweep_terminates_remote_instances_nobody_owns(shared: Bursting) -> None:
    remote = shared.remote.client()
    [iid] = [i["InstanceId"] for i in _launch(shared, Placement={
        "AvailabilityZone": BURST_ZONE})]
    wait_for_state(shared.ec2, [iid], "running")
    mine = remote_instances(shared.remote, [iid])[0]
    tags = {t["Key"]: t["Value"] for t in mine["Tags"]}
    ghost_tags = {**tags, "overcast:instance-id": "i-0123456789abcdef0"}
    stranger_tags = {**tags, "overcast:cloud-id": "oc-somebody-else",
                     "overcast:instance-id": "i-0fedcba9876543210"}
    made = {}
    for label, tagset in (("ghost", ghost_tags), ("stranger", stranger_tags), ("twin", tags)):
        made[label] = remote.run_instances(
            ImageId=shared.remote_ami, MinCount=1, MaxCount=1, TagSpecifications=[
                {"ResourceType": "instance",
                 "Tags": [{"Key": k, "Value": v} for k, v in tagset.items()]}],
        )["Instances"][0]["InstanceId"]

    def state(remote_id: str) -> str:
        found = remote.describe_instances(InstanceIds=[remote_id])["Reservations"]
        return found[0]["Instances"][0]["State"]["Name"]

    wait_until(lambda: state(made["ghost"]) == "terminated", what="the orphan swept")
    wait_until(lambda: state(made["twin"]) == "terminated", what="a second copy swept")
    assert state(made["stranger"]) == "running"  # another cloud's: not ours to touch
    assert state(mine["InstanceId"]) == "running"
    log = Path(str(shared.cloud.log_path)).read_text()
    assert f"orphan sweep: terminating remote instance {made['ghost']}" in log
    remote.terminate_instances(InstanceIds=[made["stranger"]])


def test_a_remote_security_group_mirrors_the_instance_groups(shared: Bursting) -> None:
    ec2, remote = shared.ec2, shared.remote.client()
    web = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}])
    [iid] = [i["InstanceId"] for i in _launch(shared, SecurityGroupIds=[web], Placement={
        "AvailabilityZone": BURST_ZONE})]
    wait_for_state(ec2, [iid], "running")
    [item] = remote_instances(shared.remote, [iid])
    assert [g["GroupName"] for g in item["SecurityGroups"]] == [f"overcast-{iid}"]

    def remote_rules() -> set[tuple]:
        group = remote.describe_security_groups(
            GroupIds=[item["SecurityGroups"][0]["GroupId"]])["SecurityGroups"][0]
        return {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r.get("CidrIp")
                 or r.get("CidrIpv6"))
                for p in group["IpPermissions"] for r in p["IpRanges"] + p["Ipv6Ranges"]}

    assert remote_rules() == {("tcp", 22, 22, "203.0.113.0/24")}
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    ec2.revoke_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}])
    wait_until(lambda: remote_rules() == {("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 80, 80, "::/0")},
               what="the remote group in step")
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "terminated")

    def remote_group_gone() -> bool:
        return not remote.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [f"overcast-{iid}"]}])["SecurityGroups"]

    wait_until(remote_group_gone, what="the remote group removed")


def test_a_burst_server_through_the_openstack_face(shared: Bursting) -> None:
    import openstack
    import yaml

    def connect(project: str) -> openstack.connection.Connection:
        text = shared.cloud.overcast("credentials", "--project", project, "--format",
                                     "clouds-yaml").stdout
        [entry] = yaml.safe_load(text)["clouds"].values()
        return openstack.connect(auth_type=entry["auth_type"], auth=entry["auth"],
                                 region_name=entry["region_name"], load_yaml_config=False,
                                 load_envvars=False)

    conn = connect("admin")
    assert BURST_ZONE in [z.name for z in conn.compute.availability_zones()]
    shared.cloud.overcast("project", "create", "os-other")
    assert BURST_ZONE not in [z.name for z in connect("os-other").compute.availability_zones()]
    image = conn.image.find_image("overcast-testimage")
    server = conn.compute.create_server(networks="auto", name="os-burst", image_id=image.id,
                                        flavor_id="t3.micro", availability_zone=BURST_ZONE)
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)
    assert server.availability_zone == BURST_ZONE
    [iid] = [i["InstanceId"] for r in shared.ec2.describe_instances(Filters=[
        {"Name": "tag:Name", "Values": ["os-burst"]}])["Reservations"] for i in r["Instances"]]
    [remote] = remote_instances(shared.remote, [iid])
    assert remote["ImageId"] == shared.remote_ami
    conn.compute.delete_server(server)
    wait_for_state(shared.ec2, [iid], "terminated")
    assert remote_instances(shared.remote, [iid]) == []
