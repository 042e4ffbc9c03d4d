"""A host whose agent falls silent past OVERCAST_HOST_DOWN_AFTER is down: its running
instances read impaired (still running: nothing deleted), no new instance goes there, the
other host's instances stay ok; when its agent comes back, they are ok again."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from tests.conftest import wait_for_state
from tests.multihost.conftest import Cluster, running_cluster, start_agent

DOWN_AFTER = 8.0  # seconds; agents heartbeat every 5


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("hostdown"),
                         host_down_after=DOWN_AFTER) as running:
        yield running


def _health(ec2, ids: list[str]) -> dict[str, str]:
    found = ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"]
    return {s["InstanceId"]: s["InstanceStatus"]["Status"] for s in found}


def _wait_for_health(ec2, ids: list[str], wanted: dict[str, str],
                     timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (seen := _health(ec2, ids)) != wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"health {seen}, not {wanted}")
        time.sleep(0.2)


def test_a_silent_host_goes_down_and_comes_back(cluster: Cluster) -> None:
    ec2 = cluster.controller.client()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, InstanceType="t2.micro", MinCount=4, MaxCount=4)["Instances"]]
    wait_for_state(ec2, ids, "running")
    on = {name: sorted(agent.vms() & set(ids)) for name, agent in cluster.agents.items()}
    _wait_for_health(ec2, ids, dict.fromkeys(ids, "ok"), 30)
    victim = cluster.agents["node1"]
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    killed = time.monotonic()
    down = {**dict.fromkeys(on["node1"], "impaired"), **dict.fromkeys(on["node2"], "ok")}
    _wait_for_health(ec2, ids, down, DOWN_AFTER + 15)
    assert time.monotonic() - killed >= DOWN_AFTER - 5.5  # not before it fell silent
    wait_for_state(ec2, ids, "running")  # impaired, not stopped or deleted
    status = cluster.controller.overcast("status", check=False).stdout
    assert "host node1 (zone overcast-1a): down" in status, status
    later = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=image, InstanceType="t2.micro", MinCount=2, MaxCount=2)["Instances"]]
    wait_for_state(ec2, later, "running")
    assert set(later) <= cluster.agents["node2"].vms()  # nothing placed on the down host
    cluster.agents["node1"] = start_agent(cluster.controller, "node1", victim.data_dir)
    _wait_for_health(ec2, ids, dict.fromkeys(ids, "ok"), 30)
