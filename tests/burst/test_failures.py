"""The remote down (port closed) and back; the controller killed in the middle of a burst
launch. Each test has a cloud of its own."""

from __future__ import annotations

from tests.burst.conftest import (
    ALL_STATES,
    TARGET,
    Bursting,
    Remote,
    instances,
    remote_instances,
    wait_until,
)
from tests.conftest import wait_for_state, wait_for_ticks

BURST_AGENT = f"burst-{TARGET}"  # the burst target's agent, as /metrics names it


def _launch(bursting: Bursting, count: int) -> list[str]:
    launched = bursting.ec2.run_instances(ImageId=bursting.local_image,
                                          InstanceType="t3.micro", MinCount=count,
                                          MaxCount=count)
    return [i["InstanceId"] for i in launched["Instances"]]


def _cloud_id(remote: Remote, overcast_id: str) -> str:
    item = remote_instances(remote, [overcast_id])[0]
    return {t["Key"]: t["Value"] for t in item["Tags"]}["overcast:cloud-id"]


def test_remote_down_then_up_loses_nothing(bursting: Bursting) -> None:
    ec2 = bursting.ec2
    bursting.proxy.down()
    ids = _launch(bursting, 2)
    wait_for_ticks(bursting.cloud, 3, host=BURST_AGENT)  # tries against a closed port
    assert {i["State"]["Name"] for i in instances(ec2, ids).values()} == {"pending"}
    status = bursting.cloud.overcast("status").stdout
    assert "failing" in status, status
    bursting.proxy.up()
    wait_for_state(ec2, ids, "running", timeout=40)
    assert len(remote_instances(bursting.remote, ids)) == 2
    wait_until(lambda: "failing" not in bursting.cloud.overcast("status").stdout,
               what="status to recover")
    # stopping while the remote is down: the request waits, then passes through
    bursting.proxy.down()
    ec2.stop_instances(InstanceIds=ids[:1])
    wait_for_ticks(bursting.cloud, 3, host=BURST_AGENT)
    assert instances(ec2, ids[:1])[ids[0]]["State"]["Name"] == "stopping"
    bursting.proxy.up()
    wait_for_state(ec2, ids[:1], "stopped", timeout=40)
    assert [i["State"]["Name"] for i in remote_instances(bursting.remote, ids[:1])] \
        == ["stopped"]


def test_killed_controller_mid_launch_makes_no_duplicate_and_no_orphan(
        bursting: Bursting) -> None:
    cloud, remote = bursting.cloud, bursting.remote
    bursting.proxy.delay = 3.0  # the remote acts at once but answers late
    ids = _launch(bursting, 3)
    # every answer (each chunk of it) is 3 s late and a launch makes several calls (listing,
    # the mirrored security group, the launch): about 25 s on a quiet machine
    wait_until(lambda: len(remote_instances(remote, ids)) == 3, timeout=90,
               what="remote launches")
    assert cloud.process is not None
    cloud.process.kill()  # before any RunInstances answer came back
    cloud.process.wait(timeout=10)
    bursting.proxy.delay = 0.0
    cloud.start()
    wait_for_state(cloud.client(), ids, "running", timeout=40)
    wait_for_ticks(cloud, 3, host=BURST_AGENT)  # a few more reconcile rounds
    found = remote_instances(remote, ids, ALL_STATES)
    assert sorted(t["Value"] for i in found for t in i["Tags"]
                  if t["Key"] == "overcast:instance-id") == sorted(ids)
    assert {i["State"]["Name"] for i in found} == {"running"}
    cloud_id = _cloud_id(remote, ids[0])
    ours = remote.client().describe_instances(Filters=[
        {"Name": "tag:overcast:cloud-id", "Values": [cloud_id]},
        {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}])
    assert len([i for r in ours["Reservations"] for i in r["Instances"]]) == 3
