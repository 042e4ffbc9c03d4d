"""Nova's os-volume_attachments through openstacksdk and the `openstack` CLI's volume
commands (volume create/list/show/delete, volume snapshot create, server add/remove volume)
on the fake driver: Cinder's volume shows its attachment, EC2 the same, and the refusals Nova
answers."""

from __future__ import annotations

import pytest
import requests
from openstack import exceptions

from tests.openstack.conftest import OsCloud, wait_status
from tests.openstack.test_block_storage import wait_gone, wait_snapshot, wait_volume


@pytest.fixture(scope="module")
def alice(osc: OsCloud):
    return osc.user("alice", "p2")


def _server(conn, image_id: str, name: str) -> str:
    made = conn.compute.create_server(networks="auto", name=name, image_id=image_id,
                                      flavor_id="m1.tiny")
    wait_status(conn, made.id, "ACTIVE")
    return made.id


@pytest.fixture(scope="module")
def server(alice, image_id) -> str:
    return _server(alice, image_id, "attach-1")


def test_attach_list_show_detach(osc: OsCloud, alice, server) -> None:
    volume = alice.block_storage.create_volume(size=1, name="disk")
    wait_volume(alice, volume.id, "available")
    made = alice.compute.create_volume_attachment(server, volume_id=volume.id)
    assert (made.volume_id, made.server_id, made.device) == (volume.id, server, "/dev/vdb")
    attached = wait_volume(alice, volume.id, "in-use")
    assert attached.attachments[0]["server_id"] == server
    assert attached.attachments[0]["device"] == "/dev/vdb"
    listed = list(alice.compute.volume_attachments(server))
    assert [a.volume_id for a in listed] == [volume.id]
    shown = alice.compute.get_volume_attachment(server, volume.id)
    assert shown.device == "/dev/vdb"
    ec2 = osc.cloud.client(osc.cloud.project_credentials("p2"))
    seen = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["disk"]}])["Volumes"]
    assert seen[0]["State"] == "in-use" and seen[0]["Attachments"][0]["Device"] == "/dev/vdb"
    alice.compute.delete_volume_attachment(server, volume.id)
    assert wait_volume(alice, volume.id, "available").attachments == []
    with pytest.raises(exceptions.NotFoundException):
        alice.compute.get_volume_attachment(server, volume.id)
    alice.block_storage.delete_volume(volume)


def test_refusals(admin, alice, server, image_id) -> None:
    volume = alice.block_storage.create_volume(size=1, name="busy")
    wait_volume(alice, volume.id, "available")
    alice.compute.create_volume_attachment(server, volume_id=volume.id, device="/dev/vdc")
    wait_volume(alice, volume.id, "in-use")
    second = _server(alice, image_id, "attach-2")
    with pytest.raises(exceptions.BadRequestException):  # Nova: a volume in use is a 400
        alice.compute.create_volume_attachment(second, volume_id=volume.id)
    other = alice.block_storage.create_volume(size=1, name="taken-device")
    wait_volume(alice, other.id, "available")
    with pytest.raises(exceptions.BadRequestException):  # device taken
        alice.compute.create_volume_attachment(server, volume_id=other.id, device="/dev/vdc")
    with pytest.raises(exceptions.BadRequestException):  # attached: Cinder will not delete
        alice.block_storage.delete_volume(volume)
    admin_server = _server(admin, image_id, "admin-attach")
    with pytest.raises(exceptions.NotFoundException):  # another project's volume
        admin.compute.create_volume_attachment(admin_server, volume_id=other.id)
    url = alice.compute.get_endpoint() + f"/servers/{server}/os-volume_attachments"
    bad = requests.post(url, json={"volumeAttachment": {}}, timeout=10,
                        headers={"X-Auth-Token": alice.auth_token})
    assert bad.status_code == 400 and "badRequest" in bad.json()
    alice.compute.delete_volume_attachment(server, volume.id)
    wait_volume(alice, volume.id, "available")
    for item in (volume, other):
        alice.block_storage.delete_volume(item)
    alice.compute.delete_server(second)
    admin.compute.delete_server(admin_server)


def test_openstack_cli_volume_commands(osc: OsCloud, admin, image_id) -> None:
    made = osc.cli_json("volume", "create", "--size", "1", "cli-vol")
    assert made["name"] == "cli-vol" and made["size"] == 1
    wait_volume(admin, made["id"], "available")
    assert "cli-vol" in [v["Name"] for v in osc.cli_json("volume", "list")]
    assert osc.cli_json("volume", "show", "cli-vol")["status"] == "available"
    osc.cli("volume", "set", "--description", "from the CLI", "--property", "k=v", "cli-vol")
    shown = osc.cli_json("volume", "show", "cli-vol")
    assert (shown["description"], shown["properties"]) == ("from the CLI", {"k": "v"})
    snap = osc.cli_json("volume", "snapshot", "create", "--volume", "cli-vol", "cli-snap")
    wait_snapshot(admin, snap["id"], "available")
    server = _server(admin, image_id, "cli-attach")
    osc.cli("server", "add", "volume", server, "cli-vol")
    shown = wait_volume(admin, made["id"], "in-use")
    assert shown.attachments[0]["server_id"] == server
    osc.cli("server", "remove", "volume", server, "cli-vol")
    wait_volume(admin, made["id"], "available")
    osc.cli("volume", "snapshot", "delete", "cli-snap")
    wait_gone(admin.block_storage.get_snapshot, snap["id"])
    osc.cli("volume", "delete", "cli-vol")
    wait_gone(admin.block_storage.get_volume, made["id"])
    admin.compute.delete_server(server)
