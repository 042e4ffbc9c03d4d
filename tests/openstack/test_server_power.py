"""Pause/unpause and suspend/resume through openstacksdk and the `openstack` CLI (fake driver):
the states Nova shows, 409 for an action the state does not allow, and the server events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openstack import exceptions

from tests.openstack.conftest import OsCloud, wait_status


@pytest.fixture(scope="module")
def server(admin, image_id) -> Iterator[str]:
    made = admin.compute.create_server(networks="auto", name="power-actions",
                                       image_id=image_id, flavor_id="m1.tiny")
    wait_status(admin, made.id, "ACTIVE")
    yield made.id
    admin.compute.delete_server(made.id)


def test_sdk_pause_and_suspend_with_conflicts(admin, server) -> None:
    admin.compute.pause_server(server)
    found = wait_status(admin, server, "PAUSED")
    assert (found.vm_state, found.power_state) == ("paused", 3)
    with pytest.raises(exceptions.ConflictException, match="vm_state paused"):
        admin.compute.pause_server(server)
    with pytest.raises(exceptions.ConflictException):
        admin.compute.suspend_server(server)
    admin.compute.unpause_server(server)
    wait_status(admin, server, "ACTIVE")
    admin.compute.suspend_server(server)
    assert wait_status(admin, server, "SUSPENDED").vm_state == "suspended"
    with pytest.raises(exceptions.ConflictException):
        admin.compute.reboot_server(server, "SOFT")
    admin.compute.resume_server(server)
    wait_status(admin, server, "ACTIVE")
    with pytest.raises(exceptions.ConflictException):
        admin.compute.resume_server(server)


def test_cli_pause_suspend_and_their_events(osc: OsCloud, admin, server) -> None:
    osc.cli("server", "pause", server)
    wait_status(admin, server, "PAUSED")
    osc.cli("server", "unpause", server)
    wait_status(admin, server, "ACTIVE")
    osc.cli("server", "suspend", server)
    wait_status(admin, server, "SUSPENDED")
    osc.cli("server", "resume", server)
    wait_status(admin, server, "ACTIVE")
    assert osc.cli("server", "unpause", server, check=False).returncode != 0
    actions = [e["Action"] for e in osc.cli_json("server", "event", "list", server)]
    assert actions[:4] == ["resume", "suspend", "unpause", "pause"]


def _ec2_state(ec2, instance_id: str) -> tuple[str, int]:
    found = ec2.describe_instances(InstanceIds=[instance_id])
    state = found["Reservations"][0]["Instances"][0]["State"]
    return state["Name"], state["Code"]


def test_ec2_sees_a_paused_server_stopped_and_starts_it(osc: OsCloud, admin, server) -> None:
    ec2 = osc.cloud.client()
    found = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["power-actions"]}])
    instance_id = found["Reservations"][0]["Instances"][0]["InstanceId"]
    admin.compute.pause_server(server)
    wait_status(admin, server, "PAUSED")
    assert _ec2_state(ec2, instance_id) == ("stopped", 80)
    ec2.start_instances(InstanceIds=[instance_id])
    wait_status(admin, server, "ACTIVE")
    assert _ec2_state(ec2, instance_id) == ("running", 16)
