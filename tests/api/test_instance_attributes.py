"""Instance attributes, metadata options, status, credit specifications and type offerings
through boto3 and awscli against a real `overcast up` (fake driver)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore
from overcast.cloud.compute.instances import InstanceOptions
from overcast.cloud.compute.launch import RunRequest
from overcast.drivers.base import HostCapacity
from overcast.drivers.fake import FakeDriver
from tests.conftest import RunningCloud, in_process_cloud, wait_for_state


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def creds(cloud: RunningCloud) -> dict[str, str]:
    cloud.overcast("project", "create", "attribute-tests")
    return cloud.project_credentials("attribute-tests")


@pytest.fixture(scope="module")
def api(cloud: RunningCloud, creds: dict[str, str]):
    return cloud.client(creds)


@pytest.fixture(scope="module")
def unchecked(cloud: RunningCloud, creds: dict[str, str]):
    """A client that sends what it is given, so the server's own checks answer."""
    return cloud.client(creds, parameter_validation=False)


@pytest.fixture(scope="module")
def image(api) -> str:
    return api.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def _launch(api, image: str, **kwargs) -> str:
    return api.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                             **kwargs)["Instances"][0]["InstanceId"]


def _describe(api, iid: str) -> dict:
    return api.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]


def test_metadata_options_at_launch_and_later(api, unchecked, image) -> None:
    iid = _launch(api, image, MetadataOptions={
        "HttpTokens": "required", "HttpPutResponseHopLimit": 2,
        "InstanceMetadataTags": "enabled"})
    options = _describe(api, iid)["MetadataOptions"]
    assert options["HttpTokens"] == "required" and options["HttpPutResponseHopLimit"] == 2
    assert options["InstanceMetadataTags"] == "enabled" and options["HttpEndpoint"] == "enabled"
    found = api.describe_instances(Filters=[
        {"Name": "metadata-options.http-tokens", "Values": ["required"]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [iid]
    changed = api.modify_instance_metadata_options(InstanceId=iid, HttpTokens="optional",
                                                   HttpEndpoint="disabled")
    assert changed["InstanceMetadataOptions"]["HttpTokens"] == "optional"
    options = _describe(api, iid)["MetadataOptions"]
    assert (options["HttpTokens"], options["HttpEndpoint"], options["HttpPutResponseHopLimit"]) \
        == ("optional", "disabled", 2)
    for kwargs in ({"HttpPutResponseHopLimit": 65}, {"HttpTokens": "sometimes"}):
        with pytest.raises(ClientError) as exc:
            unchecked.modify_instance_metadata_options(InstanceId=iid, **kwargs)
        assert _code(exc) == "InvalidParameterValue"
        with pytest.raises(ClientError) as exc:
            unchecked.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                    MetadataOptions=kwargs)
        assert _code(exc) == "InvalidParameterValue"
    api.terminate_instances(InstanceIds=[iid])


def test_type_and_user_data_change_only_while_stopped(api, image) -> None:
    iid = _launch(api, image, InstanceType="t3.micro")
    wait_for_state(api, [iid], "running")
    with pytest.raises(ClientError) as exc:
        api.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.small"})
    assert _code(exc) == "IncorrectInstanceState"
    api.stop_instances(InstanceIds=[iid])
    wait_for_state(api, [iid], "stopped")
    api.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "t3.small"})
    api.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#!/bin/sh\necho new\n"})
    assert api.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")[
        "InstanceType"] == {"Value": "t3.small"}
    data = api.describe_instance_attribute(InstanceId=iid, Attribute="userData")["UserData"]
    assert base64.b64decode(data["Value"]) == b"#!/bin/sh\necho new\n"
    assert _describe(api, iid)["InstanceType"] == "t3.small"
    with pytest.raises(ClientError) as exc:
        api.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "x9.huge"})
    assert _code(exc) == "InvalidParameterValue"
    api.start_instances(InstanceIds=[iid])
    wait_for_state(api, [iid], "running")
    api.terminate_instances(InstanceIds=[iid])


def test_termination_protection(api, image) -> None:
    iid = _launch(api, image, DisableApiTermination=True)
    assert api.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"] == {"Value": True}
    with pytest.raises(ClientError) as exc:
        api.terminate_instances(InstanceIds=[iid])
    assert _code(exc) == "OperationNotPermitted"
    assert _describe(api, iid)["State"]["Name"] in ("pending", "running")
    api.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    api.modify_instance_attribute(InstanceId=iid,
                                  InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    assert api.describe_instance_attribute(
        InstanceId=iid, Attribute="instanceInitiatedShutdownBehavior")[
        "InstanceInitiatedShutdownBehavior"] == {"Value": "terminate"}
    assert api.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0][
        "CurrentState"]["Name"] == "shutting-down"
    guarded = _launch(api, image, DisableApiStop=True)
    wait_for_state(api, [guarded], "running")
    with pytest.raises(ClientError) as exc:
        api.stop_instances(InstanceIds=[guarded])
    assert _code(exc) == "OperationNotPermitted"
    api.modify_instance_attribute(InstanceId=guarded, DisableApiStop={"Value": False})
    api.stop_instances(InstanceIds=[guarded])
    api.terminate_instances(InstanceIds=[guarded])


