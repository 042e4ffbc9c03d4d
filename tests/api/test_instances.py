"""The instance lifecycle through boto3 against a real `overcast up` (fake driver)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.conftest import wait_for_state


def _run(ec2, image_id: str, count: int = 1, **kwargs) -> list[dict]:
    return ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=count,
                             MaxCount=count, **kwargs)["Instances"]


def _ids(instances: list[dict]) -> list[str]:
    return [i["InstanceId"] for i in instances]


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def test_run_three_tagged_instances_with_user_data(ec2, image_id: str) -> None:
    ec2.create_key_pair(KeyName="lifecycle-key")
    made = _run(ec2, image_id, 3, KeyName="lifecycle-key", UserData="#!/bin/sh\necho hi\n",
                TagSpecifications=[{"ResourceType": "instance",
                                    "Tags": [{"Key": "env", "Value": "lifecycle"}]}])
    assert len(made) == 3
    assert {i["State"]["Name"] for i in made} == {"pending"}
    assert len({i["PrivateIpAddress"] for i in made}) == 3
    running = wait_for_state(ec2, _ids(made), "running")
    assert {i["KeyName"] for i in running} == {"lifecycle-key"}
    found = ec2.describe_instances(Filters=[
        {"Name": "tag:env", "Values": ["lifecycle"]},
        {"Name": "instance-state-name", "Values": ["running"]}])
    assert sorted(_ids([i for r in found["Reservations"] for i in r["Instances"]])) == \
        sorted(_ids(made))
    attribute = ec2.describe_instances(InstanceIds=[made[0]["InstanceId"]])
    instance = attribute["Reservations"][0]["Instances"][0]
    assert instance["Tags"] == [{"Key": "env", "Value": "lifecycle"}]
    assert instance["InstanceType"] == "t3.micro"
    assert instance["ImageId"] == image_id


def test_stop_start_reboot_terminate(ec2, image_id: str) -> None:
    iid = _ids(_run(ec2, image_id))[0]
    wait_for_state(ec2, [iid], "running")
    stopping = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert stopping["PreviousState"]["Name"] == "running"
    assert stopping["CurrentState"] == {"Code": 64, "Name": "stopping"}
    stopped = wait_for_state(ec2, [iid], "stopped")[0]
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    with pytest.raises(ClientError) as exc:
        ec2.reboot_instances(InstanceIds=[iid])
    assert _code(exc) == "IncorrectInstanceState"
    starting = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert starting["CurrentState"]["Name"] == "pending"
    wait_for_state(ec2, [iid], "running")
    ec2.reboot_instances(InstanceIds=[iid])
    terminating = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert terminating["CurrentState"]["Name"] == "shutting-down"
    gone = wait_for_state(ec2, [iid], "terminated")[0]
    assert "PrivateIpAddress" not in gone
    with pytest.raises(ClientError) as exc:
        ec2.start_instances(InstanceIds=[iid])
    assert _code(exc) == "IncorrectInstanceState"
    # terminating again is accepted and changes nothing
    again = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert again["PreviousState"]["Name"] == again["CurrentState"]["Name"] == "terminated"


def test_stop_force_and_noop_start(ec2, image_id: str) -> None:
    iid = _ids(_run(ec2, image_id))[0]
    wait_for_state(ec2, [iid], "running")
    same = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert same["PreviousState"]["Name"] == same["CurrentState"]["Name"] == "running"
    ec2.stop_instances(InstanceIds=[iid], Force=True)
    wait_for_state(ec2, [iid], "stopped")
    ec2.terminate_instances(InstanceIds=[iid])


def test_action_on_many_is_all_or_nothing(ec2, image_id: str) -> None:
    iids = _ids(_run(ec2, image_id, 2))
    wait_for_state(ec2, iids, "running")
    ec2.stop_instances(InstanceIds=[iids[0]])
    wait_for_state(ec2, [iids[0]], "stopped")
    with pytest.raises(ClientError) as exc:
        ec2.reboot_instances(InstanceIds=iids)
    assert _code(exc) == "IncorrectInstanceState"
    with pytest.raises(ClientError) as exc:
        ec2.stop_instances(InstanceIds=[iids[1], "i-0123456789abcdef0"])
    assert _code(exc) == "InvalidInstanceID.NotFound"
    assert wait_for_state(ec2, [iids[1]], "running")
    ec2.terminate_instances(InstanceIds=iids)


def test_client_token_makes_run_idempotent(ec2, image_id: str) -> None:
    first = ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=2, ClientToken="tok-1")
    second = ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=2, ClientToken="tok-1")
    assert first["ReservationId"] == second["ReservationId"]
    assert _ids(first["Instances"]) == _ids(second["Instances"])
    found = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": ["tok-1"]}])
    assert len(found["Reservations"][0]["Instances"]) == 2
    ec2.terminate_instances(InstanceIds=_ids(first["Instances"]))


def test_dry_run(ec2, image_id: str) -> None:
    before = len(ec2.describe_instances()["Reservations"])
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, DryRun=True)
    assert _code(exc) == "DryRunOperation"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert len(ec2.describe_instances()["Reservations"]) == before
    with pytest.raises(ClientError) as exc:
        ec2.run_instances(ImageId="ami-0000000000000000a", MinCount=1, MaxCount=1, DryRun=True)
    assert _code(exc) == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as exc:
        ec2.stop_instances(InstanceIds=["i-0000000000000000a"], DryRun=True)
    assert _code(exc) == "InvalidInstanceID.NotFound"


def test_describe_pages_with_next_token(ec2, image_id: str) -> None:
    made = _ids(_run(ec2, image_id, 12, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "paging", "Value": "yes"}]}]))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"NextToken": token} if token else {}
        page = ec2.describe_instances(MaxResults=5, Filters=[
            {"Name": "tag:paging", "Values": ["yes"]}], **kwargs)
        seen += _ids([i for r in page["Reservations"] for i in r["Instances"]])
        pages += 1
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(made)
    assert pages == 3
    paginator = ec2.get_paginator("describe_instances")
    found = [i for p in paginator.paginate(PaginationConfig={"PageSize": 5})
             for r in p["Reservations"] for i in r["Instances"]]
    assert set(made) <= set(_ids(found))
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances(MaxResults=5, NextToken="not-a-token")
    assert _code(exc) == "InvalidPaginationToken"
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances(MaxResults=5, InstanceIds=made[:1])
    assert _code(exc) == "InvalidParameterCombination"
    ec2.terminate_instances(InstanceIds=made)


def test_min_max_count_and_wildcard_filters(ec2, image_id: str) -> None:
    made = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=2,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                 {"Key": "Name", "Value": "web-17"}]}])["Instances"]
    assert len(made) == 2
    assert sorted(i["AmiLaunchIndex"] for i in made) == [0, 1]
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web-?7"]}])
    assert len(found["Reservations"][0]["Instances"]) == 2
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["db-*"]}])
    assert found["Reservations"] == []
    with pytest.raises(ClientError) as exc:
        ec2.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert _code(exc) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=_ids(made))


def test_instance_status_and_console(ec2, image_id: str) -> None:
    iid = _ids(_run(ec2, image_id))[0]
    wait_for_state(ec2, [iid], "running")
    statuses = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert statuses[0]["InstanceState"]["Name"] == "running"
    assert statuses[0]["InstanceStatus"]["Status"] == "ok"
    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "stopped")
    assert ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"] == []
    every = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)
    assert every["InstanceStatuses"][0]["InstanceState"]["Name"] == "stopped"
    output = ec2.get_console_output(InstanceId=iid)
    assert output["InstanceId"] == iid
    assert iid in output["Output"]  # botocore decodes the base64 for us
    ec2.terminate_instances(InstanceIds=[iid])

