"""The read helpers the dashboard's overview uses: a project's recent instance actions (its
own only, newest first) and what runs on each burst target."""

from __future__ import annotations

from pathlib import Path

from overcast.cloud.compute import RunRequest
from overcast.cloud.compute.burst import NewTarget
from overcast.drivers.base import HostCapacity
from overcast.identity.context import Context
from tests.conftest import in_process_cloud


def test_recent_actions_are_the_projects_own_newest_first(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(16, 65536, 500))
    other = cloud.identity.create_project("other")
    other_ctx = Context(other.id, other.account_id, "someone")
    mine = cloud.run_instances(ctx, RunRequest(image, "t3.micro")).instances[0].id
    theirs = cloud.run_instances(other_ctx, RunRequest(image, "t3.micro")).instances[0].id
    for action in ("create", "stop", "start"):
        cloud.nova_actions.record(ctx, mine, action, f"req-{action}")
    cloud.nova_actions.record(other_ctx, theirs, "create", "req-theirs")
    found = cloud.nova_actions.recent(ctx, 2)
    assert [(iid, a.action) for iid, a in found] == [(mine, "start"), (mine, "stop")]
    assert [iid for iid, _ in cloud.nova_actions.recent(other_ctx)] == [theirs]
    cloud.db.dispose()


def test_placed_lists_what_runs_on_each_burst_target(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(16, 65536, 500))
    target = cloud.burst.add(NewTarget("far", "http://127.0.0.1:9", "us-east-1", "AKID", "s"))
    assert cloud.burst.placed() == {target.id: []}
    cloud.burst.allow("far", "admin")
    cloud.burst.map_image("far", image, "ami-12345678")
    launched = cloud.run_instances(ctx, RunRequest(image, "t3.micro",
                                                   availability_zone=target.zone))
    cloud.run_instances(ctx, RunRequest(image, "t3.micro"))  # on the local host: not listed
    far_id = launched.instances[0].id
    assert cloud.burst.placed() == {target.id: [(far_id, "admin", "pending", "t3.micro")]}
    cloud.db.dispose()
