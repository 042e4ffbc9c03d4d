"""Ports and VPCs coming and going: pending taps, removal, nothing left behind."""

from __future__ import annotations

from overcast.drivers.network.spec import DesiredNetwork
from tests.netplane.conftest import Plane, allow_all, namespaces, sh


def test_a_port_whose_tap_is_not_there_yet_is_pending(plane: Plane) -> None:
    plane.group("sg-a", ingress=(allow_all("sg-a"),))
    a, b = plane.guest(90, ("sg-a",)), plane.guest(91, ("sg-a",))
    sh("ip", "link", "del", b.device)  # the guest's "QEMU" has not opened its tap yet
    assert plane.apply().pending_ports == (b.port().id,)
    assert not plane.pings(a, b.address)
    sh("ip", "link", "add", b.device, "type", "veth", "peer", "name", "eth0", "netns", b.netns)
    sh("ip", "-n", b.netns, "link", "set", "eth0", "address", b.mac)
    sh("ip", "-n", b.netns, "link", "set", "eth0", "up")
    sh("ip", "-n", b.netns, "addr", "add", f"{b.address}/20", "dev", "eth0")
    sh("ip", "-n", b.netns, "route", "add", "default", "via", "10.77.0.1")
    assert plane.apply().pending_ports == ()
    assert plane.pings(a, b.address)


def test_a_removed_port_leaves_no_device_route_or_chain(plane: Plane) -> None:
    plane.group("sg-a", ingress=(allow_all("sg-a"),))
    a, b = plane.guest(92, ("sg-a",)), plane.guest(93, ("sg-a",))
    plane.apply()
    plane.guests.remove(b)
    plane.apply()
    assert b.device not in sh("ip", "-n", plane.netns, "link").stdout
    assert b.address not in sh("ip", "-n", plane.netns, "route").stdout
    ruleset = sh("ip", "netns", "exec", plane.netns, "nft", "list", "ruleset").stdout
    assert b.device not in ruleset and b.address not in ruleset and a.device in ruleset
    plane.guests.append(b)  # the finaliser removes its namespace


def test_a_vpc_no_longer_wanted_is_removed_with_its_dnsmasq(plane: Plane) -> None:
    plane.group("sg-a")
    plane.guest(94, ("sg-a",))
    plane.apply()
    home = plane.driver.state_dir / plane.netns
    pid = int((home / "dnsmasq.pid").read_text())
    assert plane.netns in namespaces()
    plane.driver.apply(DesiredNetwork())  # no VPC wanted any more
    assert plane.netns not in namespaces() and not home.exists()
    assert sh("ps", "-p", str(pid), "-o", "stat=", check=False).stdout.strip() in ("", "Z")

