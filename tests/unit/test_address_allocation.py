"""Addresses go round their pool: private ones from the subnet's first usable address, public
ones from the pool's first; a freed address is not handed out again at once, and one that is
taken is never handed out twice."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

import pytest

from overcast.cloud.compute.launch import RunRequest
from overcast.cloud.network import addresses
from overcast.drivers.base import HostCapacity
from overcast.lifecycle import State
from tests.conftest import in_process_cloud


def test_address_order_and_reuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses, "bound_addresses", set)  # other clouds on this machine
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(64, 65536, 500))
    rows = cloud.run_instances(ctx, RunRequest(image, "t2.nano", 3, 3)).instances
    subnet = ipaddress.ip_network(cloud.vpcs.subnet_cidr(rows[0]) or "")
    assert [r.private_ip for r in rows] == [str(subnet[4]), str(subnet[5]), str(subnet[6])]
    public = [cloud.addresses.ensure_public_ip(r.id) for r in rows]
    assert public == ["127.100.0.1", "127.100.0.2", "127.100.0.3"]
    assert cloud.addresses.ensure_public_ip(rows[1].id) == "127.100.0.2"
    for event in ("terminate", "destroyed"):  # the user's call, then the agent's report
        if event == "terminate":
            cloud.instances.change(ctx, [rows[1].id], event)
        else:
            assert cloud.instances.observe(rows[1].id, event) == State.TERMINATED
    again = cloud.run_instances(ctx, RunRequest(image, "t2.nano")).instances[0]
    assert again.private_ip == str(subnet[7])
    assert cloud.addresses.ensure_public_ip(again.id) == "127.100.0.4"
    cloud.db.dispose()


def test_addresses_another_cloud_on_this_host_uses_are_skipped(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(64, 65536, 500))
    with socket.socket() as taken:  # as a guest's port forward of another cloud would
        taken.bind(("127.100.0.1", 0))
        taken.listen()
        first = cloud.run_instances(ctx, RunRequest(image, "t2.nano")).instances[0]
    public = cloud.addresses.ensure_public_ip(first.id)
    assert public == first.public_ip
    assert public is not None and public != "127.100.0.1"
    assert ipaddress.ip_address(public) in addresses.PUBLIC_POOL
    cloud.db.dispose()
