"""Neutron floating IPs, the same rows as EC2's Elastic IPs: through openstacksdk and the
`openstack` command."""

from __future__ import annotations

import ipaddress

import pytest
from openstack import exceptions

from tests.openstack.conftest import PASSWORD, OsCloud

POOL = ipaddress.ip_network("127.101.0.0/16")


def _server(conn, image_id: str, name: str):
    network = conn.network.find_network("default")
    server = conn.compute.create_server(name=name, image_id=image_id, flavor_id="m1.tiny",
                                        networks=[{"uuid": network.id}])
    return conn.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)


def _floating_addresses(conn, server_id: str) -> list[str]:
    server = conn.compute.get_server(server_id)
    return [a["addr"] for entries in server.addresses.values() for a in entries
            if a.get("OS-EXT-IPS:type") == "floating"]


def test_floating_ips_through_openstacksdk(osc: OsCloud, admin, image_id) -> None:
    public = admin.network.find_network("public")
    assert public.is_router_external is True
    fip = admin.network.create_ip(floating_network_id=public.id)
    assert ipaddress.ip_address(fip.floating_ip_address) in POOL
    assert fip.status == "DOWN" and fip.port_id is None
    ec2 = osc.cloud.client()
    eips = {a["PublicIp"]: a for a in ec2.describe_addresses()["Addresses"]}
    assert fip.floating_ip_address in eips
    assert admin.network.find_ip(fip.floating_ip_address).id == fip.id

    server = _server(admin, image_id, "fip-vm")
    port = next(iter(admin.network.ports(device_id=server.id)))
    fip = admin.network.update_ip(fip, port_id=port.id)
    assert fip.port_id == port.id and fip.status == "ACTIVE"
    assert fip.fixed_ip_address == port.fixed_ips[0]["ip_address"]
    assert _floating_addresses(admin, server.id) == [fip.floating_ip_address]
    instance = ec2.describe_addresses(PublicIps=[fip.floating_ip_address])["Addresses"][0]
    assert instance["PrivateIpAddress"] == fip.fixed_ip_address
    assert [f.id for f in admin.network.ips(port_id=port.id)] == [fip.id]

    fip = admin.network.update_ip(fip, port_id=None)
    assert fip.port_id is None and fip.status == "DOWN"
    assert _floating_addresses(admin, server.id) != [fip.floating_ip_address]
    admin.network.update_ip(fip, port_id=port.id)
    admin.network.delete_ip(fip)  # associated: let go of, then released
    assert admin.network.find_ip(fip.floating_ip_address) is None
    assert fip.floating_ip_address not in {
        a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]}
    assert fip.floating_ip_address not in _floating_addresses(admin, server.id)
    admin.compute.delete_server(server)


def test_floating_ip_errors_quota_and_tenancy(osc: OsCloud, admin) -> None:
    public = admin.network.find_network("public")
    default = admin.network.find_network("default")
    with pytest.raises(exceptions.NotFoundException):
        admin.network.create_ip(floating_network_id=default.id)
    with pytest.raises(exceptions.BadRequestException):
        admin.network.create_ip()
    with pytest.raises(exceptions.NotFoundException):
        admin.network.create_ip(floating_network_id=public.id,
                                port_id="00000000-0000-0000-0000-000000000000")
    mine = admin.network.create_ip(floating_network_id=public.id)
    with pytest.raises(exceptions.NotFoundException):
        admin.network.update_ip(mine, port_id="00000000-0000-0000-0000-000000000000")
    alice = osc.user("alice", "p2")
    assert mine.id not in {f.id for f in alice.network.ips()}
    with pytest.raises(exceptions.NotFoundException):
        alice.network.get_ip(mine.id)
    with pytest.raises(exceptions.NotFoundException):
        alice.network.delete_ip(mine.id, ignore_missing=False)
    osc.cloud.overcast("project", "set-quota", "p2", "--elastic-ips", "1")
    theirs = alice.network.create_ip(floating_network_id=public.id)
    with pytest.raises(exceptions.ConflictException):
        alice.network.create_ip(floating_network_id=public.id)
    reader = osc.user("rita", "p2", PASSWORD)
    assert [f.id for f in reader.network.ips()] == [theirs.id]
    with pytest.raises(exceptions.ForbiddenException):
        reader.network.delete_ip(theirs)
    alice.network.delete_ip(theirs)
    admin.network.delete_ip(mine)
    assert admin.network.find_ip(mine.floating_ip_address) is None


def test_openstack_cli_floating_ip(osc: OsCloud) -> None:
    made = osc.cli_json("floating", "ip", "create", "public")
    address = made["floating_ip_address"]
    assert ipaddress.ip_address(address) in POOL
    osc.cli("server", "create", "--image", "overcast-testimage", "--flavor", "m1.tiny",
            "--network", "default", "--wait", "fip-cli")
    osc.cli("server", "add", "floating", "ip", "fip-cli", address)
    listed = {f["Floating IP Address"]: f for f in osc.cli_json("floating", "ip", "list")}
    assert listed[address]["Port"] is not None
    shown = osc.cli_json("server", "show", "fip-cli")
    assert address in str(shown["addresses"])
    osc.cli("server", "remove", "floating", "ip", "fip-cli", address)
    assert osc.cli_json("floating", "ip", "show", address)["port_id"] is None
    assert address not in str(osc.cli_json("server", "show", "fip-cli")["addresses"])
    osc.cli("floating", "ip", "delete", address)
    assert address not in {f["Floating IP Address"]
                           for f in osc.cli_json("floating", "ip", "list")}
    osc.cli("server", "delete", "--wait", "fip-cli")
