"""Pause, suspend and their undoing through the reconciler, on the fake driver; the EC2 view
of those states; capacity taken back by a resume."""

from __future__ import annotations

import pytest

from overcast.cloud.compute.launch import RunRequest
from overcast.drivers.base import PowerState
from overcast.errors import Conflict
from overcast.lifecycle import HOLDS_CPU, STATE_CODES, State, ec2_name
from tests.unit.test_agent import settle, world  # noqa: F401


def power_of(agent, driver, instance_id: str, want: PowerState) -> PowerState:
    for _ in range(200):
        agent.tick()
        found = driver.list()[instance_id].state
        if found == want:
            return found
    return driver.list()[instance_id].state


def test_pause_and_unpause_reach_the_driver(world) -> None:  # noqa: F811
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    settle(agent, cloud, ctx, ids, "running")
    cloud.instances.change(ctx, ids, "pause")
    assert power_of(agent, driver, ids[0], PowerState.PAUSED) == PowerState.PAUSED
    assert cloud.instances.get(ctx, ids[0]).state == State.PAUSED
    with pytest.raises(Conflict):
        cloud.instances.change(ctx, ids, "reboot")
    cloud.instances.change(ctx, ids, "unpause")
    assert power_of(agent, driver, ids[0], PowerState.RUNNING) == PowerState.RUNNING
    assert driver.console_output(ids[0]).endswith(b"paused\nunpaused\n")


def test_suspend_settles_suspended_and_resume_restores(world) -> None:  # noqa: F811
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    settle(agent, cloud, ctx, ids, "running")
    change = cloud.instances.change(ctx, ids, "suspend")[0]
    assert change.current == State.SUSPENDING
    assert settle(agent, cloud, ctx, ids, "suspended") == {ids[0]: "suspended"}
    assert driver.list()[ids[0]].state == PowerState.SUSPENDED
    with pytest.raises(Conflict):
        cloud.instances.change(ctx, ids, "pause")
    cloud.instances.change(ctx, ids, "resume")
    assert settle(agent, cloud, ctx, ids, "running") == {ids[0]: "running"}
    assert driver.console_output(ids[0]).endswith(b"suspended\nresumed\n")


def test_ec2_start_wakes_a_paused_instance_and_stop_is_a_no_op(world) -> None:  # noqa: F811
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    settle(agent, cloud, ctx, ids, "running")
    cloud.instances.change(ctx, ids, "pause")
    assert cloud.instances.change(ctx, ids, "stop")[0].current == State.PAUSED
    cloud.instances.change(ctx, ids, "start")
    assert power_of(agent, driver, ids[0], PowerState.RUNNING) == PowerState.RUNNING


def test_a_paused_guest_whose_process_dies_reads_stopped(world) -> None:  # noqa: F811
    cloud, driver, agent, ctx, image = world
    ids = [r.id for r in cloud.run_instances(ctx, RunRequest(image)).instances]
    settle(agent, cloud, ctx, ids, "running")
    cloud.instances.change(ctx, ids, "pause")
    power_of(agent, driver, ids[0], PowerState.PAUSED)
    driver.power_off(ids[0], crashed=True)
    assert settle(agent, cloud, ctx, ids, "stopped") == {ids[0]: "stopped"}


def test_ec2_names_and_what_each_state_holds() -> None:
    assert [ec2_name(s) for s in (State.PAUSED, State.SUSPENDING, State.SUSPENDED)] == \
        ["stopped", "stopping", "stopped"]
    assert STATE_CODES[State.PAUSED] == STATE_CODES[State.STOPPED]
    assert State.PAUSED in HOLDS_CPU and State.SUSPENDED not in HOLDS_CPU
    assert ec2_name(State.RUNNING) == "running"
