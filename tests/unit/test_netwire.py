"""Kernel networking wired in: the service layer's desired network of a host, the agent
applying it, QEMU's tap netdev and the capabilities a kernel-mode host has."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore
from overcast.cli import preflight
from overcast.cli.preflight import CliError
from overcast.cloud.compute.launch import NetworkRequest, RunRequest
from overcast.cloud.network import GroupSource, Permission
from overcast.config import Settings
from overcast.drivers.base import HostCapacity, NetworkSpec, PowerState
from overcast.drivers.fake import FakeDriver
from overcast.drivers.network.base import ApplyResult
from overcast.drivers.network.spec import DesiredNetwork, Rule, tap_device
from overcast.drivers.qemu import QemuDriver, network
from overcast.drivers.registry import capabilities_of
from tests.conftest import in_process_cloud


class RecordingNetwork:
    """A network driver that records what it is asked; ports listed in `missing` have no tap."""

    name = "recording"

    def __init__(self) -> None:
        self.applied: list[DesiredNetwork] = []
        self.missing: set[str] = set()
        self.torn_down = 0

    def apply(self, desired: DesiredNetwork) -> ApplyResult:
        self.applied.append(desired)
        return ApplyResult(tuple(p.id for v in desired.vpcs for p in v.ports
                                 if p.id in self.missing))

    def teardown(self) -> None:
        self.torn_down += 1


def test_tap_names_fit_an_interface_name() -> None:
    assert tap_device("i-0123456789abcdef0") == "t0123456789abcd"
    assert len(tap_device("i-" + "f" * 40)) == 15


def test_qemu_uses_the_tap_and_has_no_loopback_public_ips_in_kernel_mode() -> None:
    spec = NetworkSpec("52:54:00:00:00:01", "172.31.0.5", "172.31.0.0/20", "172.31.0.1",
                       tap="t0123")
    assert network.netdev_arg("i-1", spec, ("127.0.0.1", 8775), None) == \
        "tap,id=net0,ifname=t0123,script=no,downscript=no"
    network.validate(spec)
    for bad in ("t 1", "a" * 16, "t;x"):
        with pytest.raises(Exception, match="tap"):
            network.validate(NetworkSpec(spec.mac_address, spec.private_ip, spec.subnet_cidr,
                                         spec.gateway_ip, tap=bad))
    assert capabilities_of("qemu").loopback_public_ips
    kernel = capabilities_of("qemu", "kernel")
    assert not kernel.loopback_public_ips and not kernel.live_network_update
    assert kernel.snapshot
    driver = QemuDriver("/tmp/overcast-netwire-unused", network_mode="kernel")
    assert driver.capabilities() == kernel


def test_desired_network_of_a_host(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path)
    cloud.hosts.heartbeat("h1", "qemu", "overcast-1a", HostCapacity(8, 8192, 100),
                          ("kernel", None))
    groups = cloud.security_groups
    db = groups.create(ctx, "db", "the database tier")
    default = groups.get(ctx, None, "default")
    groups.authorize(ctx, (db.id, None), False, [Permission("tcp", 5432, 5432,
                                                            groups=(GroupSource(default.id),))])
    web = cloud.run_instances(ctx, RunRequest(image, min_count=2, max_count=2)).instances
    data = cloud.run_instances(ctx, RunRequest(image, network=NetworkRequest(
        security_group_ids=(db.id,)))).instances[0]
    assert all(r.public_ip is None for r in (*web, data))  # a kernel-mode host: none
    host_id = cloud.hosts.list()[0].id
    (vpc,) = cloud.dataplane.host_network(host_id).vpcs
    assert vpc.vni >= 1 and vpc.cidr == "172.31.0.0/16" and vpc.dns_hostnames
    assert {p.id: p.security_group_ids for p in vpc.ports} == {
        web[0].id: (default.id,), web[1].id: (default.id,), data.id: (db.id,)}
    port = next(p for p in vpc.ports if p.id == data.id)
    assert port.device == tap_device(data.id) and port.addresses == (data.private_ip,)
    assert vpc.subnet(port.subnet_id).gateway_ip == "172.31.0.1"
    rules = {g.id: g for g in vpc.security_groups}
    assert Rule("-1", -1, -1, None, default.id) in rules[default.id].ingress
    assert rules[db.id].ingress == (Rule("tcp", 5432, 5432, None, default.id),)
    assert vpc.member_addresses(default.id) == {web[0].private_ip, web[1].private_ip}
    spec = LocalStore(cloud, network_mode="kernel").network(web[0])
    assert spec.tap == tap_device(web[0].id) and spec.forwards == () and spec.public_ip is None
    cloud.instances.change(ctx, [data.id], "terminate")
    (vpc,) = cloud.dataplane.host_network(host_id).vpcs
    assert data.id not in {p.id for p in vpc.ports}
    assert cloud.dataplane.host_network("no-such-host") == DesiredNetwork()
    cloud.db.dispose()


def _until(agent: Agent, check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "never held"
        agent.tick()
        time.sleep(0.02)


def test_agent_applies_the_network_and_keeps_it_while_guests_run(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path)
    driver = FakeDriver(HostCapacity(16, 65536, 500), state_file=tmp_path / "vms.json")
    net = RecordingNetwork()
    agent = Agent(LocalStore(cloud, network_mode="kernel"), driver, "h1", "overcast-1a",
                  network=net)
    agent.register()
    row = cloud.run_instances(ctx, RunRequest(image)).instances[0]
    net.missing.add(row.id)  # the tap is not there yet: applied again each tick
    _until(agent, lambda: net.applied and net.applied[-1].vpcs)
    count = len(net.applied)
    agent.tick()
    assert len(net.applied) == count + 1
    net.missing.clear()
    agent.tick()
    count = len(net.applied)
    agent.tick()
    assert len(net.applied) == count  # nothing changed, nothing pending: not applied again
    _until(agent, lambda: driver.list().get(row.id) is not None
           and driver.list()[row.id].state == PowerState.RUNNING)
    cloud.security_groups.authorize(ctx, (None, "default"), False,
                                    [Permission("tcp", 22, 22, ipv4=(("10.0.0.0/8", ""),))])
    agent.network.dirty = True  # as the agent's wake-up marks it  # type: ignore[union-attr]
    agent.tick()
    assert Rule("tcp", 22, 22, "10.0.0.0/8") in net.applied[-1].vpcs[0].security_groups[0].ingress
    agent.stop()
    assert net.torn_down == 0  # the guest runs on: so does its network
    cloud.instances.change(ctx, [row.id], "terminate")
    agent2 = Agent(LocalStore(cloud, network_mode="kernel"), driver, "h1", "overcast-1a",
                   network=net)
    agent2.register()
    _until(agent2, lambda: row.id not in driver.list())
    agent2.tick()
    assert net.applied[-1].vpcs == ()
    agent2.stop()
    assert net.torn_down == 1
    cloud.db.dispose()


def test_kernel_mode_is_refused_with_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    qemu = Settings(driver="qemu", network_mode="kernel")
    with pytest.raises(CliError, match="unknown network mode 'slirp'"):
        preflight.check_network_mode(Settings(network_mode="slirp"))
    with pytest.raises(CliError, match="needs the qemu driver, not 'fake'"):
        preflight.check_network_mode(Settings(driver="fake", network_mode="kernel"))
    monkeypatch.setattr(preflight, "missing_requirements", lambda: ["root", "nft"])
    with pytest.raises(CliError, match="needs root, nft .*--network-mode user"):
        preflight.check_network_mode(qemu)
    monkeypatch.setattr(preflight, "missing_requirements", lambda: [])
    preflight.check_network_mode(qemu)
    preflight.check_network_mode(Settings(driver="fake"))  # user mode needs nothing
