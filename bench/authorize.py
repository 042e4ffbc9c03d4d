"""How long from AuthorizeSecurityGroupIngress (the service layer's call) until traffic
passes, through the whole path: the rule row, the agent woken, the host's desired network read
from the database, the kernel network driver's apply.

    sudo python -m bench.authorize [--instances 200] [--rules 50] [--changes 20]

An in-process cloud (fake hypervisor) whose agent runs the kernel network driver. The
instances are in groups of 10, each group `--rules` rules (half CIDR, half group-sourced).
Every instance's "tap" is made by the benchmark (QEMU would make it): two are veth pairs into
"guest" namespaces that send and receive, the rest plain tap devices. Each change authorizes
(then revokes) one rule of the receiver's group admitting the sender, timed until a new TCP
connection passes (then is refused). Root only; everything it makes is removed at the end.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore
from overcast.cloud.compute.launch import NetworkRequest, RunRequest
from overcast.cloud.network import GroupSource, Permission
from overcast.cloud.network.dataplane import gateway_of
from overcast.drivers.base import HostCapacity
from overcast.drivers.fake import FakeDriver
from overcast.drivers.network.kernel import KernelNetwork
from overcast.drivers.network.spec import tap_device
from tests.conftest import in_process_cloud
from tests.netplane.conftest import PROBE, sh

GROUP_SIZE, PORT = 10, 9000


def rules_of(index: int, groups: list[str], count: int) -> list[Permission]:
    cidr = [Permission("tcp", 1000 + r, 1000 + r, ipv4=((f"192.168.{r}.0/24", ""),))
            for r in range(count // 2)]
    peers = [Permission("udp", 2000 + r, 2000 + r,
                        groups=(GroupSource(groups[(index + r) % len(groups)]),))
             for r in range(count - count // 2)]
    return [*cidr, *peers]


def guest(netns: str, device: str, mac: str, address: str, prefix: int, gateway: str) -> None:
    sh("ip", "netns", "add", netns)
    sh("ip", "link", "add", device, "type", "veth", "peer", "name", "eth0", "netns", netns)
    for line in (["link", "set", "eth0", "address", mac], ["link", "set", "eth0", "up"],
                 ["link", "set", "lo", "up"], ["addr", "add", f"{address}/{prefix}", "dev",
                                               "eth0"],
                 ["route", "add", "default", "via", gateway]):
        sh("ip", "-n", netns, *line)


def reaches(netns: str, address: str) -> bool:
    return sh("ip", "netns", "exec", netns, sys.executable, str(PROBE), "connect", address,
              str(PORT), "", "0.05", check=False).returncode == 0


def until(check: Callable[[], bool], limit: float = 10.0) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > limit:
            raise SystemExit(f"the change did not take effect within {limit} s")
    return time.monotonic() - start


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(values) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bauth-") as name:
        tmp = Path(name)
        cloud, ctx, image = in_process_cloud(
            tmp / "data", default_max_instances=args.instances * 2,
            default_max_vcpus=args.instances * 4, fake_vcpus=args.instances * 2,
            fake_boot_delay=0.0)
        network = KernelNetwork(tmp / "network")
        capacity = HostCapacity(args.instances * 2, args.instances * 1024, args.instances * 20)
        agent = Agent(LocalStore(cloud, network_mode="kernel"), FakeDriver(capacity), "h1",
                      cloud.catalog.default_zone, 0.2, network=network)
        agent.register()
        namespaces: list[str] = []
        rows: list = []
        server = None
        try:
            count = max(1, args.instances // GROUP_SIZE)
            groups = [cloud.security_groups.create(ctx, f"g{i}", "bench").id
                      for i in range(count)]
            for index, group in enumerate(groups):
                cloud.security_groups.authorize(ctx, (group, None), False,
                                                rules_of(index, groups, args.rules))
            for group in groups:
                rows += cloud.run_instances(ctx, RunRequest(
                    image, min_count=GROUP_SIZE, max_count=GROUP_SIZE,
                    network=NetworkRequest(security_group_ids=(group,)))).instances
            sender, receiver = rows[0], rows[-1]
            cidr = cloud.vpcs.subnet_cidr(sender) or ""
            prefix = int(cidr.split("/")[1])
            for row, netns in ((sender, "ocbs-sender"), (receiver, "ocbs-receiver")):
                namespaces.append(netns)
                guest(netns, tap_device(row.id), row.mac_address, row.private_ip or "", prefix,
                      gateway_of(cidr))
            for row in rows[1:-1]:
                sh("ip", "tuntap", "add", "dev", tap_device(row.id), "mode", "tap")
            agent.start()
            ready = until(lambda: agent.network is not None and agent.network.pending == ()
                          and agent.network._applied is not None
                          and len(agent.network._applied.vpcs[0].ports) == len(rows), 120)
            server = subprocess.Popen(
                ["ip", "netns", "exec", "ocbs-receiver", sys.executable, str(PROBE), "serve",
                 str(PORT)], stdout=subprocess.PIPE, text=True)
            assert server.stdout is not None and server.stdout.readline().strip() == "ready"
            address = receiver.private_ip or ""
            rule = Permission("tcp", PORT, PORT, ipv4=((f"{sender.private_ip}/32", ""),))
            opened, closed = [], []
            for _ in range(args.changes):
                start = time.monotonic()
                cloud.security_groups.authorize(ctx, (groups[-1], None), False, [rule])
                until(lambda: reaches("ocbs-sender", address))
                opened.append(time.monotonic() - start)
                start = time.monotonic()
                cloud.security_groups.revoke(ctx, (groups[-1], None), False, [rule])
                until(lambda: not reaches("ocbs-sender", address))
                closed.append(time.monotonic() - start)
            print(f"{len(rows)} instances, {count} groups x {args.rules} rules; all ports in "
                  f"place {ready:.1f} s after the agent started")
            print(f"AuthorizeSecurityGroupIngress -> traffic passes: {percentiles(opened)}")
            print(f"RevokeSecurityGroupIngress -> new connection refused: {percentiles(closed)}")
        finally:
            if server is not None:
                server.kill()
                server.wait(timeout=10)
            agent.stop()
            network.teardown()
            for netns in namespaces:
                sh("ip", "netns", "del", netns, check=False)
            for row in rows:  # taps the agent never moved into the VPC's namespace
                sh("ip", "link", "del", tap_device(row.id), check=False)
            cloud.db.dispose()


if __name__ == "__main__":
    main()
