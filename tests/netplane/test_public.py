"""The public network on the kernel data plane: Elastic IPs (1:1 NAT), the internet gateway's
route deciding whether a port reaches the uplink, NAT gateways.

The public network is a bridge in a namespace the test makes (as a deployment's LAN bridge);
on it sit a "client" namespace and an "uplink" namespace, the gateway, behind which stands an
"internet" address (198.51.100.7 on its loopback). Everything is removed even on failure, and
the finaliser checks that no namespace, table or device of the test is left.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from overcast.drivers.network.kernel import KernelNetwork, names
from overcast.drivers.network.spec import (
    NatGatewaySpec,
    PublicMapping,
    PublicNetwork,
    VpcPublicSpec,
)
from tests.netplane.conftest import PROBE, SUBNET, Plane, anywhere, namespaces, sh

CIDR, GATEWAY, CLIENT = "203.0.113.0/24", "203.0.113.1", "203.0.113.50"
INTERNET = "198.51.100.7"
EIP, NAT_EIP = "203.0.113.10", "203.0.113.20"


@dataclass
class Lan:
    """The test's public network: a bridge, a client and an uplink."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    servers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return f"ocl-{self.tag}"

    @property
    def client(self) -> str:
        return f"occ-{self.tag}"

    @property
    def uplink(self) -> str:
        return f"ocu-{self.tag}"

    def made(self) -> set[str]:
        return {self.netns, self.client, self.uplink}

    def build(self) -> None:
        sh("ip", "netns", "add", self.netns)
        sh("ip", "-n", self.netns, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.netns, "link", "set", "br0", "up")
        self._join(self.client, f"{CLIENT}/24")
        self._join(self.uplink, f"{GATEWAY}/24")
        sh("ip", "-n", self.uplink, "addr", "add", f"{INTERNET}/32", "dev", "lo")

    def _join(self, netns: str, address: str) -> None:
        sh("ip", "netns", "add", netns)
        peer = f"l{netns[2]}{self.tag}"  # lc..., lu...
        sh("ip", "link", "add", peer, "netns", self.netns, "type", "veth", "peer", "name",
           "eth0", "netns", netns)
        sh("ip", "-n", self.netns, "link", "set", peer, "master", "br0", "up")
        for line in (["link", "set", "lo", "up"], ["link", "set", "eth0", "up"],
                     ["addr", "add", address, "dev", "eth0"]):
            sh("ip", "-n", netns, *line)

    def serve(self, netns: str, *args: str) -> None:
        server = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable, str(PROBE),
                                   *args], stdout=subprocess.PIPE, text=True)
        self.servers.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"

    def ask(self, netns: str, host: str, port: int) -> str | None:
        """What a server at host:port answered a connection from `netns` (None: no answer)."""
        done = sh("ip", "netns", "exec", netns, sys.executable, str(PROBE), "ask", host,
                  str(port), "1.0", check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def connects(self, netns: str, host: str, port: int) -> bool:
        return sh("ip", "netns", "exec", netns, sys.executable, str(PROBE), "connect", host,
                  str(port), "", "1.0", check=False).returncode == 0

    def cleanup(self) -> None:
        for server in self.servers:
            server.kill()
            server.wait(timeout=10)
        for netns in (self.client, self.uplink, self.netns):
            sh("ip", "netns", "del", netns, check=False)


@pytest.fixture
def lan() -> Iterator[Lan]:
    made = Lan()
    try:
        made.build()
        yield made
    finally:
        made.cleanup()
    assert not made.made() & namespaces()


@pytest.fixture
def public_plane(tmp_path: Path, lan: Lan) -> Iterator[Plane]:
    network = PublicNetwork(CIDR, GATEWAY, "br0", lan.netns, own_bridge=False)
    made = Plane(KernelNetwork(tmp_path / "network", public_network=network))
    try:
        yield made
    finally:
        made.cleanup()
    assert made.netns not in namespaces()
    assert "overcast_pub" not in sh("nft", "list", "tables").stdout  # the host's own


def public(mappings: tuple[PublicMapping, ...] = (), internet: bool = True,
           nats: tuple[NatGatewaySpec, ...] = ()) -> VpcPublicSpec:
    return VpcPublicSpec((SUBNET.cidr,) if internet else (), mappings, nats)


def test_an_elastic_ip_reaches_its_port_and_not_after_disassociation(
        public_plane: Plane, lan: Lan) -> None:
    public_plane.group("sg-ssh", ingress=(anywhere("tcp", 22, 22),))
    guest = public_plane.guest(5, ("sg-ssh",))
    public_plane.apply(public=public((PublicMapping(EIP, guest.address),)))
    public_plane.serve(guest, 22, 23)
    assert lan.connects(lan.client, EIP, 22)
    assert not lan.connects(lan.client, EIP, 23)  # the group still decides
    assert not lan.connects(lan.client, guest.address, 22)  # private addresses stay private
    public_plane.apply(public=public())
    assert not lan.connects(lan.client, EIP, 22)
    assert EIP not in sh("ip", "-n", public_plane.netns, "addr").stdout


def test_the_route_to_the_internet_gateway_decides_the_way_out(
        public_plane: Plane, lan: Lan) -> None:
    public_plane.group("sg-web", ingress=(anywhere("tcp", 80, 80),))
    guest = public_plane.guest(6, ("sg-web",))
    lan.serve(lan.uplink, "peer", "80")
    public_plane.serve(guest, 80)
    mapped = (PublicMapping(EIP, guest.address),)
    public_plane.apply(public=public(mapped, internet=False))  # no 0.0.0.0/0 -> igw route
    assert lan.ask(guest.netns, INTERNET, 80) is None
    assert not lan.connects(lan.client, EIP, 80)
    public_plane.apply(public=public(mapped))
    assert lan.ask(guest.netns, INTERNET, 80) == EIP  # leaves as its public address
    assert lan.connects(lan.client, EIP, 80)
    public_plane.apply(public=public(mapped, internet=False))
    assert lan.ask(guest.netns, INTERNET, 80) is None


def test_a_port_without_a_public_address_has_no_way_out(
        public_plane: Plane, lan: Lan) -> None:
    public_plane.group("sg-a")
    guest = public_plane.guest(7, ("sg-a",))
    lan.serve(lan.uplink, "peer", "80")
    public_plane.apply(public=public())
    assert lan.ask(guest.netns, INTERNET, 80) is None


def test_a_nat_gateway_lets_a_private_subnet_out_from_its_address(
        public_plane: Plane, lan: Lan) -> None:
    public_plane.group("sg-open", ingress=(anywhere(),))
    guest = public_plane.guest(8, ("sg-open",))
    lan.serve(lan.uplink, "peer", "80")
    public_plane.serve(guest, 80)
    nat = NatGatewaySpec("nat-0123456789abcdef0", NAT_EIP, (SUBNET.cidr,))
    public_plane.apply(public=public(internet=False, nats=(nat,)))
    assert lan.ask(guest.netns, INTERNET, 80) == NAT_EIP
    assert not lan.connects(lan.client, NAT_EIP, 80)  # nothing comes in through a NAT
    assert not lan.connects(lan.client, guest.address, 80)
    public_plane.apply(public=public(internet=False))  # the route to the NAT is gone
    assert lan.ask(guest.netns, INTERNET, 80) is None


def test_a_vpc_without_an_internet_gateway_has_no_leg(public_plane: Plane, lan: Lan) -> None:
    public_plane.group("sg-a")
    public_plane.guest(9, ("sg-a",))
    public_plane.apply(public=public())
    peer = names.public_peer(public_plane.netns)
    assert peer in sh("ip", "-n", lan.netns, "link").stdout
    public_plane.apply()  # the gateway was detached
    assert names.PUBLIC_DEVICE not in sh("ip", "-n", public_plane.netns, "link").stdout
    assert peer not in sh("ip", "-n", lan.netns, "link").stdout
    assert "overcast_pub" not in sh("ip", "netns", "exec", public_plane.netns, "nft", "list",
                                    "tables").stdout


def test_applying_again_changes_nothing(public_plane: Plane, lan: Lan) -> None:
    public_plane.group("sg-a")
    guest = public_plane.guest(10, ("sg-a",))
    spec = public((PublicMapping(EIP, guest.address),))
    public_plane.apply(public=spec)
    before = sh("ip", "netns", "exec", public_plane.netns, "nft", "-a", "list", "ruleset").stdout
    links = sh("ip", "-n", public_plane.netns, "-d", "link").stdout
    public_plane.apply(public=spec)
    assert sh("ip", "netns", "exec", public_plane.netns, "nft", "-a", "list",
              "ruleset").stdout == before
    assert sh("ip", "-n", public_plane.netns, "-d", "link").stdout == links


def test_the_clouds_own_public_network_is_made_and_removed(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    network = PublicNetwork(CIDR, GATEWAY, "ocpub0", f"ocpub-{tag}")
    plane = Plane(KernelNetwork(tmp_path / "network", public_network=network))
    try:
        plane.group("sg-a")
        plane.guest(11, ("sg-a",))
        plane.apply(public=public())
        assert f"{GATEWAY}/24" in sh("ip", "-n", f"ocpub-{tag}", "addr", "show",
                                     "ocpub0").stdout
        assert plane.pings(plane.guests[0], GATEWAY) is False  # no public address: no way out
    finally:
        plane.cleanup()
    assert not {f"ocpub-{tag}", plane.netns} & namespaces()
