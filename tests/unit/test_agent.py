"""The reconciler against the fake driver and a real SQLite database."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore
from overcast.cloud.compute.launch import RunRequest
from overcast.cloud.service import Cloud
from overcast.drivers.base import HostCapacity
from overcast.drivers.fake import FakeDriver
from tests.conftest import in_process_cloud


@pytest.fixture
def world(tmp_path: Path):
    cloud, ctx, image = in_process_cloud(tmp_path)
    driver = FakeDriver(HostCapacity(16, 65536, 500), state_file=tmp_path / "vms.json")
    agent = Agent(LocalStore(cloud), driver, "h1", "overcast-1a")
    agent.register()
    assert cloud.identity.get_project("admin").id == ctx.project_id
    return cloud, driver, agent, ctx, image


def settle(agent: Agent, cloud: Cloud, ctx, ids: list[str], want: str) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while True:
        agent.tick()
        items, _ = cloud.instances.describe(ctx, ids, [])
        states = {t.item.id: t.item.state for t in items}
        if set(states.values()) == {want} or time.monotonic() > deadline:
            return states
        time.sleep(0.02)


def test_launch_then_crash_goes_to_stopped_with_a_reason(world) -> None:
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image, "t3.micro")).instances]
    assert settle(agent, cloud, ctx, ids, "running") == {ids[0]: "running"}
    driver.power_off(ids[0], crashed=True)
    assert settle(agent, cloud, ctx, ids, "stopped") == {ids[0]: "stopped"}
    row = cloud.instances.get(ctx, ids[0])
    assert row.state_reason_code == "Server.InternalError"
    driver.power_off(ids[0])  # a stopped VM stays stopped
    cloud.instances.change(ctx, ids, "start")
    assert settle(agent, cloud, ctx, ids, "running") == {ids[0]: "running"}


def test_guest_shutdown_reason(world) -> None:
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    settle(agent, cloud, ctx, ids, "running")
    driver.power_off(ids[0])
    settle(agent, cloud, ctx, ids, "stopped")
    assert cloud.instances.get(ctx, ids[0]).state_reason_code == \
        "Client.InstanceInitiatedShutdown"


def test_failed_launch_terminates_with_the_drivers_message(world) -> None:
    cloud, driver, agent, ctx, image = world
    driver.fail_next_create = "disk image is corrupt"
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    assert settle(agent, cloud, ctx, ids, "terminated") == {ids[0]: "terminated"}
    assert "disk image is corrupt" in cloud.instances.get(ctx, ids[0]).state_reason_message


def test_restart_readopts_and_removes_strays(world, tmp_path: Path) -> None:
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image, min_count=2,
                                                             max_count=2)).instances]
    settle(agent, cloud, ctx, ids, "running")
    # A new driver and agent on the same state: nothing is recreated or lost.
    driver2 = FakeDriver(HostCapacity(16, 65536, 500), state_file=tmp_path / "vms.json")
    driver2.fail_next_create = "must not be called"
    agent2 = Agent(LocalStore(cloud), driver2, "h1", "overcast-1a")
    agent2.register()
    assert settle(agent2, cloud, ctx, ids, "running") == dict.fromkeys(ids, "running")
    # A VM the database says is terminated is removed when the agent sees it.
    cloud.instances.change(ctx, ids[:1], "terminate")
    settle(agent2, cloud, ctx, ids[:1], "terminated")
    driver2.fail_next_create = None
    driver2.create(cloud_spec(cloud, ids[0]))  # it comes back, as after a crash mid-delete
    for _ in range(50):
        agent2.tick()
        if ids[0] not in driver2.list():
            break
        time.sleep(0.02)
    assert ids[0] not in driver2.list()
    assert ids[1] in driver2.list()


def cloud_spec(cloud: Cloud, instance_id: str):
    from overcast.db.models import Instance

    with cloud.db.session() as s:
        row = s.get(Instance, instance_id)
    return LocalStore(cloud).launch_spec(row)


def test_terminated_instances_are_purged_after_the_retention(world) -> None:
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    settle(agent, cloud, ctx, ids, "running")
    cloud.instances.change(ctx, ids, "terminate")
    settle(agent, cloud, ctx, ids, "terminated")
    assert cloud.instances.purge_terminated() == 0  # still within the hour
    cloud.instances.retention = cloud.instances.retention * 0
    assert cloud.instances.purge_terminated() == 1
    items, _ = cloud.instances.describe(ctx, [], [])
    assert ids[0] not in {t.item.id for t in items}
