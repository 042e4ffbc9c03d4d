"""Two `overcast agent` hosts under one controller: launches spread and run, lifecycle goes
through the agents, a killed agent rejoins without twins."""

from __future__ import annotations

import signal

from tests.conftest import wait_for_state
from tests.multihost.conftest import Cluster, start_agent


def _launch(cluster: Cluster, count: int) -> list[str]:
    ec2 = cluster.controller.client()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    found = ec2.run_instances(ImageId=image, InstanceType="t2.micro", MinCount=count,
                              MaxCount=count)
    return [i["InstanceId"] for i in found["Instances"]]


def test_launches_land_on_both_hosts_and_run(cluster: Cluster) -> None:
    ids = _launch(cluster, 4)
    wait_for_state(cluster.controller.client(), ids, "running")
    held = {name: agent.vms() & set(ids) for name, agent in cluster.agents.items()}
    assert all(held.values()), held  # spread over both hosts
    assert set().union(*held.values()) == set(ids)
    assert not held["node1"] & held["node2"]


def test_stop_start_terminate_go_through_the_agents(cluster: Cluster) -> None:
    ec2 = cluster.controller.client()
    ids = _launch(cluster, 2)
    wait_for_state(ec2, ids, "running")
    ec2.stop_instances(InstanceIds=ids)
    wait_for_state(ec2, ids, "stopped")
    ec2.start_instances(InstanceIds=ids)
    wait_for_state(ec2, ids, "running")
    ec2.terminate_instances(InstanceIds=ids)
    wait_for_state(ec2, ids, "terminated")
    assert not any(agent.vms() & set(ids) for agent in cluster.agents.values())


def test_status_lists_the_joined_hosts_with_capacity(cluster: Cluster) -> None:
    out = cluster.controller.overcast("status").stdout
    for name in cluster.agents:
        assert f"host {name} (zone " in out and "vCPUs" in out, out
    assert "host local" not in out  # the controller runs no agent of its own


def test_a_killed_agent_rejoins_without_twins(cluster: Cluster) -> None:
    ec2 = cluster.controller.client()
    ids = _launch(cluster, 4)
    wait_for_state(ec2, ids, "running")
    victim = cluster.agents["node1"]
    before = victim.vms()
    victim.process.send_signal(signal.SIGKILL)
    victim.process.wait(timeout=10)
    cluster.agents["node1"] = start_agent(cluster.controller, "node1", victim.data_dir)
    later = _launch(cluster, 4)  # the rejoined host takes new work too
    wait_for_state(ec2, ids + later, "running")
    assert before <= cluster.agents["node1"].vms()
    listed = cluster.controller.overcast("host", "list").stdout.splitlines()[1:]
    assert sorted(line.split()[0] for line in listed) == ["node1", "node2"]
    assert cluster.agents["node1"].vms() & set(later)
