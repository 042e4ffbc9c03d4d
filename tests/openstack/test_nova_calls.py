"""The Nova and Neutron calls the `openstack` CLI makes at its default negotiation: flavor
show (extra specs), server lock/unlock, server event list/show, usage list/show, hypervisor
list/show, compute service list and the network part of quota show."""

from __future__ import annotations

import pytest
from openstack import exceptions

from tests.openstack.conftest import OsCloud, wait_status


@pytest.fixture(scope="module")
def server(admin, image_id) -> str:
    made = admin.compute.create_server(networks="auto", name="cli-calls", image_id=image_id,
                                       flavor_id="m1.tiny")
    wait_status(admin, made.id, "ACTIVE")
    return made.id


def test_flavor_show_has_empty_extra_specs(osc: OsCloud) -> None:
    found = osc.cli_json("flavor", "show", "m1.tiny")
    assert (found["name"], found["vcpus"], found["properties"]) == ("m1.tiny", 1, {})
    assert osc.cli("flavor", "show", "no-such", check=False).returncode != 0


def test_lock_refuses_actions_until_unlocked(osc: OsCloud, admin, server) -> None:
    alice = osc.user("alice", "p2")
    mine = alice.compute.create_server(networks="auto", name="alice-lock",
                                       image_id=admin.image.find_image("overcast-testimage").id,
                                       flavor_id="m1.tiny")
    wait_status(alice, mine.id, "ACTIVE")
    alice.compute.lock_server(mine, locked_reason="maintenance")
    found = alice.compute.get_server(mine.id)
    assert (found.is_locked, found.locked_reason) == (True, "maintenance")
    with pytest.raises(exceptions.ConflictException):
        alice.compute.stop_server(mine)
    with pytest.raises(exceptions.ConflictException):
        alice.compute.delete_server(mine)
    assert mine.id in [s.id for s in alice.compute.servers(locked=True)]
    alice.compute.unlock_server(mine)
    assert alice.compute.get_server(mine.id).is_locked is False
    alice.compute.stop_server(mine)
    wait_status(alice, mine.id, "SHUTOFF")
    osc.cli("server", "lock", server)
    assert osc.cli_json("server", "show", server)["locked"] is True
    osc.cli("server", "unlock", server)
    alice.compute.delete_server(mine)


def test_server_events_follow_the_actions(osc: OsCloud, admin, server) -> None:
    admin.compute.stop_server(server)
    wait_status(admin, server, "SHUTOFF")
    events = osc.cli_json("server", "event", "list", server)
    actions = [e["Action"] for e in events]
    assert actions[0] == "stop" and "create" in actions
    stop = osc.cli_json("server", "event", "show", server, events[0]["Request ID"])
    assert stop["action"] == "stop" and stop["events"][0]["result"] == "Success"
    admin.compute.start_server(server)
    wait_status(admin, server, "ACTIVE")
    assert osc.cli("server", "event", "show", server, "req-nope", check=False).returncode


def test_usage_hypervisors_services_and_network_quota(osc: OsCloud, server) -> None:
    usage = osc.cli_json("usage", "list")
    assert usage and all(float(u["CPU Hours"]) >= 0 for u in usage)
    mine = osc.cli_json("usage", "show")
    assert server in [s["instance_id"] for s in mine["Servers"]]
    hypervisors = osc.cli_json("hypervisor", "list")
    assert hypervisors and hypervisors[0]["State"] == "up"
    shown = osc.cli_json("hypervisor", "show", str(hypervisors[0]["ID"]))
    assert shown["vcpus"] >= 1 and shown["hypervisor_type"] == "fake"
    services = osc.cli_json("compute", "service", "list")
    assert services[0]["Binary"] == "nova-compute" and services[0]["State"] == "up"
    quota = {r["Resource"]: r["Limit"] for r in osc.cli_json("quota", "show")}
    assert (quota["floating_ips"], quota["networks"]) == (5, -1) and quota["instances"] >= 1


def test_admin_views_need_the_admin(osc: OsCloud) -> None:
    rita = osc.user("rita", "p2")
    with pytest.raises(exceptions.ForbiddenException):
        list(rita.compute.hypervisors())
    with pytest.raises(exceptions.ForbiddenException):
        list(rita.compute.services())