def test_attribute_errors(api, unchecked, image) -> None:
    iid = _launch(api, image)
    cases = [
        (lambda: api.describe_instance_attribute(InstanceId="i-xyz", Attribute="instanceType"),
         "InvalidInstanceID.Malformed"),
        (lambda: api.describe_instance_attribute(InstanceId="i-0123456789abcdef0",
                                                 Attribute="instanceType"),
         "InvalidInstanceID.NotFound"),
        (lambda: unchecked.describe_instance_attribute(InstanceId=iid, Attribute="colour"),
         "InvalidParameterValue"),
        (lambda: api.modify_instance_attribute(InstanceId=iid,
                                               DisableApiTermination={"Value": True},
                                               SourceDestCheck={"Value": False}),
         "InvalidParameterCombination"),
        (lambda: api.modify_instance_attribute(InstanceId=iid,
                                               InstanceInitiatedShutdownBehavior={
                                                   "Value": "explode"}),
         "InvalidParameterValue"),
        (lambda: api.modify_instance_attribute(InstanceId=iid, Groups=["sg-0123456789abcdef0"]),
         "InvalidGroup.NotFound"),
        (lambda: api.modify_instance_attribute(InstanceId=iid, DryRun=True,
                                               DisableApiTermination={"Value": True}),
         "DryRunOperation"),
        (lambda: api.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                   InstanceInitiatedShutdownBehavior="explode"),
         "InvalidParameterValue"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert _code(exc) == code, exc.value
    assert api.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")[
        "DisableApiTermination"] == {"Value": False}  # the dry run changed nothing
    password = api.get_password_data(InstanceId=iid)
    assert password["InstanceId"] == iid and password["PasswordData"] == ""
    for kwargs in ({"Attribute": "colour"}, {"Attribute": "disableApiTermination"}, {}):
        with pytest.raises(ClientError) as exc:
            unchecked.modify_instance_attribute(InstanceId=iid, **kwargs)
        assert _code(exc) == {"colour": "InvalidParameterValue",
                              "disableApiTermination": "MissingParameter"}.get(
            kwargs.get("Attribute", ""), "InvalidParameterCombination")
    api.terminate_instances(InstanceIds=[iid])


def test_status_offerings_and_credits(api, image) -> None:
    burst = _launch(api, image, InstanceType="t2.micro")
    steady = _launch(api, image, InstanceType="m5.large")
    wait_for_state(api, [burst, steady], "running")
    api.stop_instances(InstanceIds=[steady])
    wait_for_state(api, [steady], "stopped")
    running = {s["InstanceId"] for s in api.describe_instance_status()["InstanceStatuses"]}
    assert burst in running and steady not in running
    every = {s["InstanceId"]: s for s in api.describe_instance_status(
        IncludeAllInstances=True)["InstanceStatuses"]}
    assert every[steady]["InstanceState"]["Name"] == "stopped"
    assert every[steady]["InstanceStatus"]["Status"] == "not-applicable"
    assert every[burst]["InstanceStatus"]["Status"] == "ok"
    credits = api.describe_instance_credit_specifications(InstanceIds=[burst, steady])
    assert credits["InstanceCreditSpecifications"] == [
        {"InstanceId": burst, "CpuCredits": "standard"}]
    zone = api.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    offered = api.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": ["t3.*"]}])["InstanceTypeOfferings"]
    assert {o["Location"] for o in offered} == {zone}
    assert "t3.micro" in {o["InstanceType"] for o in offered}
    assert all(o["InstanceType"].startswith("t3.") for o in offered)
    pages, token = [], None
    while True:
        answer = api.describe_instance_type_offerings(MaxResults=5,
                                                      **({"NextToken": token} if token else {}))
        pages += [o["InstanceType"] for o in answer["InstanceTypeOfferings"]]
        token = answer.get("NextToken")
        if not token:
            break
    assert sorted(pages) == sorted(t["InstanceType"] for t in api.describe_instance_types()[
        "InstanceTypes"])
    api.terminate_instances(InstanceIds=[burst, steady])


def test_awscli_protection_flow(cloud, creds, api, image) -> None:
    iid = _launch(api, image)
    cloud.aws("modify-instance-attribute", "--instance-id", iid, "--disable-api-termination",
              credentials=creds)
    shown = json.loads(cloud.aws("describe-instance-attribute", "--instance-id", iid,
                                 "--attribute", "disableApiTermination",
                                 credentials=creds).stdout)
    assert shown["DisableApiTermination"] == {"Value": True}
    refused = cloud.aws("terminate-instances", "--instance-ids", iid, credentials=creds,
                        check=False)
    assert refused.returncode != 0 and "OperationNotPermitted" in refused.stderr
    cloud.aws("modify-instance-attribute", "--instance-id", iid,
              "--no-disable-api-termination", credentials=creds)
    cloud.aws("terminate-instances", "--instance-ids", iid, credentials=creds)


def test_guest_shutdown_terminates_when_asked(tmp_path) -> None:
    """In-process, with the agent and the fake driver: a guest powering itself off."""
    cloud, ctx, image = in_process_cloud(tmp_path)
    driver = FakeDriver(HostCapacity(16, 65536, 500), state_file=tmp_path / "vms.json")
    agent = Agent(LocalStore(cloud), driver, "h1", "overcast-1a")
    agent.register()
    keep = cloud.run_instances(ctx, RunRequest(image)).instances[0].id
    gone = cloud.run_instances(ctx, RunRequest(
        image, options=InstanceOptions(shutdown_behavior="terminate"))).instances[0].id

    def states() -> dict[str, str]:
        agent.tick()
        return {t.item.id: t.item.state for t in cloud.instances.describe(ctx, [keep, gone],
                                                                           [])[0]}

    deadline = time.monotonic() + 10
    while set(states().values()) != {"running"} and time.monotonic() < deadline:
        time.sleep(0.02)
    driver.power_off(keep)
    driver.power_off(gone)
    while states() != {keep: "stopped", gone: "terminated"} and time.monotonic() < deadline:
        time.sleep(0.02)
    assert states() == {keep: "stopped", gone: "terminated"}
    assert cloud.instances.get(ctx, gone).state_reason_code == "Client.InstanceInitiatedShutdown"
    cloud.db.dispose()
