"""One VPC over two "hosts": each host's VPC namespace reaches the other's through VXLAN over an
underlay made of two namespaces joined by a veth (standing for the hosts' network)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.drivers.network.kernel import KernelNetwork
from overcast.drivers.network.spec import RemotePortSpec, Rule
from tests.netplane.conftest import Guest, Plane, allow_all, namespaces, sh

UNDERLAY = {"a": "192.0.2.1", "b": "192.0.2.2"}


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[dict[str, Plane]]:
    tag = uuid.uuid4().hex[:6]
    underlay = {side: f"ocu-{tag}-{side}" for side in UNDERLAY}
    vpc_id = f"vpc-{uuid.uuid4().hex[:17]}"
    planes = {side: Plane(KernelNetwork(tmp_path / side, underlay[side], f"oc{side}-"),
                          vpc_id=vpc_id, underlay_ip=UNDERLAY[side]) for side in UNDERLAY}
    try:
        for netns in underlay.values():
            sh("ip", "netns", "add", netns)
            sh("ip", "-n", netns, "link", "set", "lo", "up")
        sh("ip", "-n", underlay["a"], "link", "add", "u0", "type", "veth", "peer", "name", "u0",
           "netns", underlay["b"])
        for side, netns in underlay.items():
            sh("ip", "-n", netns, "addr", "add", f"{UNDERLAY[side]}/24", "dev", "u0")
            sh("ip", "-n", netns, "link", "set", "u0", "up")
        yield planes
    finally:
        for plane in planes.values():
            plane.cleanup()
        for netns in underlay.values():
            sh("ip", "netns", "del", netns, check=False)
    assert not (set(underlay.values()) | {p.netns for p in planes.values()}) & namespaces()


def remote(guest: Guest, host_ip: str) -> RemotePortSpec:
    return RemotePortSpec(guest.port().id, (guest.address,), host_ip, guest.groups)


def test_guests_on_two_hosts_talk_through_vxlan_under_their_groups(
        hosts: dict[str, Plane]) -> None:
    a, b = hosts["a"], hosts["b"]
    for plane in (a, b):
        plane.group("sg-web", ingress=(allow_all("sg-web"),))
        plane.group("sg-db", ingress=(Rule("tcp", 5432, 5432, group_id="sg-web"),))
    web = a.guest(100, ("sg-web",))
    other = a.guest(101, ("sg-other",))
    db = b.guest(102, ("sg-db",))
    a.group("sg-other")
    b.group("sg-other")
    a.apply(remote_ports=(remote(db, UNDERLAY["b"]),))
    b.apply(remote_ports=(remote(web, UNDERLAY["a"]), remote(other, UNDERLAY["a"])))
    b.serve(db, 5432, 22)
    assert a.reaches(web, db, 5432)  # the db host knows web's address is in sg-web
    assert not a.reaches(other, db, 5432)
    assert not a.reaches(web, db, 22)
    # without remote ports, no VXLAN device and no way across
    a.apply()
    assert "vx0" not in sh("ip", "-n", a.netns, "link").stdout
    assert not a.reaches(web, db, 5432)
