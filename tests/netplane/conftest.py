"""Data-plane tests: a real KernelNetwork driver on this host, as root, in namespaces only.

"Guests" are namespaces joined to their port by a veth pair whose port end starts in the host
namespace, as a tap that QEMU opens does, and which the driver moves into the VPC's namespace.
Every namespace, device and process a test makes is removed in the fixture's finaliser, even
when the test fails; the finaliser then checks that nothing was left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from overcast.drivers.network.base import ApplyResult
from overcast.drivers.network.kernel import KernelNetwork, names
from overcast.drivers.network.spec import (
    DesiredNetwork,
    PortSpec,
    Rule,
    SecurityGroupSpec,
    SubnetSpec,
    VpcSpec,
)

PROBE = Path(__file__).with_name("probe.py")
SUBNET = SubnetSpec("subnet-test", "10.77.0.0/20", "10.77.0.1")
DOMAIN = "test-1.compute.internal"
TOOLS = ("ip", "nft", "dnsmasq", "busybox", "sysctl")



@pytest.fixture(autouse=True)
def _needs_root_and_tools() -> None:
    if os.geteuid() != 0:
        pytest.skip("data-plane tests need root (network namespaces, nftables)")
    if missing := [tool for tool in TOOLS if shutil.which(tool) is None]:
        pytest.skip(f"data-plane tests need {', '.join(missing)} (scripts/install-deps)")


def sh(*argv: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=timeout)


def namespaces() -> set[str]:
    return {line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line}


def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds until `check()` held; fails after `timeout` (a bounded loop, no fixed sleep)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not so within {timeout} s")
    return time.monotonic() - start


def allow_all(group_id: str) -> Rule:
    return Rule("-1", group_id=group_id)


def anywhere(protocol: str = "-1", low: int = -1, high: int = -1) -> Rule:
    return Rule(protocol, low, high, cidr="0.0.0.0/0")


@dataclass
class Guest:
    netns: str
    device: str  # its port's end, the "tap"
    mac: str
    address: str
    groups: tuple[str, ...] = ()

    def port(self) -> PortSpec:
        return PortSpec(f"i-{self.netns}", SUBNET.id, self.mac, (self.address,), self.device,
                        self.groups)

    def run(self, *argv: str, timeout: float = 20) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.netns, *argv, check=False, timeout=timeout)


@dataclass
class Plane:
    """One VPC on a KernelNetwork driver, with guests to send and receive."""

    driver: KernelNetwork
    vpc_id: str = field(default_factory=lambda: f"vpc-{uuid.uuid4().hex[:17]}")
    guests: list[Guest] = field(default_factory=list)
    servers: list[subprocess.Popen] = field(default_factory=list)
    groups: dict[str, SecurityGroupSpec] = field(default_factory=dict)
    underlay_ip: str | None = None

    @property
    def netns(self) -> str:
        return names.namespace(self.vpc_id, self.driver.netns_prefix)

    def guest(self, host: int, groups: tuple[str, ...] = (), configure: bool = True) -> Guest:
        tag = uuid.uuid4().hex[:8]
        guest = Guest(f"ocg-{tag}", f"tp{tag}", f"02:77:00:00:{host // 256:02x}:{host % 256:02x}",
                      f"10.77.{host // 256}.{host % 256}", groups)
        self.guests.append(guest)
        sh("ip", "netns", "add", guest.netns)
        sh("ip", "link", "add", guest.device, "type", "veth", "peer", "name", "eth0", "netns",
           guest.netns)
        sh("ip", "-n", guest.netns, "link", "set", "eth0", "address", guest.mac)
        sh("ip", "-n", guest.netns, "link", "set", "eth0", "up")
        sh("ip", "-n", guest.netns, "link", "set", "lo", "up")
        if configure:
            sh("ip", "-n", guest.netns, "addr", "add", f"{guest.address}/20", "dev", "eth0")
            sh("ip", "-n", guest.netns, "route", "add", "default", "via", SUBNET.gateway_ip)
        return guest

    def vpc(self, **changes: object) -> VpcSpec:
        spec = VpcSpec(self.vpc_id, "10.77.0.0/16", 7700, (SUBNET,),
                       tuple(g.port() for g in self.guests),
                       tuple(self.groups.values()), dns_domain=DOMAIN)
        return spec if not changes else VpcSpec(**{**spec.__dict__, **changes})

    def apply(self, **changes: object) -> ApplyResult:
        return self.driver.apply(DesiredNetwork((self.vpc(**changes),), self.underlay_ip))

    def group(self, group_id: str, ingress: tuple[Rule, ...] = (),
              egress: tuple[Rule, ...] = (anywhere(),)) -> None:
        self.groups[group_id] = SecurityGroupSpec(group_id, ingress, egress)

    def serve(self, guest: Guest, *ports: int) -> None:
        server = subprocess.Popen(["ip", "netns", "exec", guest.netns, sys.executable,
                                   str(PROBE), "serve", *map(str, ports)],
                                  stdout=subprocess.PIPE, text=True)
        self.servers.append(server)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"

    def reaches(self, src: Guest, dst: Guest, port: int, source: str = "",
                timeout: float = 1.0) -> bool:
        done = src.run(sys.executable, str(PROBE), "connect", dst.address, str(port), source,
                       str(timeout))
        return done.returncode == 0

    def pings(self, src: Guest, address: str) -> bool:
        return src.run("busybox", "ping", "-c1", "-W1", address).returncode == 0

    def cleanup(self) -> None:
        for server in self.servers:
            server.kill()
            server.wait(timeout=10)
        self.driver.teardown()
        for guest in self.guests:
            sh("ip", "netns", "del", guest.netns, check=False)
            sh("ip", "link", "del", guest.device, check=False)


@pytest.fixture
def plane(tmp_path: Path) -> Iterator[Plane]:
    made = Plane(KernelNetwork(tmp_path / "network"))
    try:
        yield made
    finally:
        made.cleanup()
    assert made.netns not in namespaces()
    assert not {g.netns for g in made.guests} & namespaces()
    assert str(tmp_path) not in sh("pgrep", "-a", "dnsmasq", check=False).stdout
    for guest in made.guests:
        assert sh("ip", "link", "show", guest.device, check=False).returncode != 0
