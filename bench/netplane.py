"""How fast a security-group change reaches running ports on the kernel network driver.

    sudo python -m bench.netplane [--ports 200] [--rules 50] [--changes 20]

One VPC with `--ports` ports (persistent taps) in groups of 10 (each group `--rules` rules,
half CIDR, half group-sourced), two of them real "guest" namespaces. Each change adds (then
revokes) one rule of the receiving guest's group and times from the start of `apply` until a
new TCP connection passes (then is refused). Prints p50/p99 and the apply times.
Root only; everything it makes lives in namespaces it removes at the end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from overcast.drivers.network.kernel import KernelNetwork, names
from overcast.drivers.network.spec import PortSpec, Rule
from tests.netplane.conftest import SUBNET, Plane, anywhere, sh

GROUP_SIZE = 10


def build(plane: Plane, ports: int, rules: int) -> tuple[list[PortSpec], int]:
    groups = max(1, ports // GROUP_SIZE)
    for g in range(groups):
        cidr = [Rule("tcp", 1000 + r, 1000 + r, cidr=f"192.168.{r}.0/24")
                for r in range(rules // 2)]
        peer = [Rule("udp", 2000 + r, 2000 + r, group_id=f"sg-{(g + r) % groups}")
                for r in range(rules - rules // 2)]
        plane.group(f"sg-{g}", ingress=(*cidr, *peer), egress=(anywhere(),))
    sh("ip", "netns", "add", plane.netns)
    extra = []
    for i in range(ports - 2):
        host = 1000 + i
        device = f"d{i}"
        sh("ip", "-n", plane.netns, "tuntap", "add", "dev", device, "mode", "tap")
        mac = f"02:99:00:00:{host // 256:02x}:{host % 256:02x}"
        extra.append(PortSpec(f"i-d{i}", SUBNET.id, mac, (f"10.77.{host // 256}.{host % 256}",),
                              device, (f"sg-{i % groups}",)))
    return extra, groups


def timed_apply(plane: Plane, extra: list[PortSpec]) -> float:
    start = time.monotonic()
    plane.apply(ports=(*extra, *(g.port() for g in plane.guests)))
    return time.monotonic() - start


def until(check, limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("the change did not take effect within 5 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ports", type=int, default=200)
    parser.add_argument("--rules", type=int, default=50)
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        plane = Plane(KernelNetwork(Path(state)))
        try:
            extra, groups = build(plane, args.ports, args.rules)
            a, b = plane.guest(5, ("sg-0",)), plane.guest(6, (f"sg-{groups - 1}",))
            first = timed_apply(plane, extra)
            same = timed_apply(plane, extra)
            plane.serve(b, 9000)
            base = plane.groups[f"sg-{groups - 1}"]
            opened, closed, applies = [], [], []
            for _ in range(args.changes):
                plane.group(base.id, (*base.ingress, Rule("tcp", 9000, 9000, cidr=a.address)),
                            base.egress)
                start = time.monotonic()
                applies.append(timed_apply(plane, extra))
                until(lambda: plane.reaches(a, b, 9000, timeout=0.05))
                opened.append(time.monotonic() - start)
                plane.groups[base.id] = base
                start = time.monotonic()
                timed_apply(plane, extra)
                until(lambda: not plane.reaches(a, b, 9000, timeout=0.05))
                closed.append(time.monotonic() - start)
            rules = sh("ip", "netns", "exec", plane.netns, "nft", "list", "ruleset").stdout
            print(f"{args.ports} ports, {groups} groups x {args.rules} rules "
                  f"({rules.count(' accept')} accept rules in the namespace)")
            print(f"first apply {first:.2f} s; apply with nothing to change {same:.2f} s")
            for label, values in (("apply of one changed group", applies),
                                  ("rule added -> traffic passes", opened),
                                  ("rule revoked -> new connection refused", closed)):
                ordered = sorted(values)
                p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
                print(f"{label}: p50 {statistics.median(values) * 1000:.0f} ms, "
                      f"p99 {p99 * 1000:.0f} ms")
        finally:
            plane.cleanup()
            sh("ip", "netns", "del", names.namespace(plane.vpc_id), check=False)


if __name__ == "__main__":
    main()
