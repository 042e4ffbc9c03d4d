"""dnsmasq in a VPC's namespace: each port's MAC gets its fixed address, the gateway and DNS;
it answers the VPC's private DNS names (ip-a-b-c-d.<domain>) and nothing else.

Its files live in the VPC's state directory. A changed main file restarts it; changed host
lists only need a SIGHUP (dnsmasq re-reads --dhcp-hostsfile and --addn-hosts on it).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from overcast.drivers.network.base import NetworkError
from overcast.drivers.network.kernel import checks, commands, names
from overcast.drivers.network.spec import VpcSpec, private_dns_name

STOP_WAIT_S = 5.0


def render_config(vpc: VpcSpec, home: Path) -> str:
    lines = [f"# overcast: DHCP and DNS of {vpc.id}", "no-resolv", "no-hosts", "port=53",
             f"except-interface={names.VXLAN_DEVICE}", "dhcp-authoritative", "log-dhcp",
             f"domain={vpc.dns_domain}", f"local=/{vpc.dns_domain}/",
             f"dhcp-leasefile={home / 'leases'}", f"dhcp-hostsfile={home / 'dhcp-hosts'}",
             f"addn-hosts={home / 'dns-hosts'}", f"pid-file={home / 'dnsmasq.pid'}",
             f"log-facility={home / 'dnsmasq.log'}", "user=root"]
    for subnet in vpc.subnets:
        net, tag = checks.network(subnet.cidr), names.ident(subnet.id)
        servers = ",".join(subnet.dns_servers) or subnet.gateway_ip
        lines += [f"dhcp-range=set:{tag},{net.network_address},static,{net.netmask},"
                  f"{max(subnet.lease_seconds, 120)}s",
                  f"dhcp-option=tag:{tag},option:router,{subnet.gateway_ip}",
                  f"dhcp-option=tag:{tag},option:dns-server,{servers}"]
    return "\n".join(lines) + "\n"


def render_dhcp_hosts(vpc: VpcSpec) -> str:
    lines = []
    for port in vpc.ports:
        if port.addresses:
            name = private_dns_name(port.addresses[0], vpc.dns_domain).split(".")[0]
            lines.append(f"{port.mac.lower()},{port.addresses[0]}"
                         + (f",{name}" if vpc.dns_hostnames else ""))
    return "\n".join(lines) + "\n"


def render_dns_hosts(vpc: VpcSpec) -> str:
    if not vpc.dns_hostnames:
        return ""
    addresses = sorted({a for port in vpc.all_ports() for a in port.addresses})
    return "".join(f"{a} {private_dns_name(a, vpc.dns_domain)}\n" for a in addresses)


def converge(netns: str, vpc: VpcSpec, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    config_changed = _write(home / "dnsmasq.conf", render_config(vpc, home))
    hosts_changed = _write(home / "dhcp-hosts", render_dhcp_hosts(vpc))
    hosts_changed |= _write(home / "dns-hosts", render_dns_hosts(vpc))
    pid = running_pid(home)
    if pid is not None and config_changed:
        stop(home)
        pid = None
    if pid is None:
        commands.run(commands.in_netns(netns, ["dnsmasq", f"--conf-file={home / 'dnsmasq.conf'}"]))
    elif hosts_changed:
        os.kill(pid, signal.SIGHUP)


def running_pid(home: Path) -> int | None:
    """The pid of this VPC's dnsmasq if it runs."""
    try:
        pid = int((home / "dnsmasq.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(home / "dnsmasq.conf").encode() in cmdline else None


def stop(home: Path) -> None:
    pid = running_pid(home)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_S
    while running_pid(home) is not None:
        if time.monotonic() > deadline:
            raise NetworkError(f"dnsmasq {pid} did not stop")
        time.sleep(0.05)


def _write(path: Path, text: str) -> bool:
    """Write when different; True when it was."""
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
