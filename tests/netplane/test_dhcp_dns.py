"""dnsmasq in the VPC's namespace: fixed addresses by MAC, the gateway, the VPC's DNS names."""

from __future__ import annotations

from pathlib import Path

from overcast.drivers.network.spec import SubnetSpec
from tests.netplane.conftest import DOMAIN, SUBNET, Plane, allow_all, sh

UDHCPC_SCRIPT = """#!/bin/sh
# busybox udhcpc calls this with the lease in its environment
echo "$1 ip=$ip mask=$mask router=$router dns=$dns hostname=$hostname" >> "{out}"
if [ "$1" = bound ]; then
  ip addr add "$ip/$mask" dev "$interface"
  ip route add default via "$router"
fi
"""


def test_dhcp_hands_the_fixed_address_gateway_and_dns(plane: Plane, tmp_path: Path) -> None:
    plane.group("sg-a", ingress=(allow_all("sg-a"),))
    guest = plane.guest(81, ("sg-a",), configure=False)
    other = plane.guest(82, ("sg-a",))
    plane.apply()
    out, script = tmp_path / "lease.txt", tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT.format(out=out))
    script.chmod(0o755)
    done = guest.run("busybox", "udhcpc", "-f", "-q", "-n", "-t", "5", "-T", "1", "-i", "eth0",
                     "-s", str(script), timeout=30)
    assert done.returncode == 0, done.stderr
    lease = out.read_text()
    assert (f"bound ip={guest.address} mask=20 router={SUBNET.gateway_ip} "
            f"dns={SUBNET.gateway_ip} hostname=ip-10-77-0-81") in lease
    assert plane.pings(guest, other.address)  # configured by DHCP alone
    assert plane.pings(guest, SUBNET.gateway_ip)


def test_private_dns_names_resolve_when_the_vpc_says_so(plane: Plane) -> None:
    plane.group("sg-a", ingress=(allow_all("sg-a"),))
    asker, named = plane.guest(83, ("sg-a",)), plane.guest(84, ("sg-a",))
    plane.apply()
    name = f"ip-10-77-0-84.{DOMAIN}"
    answer = asker.run("busybox", "nslookup", name, SUBNET.gateway_ip)
    assert answer.returncode == 0 and named.address in answer.stdout
    elsewhere = asker.run("busybox", "nslookup", "example.com", SUBNET.gateway_ip)
    assert elsewhere.returncode != 0  # no upstream: the VPC's names only
    plane.apply(dns_hostnames=False)
    assert asker.run("busybox", "nslookup", name, SUBNET.gateway_ip).returncode != 0


def test_dnsmasq_restarts_only_when_its_subnets_change(plane: Plane) -> None:
    plane.group("sg-a")
    plane.guest(85, ("sg-a",))
    plane.apply()
    pid = dnsmasq_pid(plane)
    plane.guest(86, ("sg-a",))
    plane.apply()  # a new port: new host lines, a SIGHUP
    assert dnsmasq_pid(plane) == pid
    plane.apply(subnets=(SubnetSpec(SUBNET.id, SUBNET.cidr, SUBNET.gateway_ip, ("10.77.0.2",)),))
    assert dnsmasq_pid(plane) != pid


def dnsmasq_pid(plane: Plane) -> int:
    home = plane.driver.state_dir / plane.netns
    pid = int((home / "dnsmasq.pid").read_text())
    assert str(home) in Path(f"/proc/{pid}/cmdline").read_text()
    assert sh("ip", "netns", "identify", str(pid)).stdout.strip() == plane.netns
    return pid
