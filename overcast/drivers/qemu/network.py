"""User-mode (slirp) networking for one guest: addresses, port forwards, metadata channel.

Each instance gets its own `-netdev user` with `restrict=on`: the guest reaches nothing on the
host or beyond except through the forwards set here, so it cannot reach the metadata server
(or any other host service) directly and cannot forge the relay's instance line.

QEMU only accepts a guestfwd address inside the slirp network, so the slirp network is the
smallest one that holds both the instance's subnet and 169.254.169.254 (for 10.0.0.0/8
subnets that is 0.0.0.0/0). DHCP hands the guest spec.private_ip (dhcpstart) with that wide
netmask; a restricted slirp offers no router, so the guest treats everything as on-link and
slirp answers ARP for the gateway and the metadata address.

With `NetworkSpec.tap` set (kernel networking) the guest gets a tap device of that name
instead, made by QEMU in the host's namespace with no script; the agent's network driver moves
it into the VPC's namespace, where DHCP, routing, security groups and metadata are served.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
import sys
from pathlib import Path

from overcast.drivers.base import DriverError, NetworkSpec, PortForward

METADATA_IP = "169.254.169.254"
METADATA_PORT = 80
NETDEV_ID = "net0"
RELAY = Path(__file__).with_name("mdrelay.py")
NO_METADATA = "/bin/true"
TAP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,14}$")


def slirp_network(net: NetworkSpec) -> ipaddress.IPv4Network:
    """The smallest IPv4 network holding the subnet and the metadata address."""
    subnet = ipaddress.IPv4Network(net.subnet_cidr, strict=False)
    metadata = ipaddress.IPv4Address(METADATA_IP)
    for prefix in range(subnet.prefixlen, -1, -1):
        wide = subnet.supernet(new_prefix=prefix)
        if metadata in wide:
            return wide
    raise AssertionError("0.0.0.0/0 holds every address")


def dns_address(net: NetworkSpec) -> str:
    """An address in the subnet for slirp's DNS alias that is neither guest nor gateway."""
    subnet = ipaddress.IPv4Network(net.subnet_cidr, strict=False)
    taken = {net.private_ip, net.gateway_ip, METADATA_IP}
    for offset in (3, 4, 5):
        candidate = str(subnet.network_address + offset)
        if candidate not in taken:
            return candidate
    raise DriverError(f"subnet {net.subnet_cidr} is too small")


def validate(net: NetworkSpec) -> None:
    try:
        subnet = ipaddress.IPv4Network(net.subnet_cidr, strict=False)
        guest = ipaddress.IPv4Address(net.private_ip)
        gateway = ipaddress.IPv4Address(net.gateway_ip)
    except ValueError as exc:
        raise DriverError(f"bad network spec: {exc}") from exc
    if guest not in subnet or gateway not in subnet or guest == gateway:
        raise DriverError("private_ip and gateway_ip must be distinct addresses in subnet_cidr")
    if subnet.prefixlen > 29:
        raise DriverError(f"subnet {net.subnet_cidr} is too small (at most /29)")
    if net.tap is not None:
        if not TAP_NAME.match(net.tap):
            raise DriverError(f"not a tap device name: {net.tap!r}")
        if net.forwards:
            raise DriverError("a guest on a tap device has no port forwards")
    for fwd in net.forwards:
        if fwd.protocol not in ("tcp", "udp"):
            raise DriverError(f"unsupported forward protocol {fwd.protocol!r}")


def hostfwd_rule(fwd: PortForward, guest_ip: str) -> str:
    """`tcp:127.0.0.5:2222-10.0.0.5:22` as -netdev hostfwd= and hostfwd_add take it."""
    return f"{fwd.protocol}:{fwd.host_ip}:{fwd.host_port}-{guest_ip}:{fwd.guest_port}"


def hostfwd_key(fwd: PortForward) -> str:
    """`tcp:127.0.0.5:2222` as hostfwd_remove takes it."""
    return f"{fwd.protocol}:{fwd.host_ip}:{fwd.host_port}"


def relay_command(name: str, endpoint: tuple[str, int], key_file: Path) -> str:
    """The relay QEMU runs per guest connection. It reads the key from key_file itself: the
    key never appears on a command line."""
    host, port = endpoint
    argv = [sys.executable, "-I", "-S", str(RELAY), name, host, str(int(port)), str(key_file)]
    return shlex.join(argv)


def _opt(value: str) -> str:
    """Escape a value for QEMU's comma-separated option syntax."""
    return value.replace(",", ",,")


def netdev_arg(name: str, net: NetworkSpec, metadata: tuple[str, int] | None,
               relay_key_file: Path | None) -> str:
    if net.tap is not None:
        return f"tap,id={NETDEV_ID},ifname={net.tap},script=no,downscript=no"
    wide = slirp_network(net)
    parts = [
        f"user,id={NETDEV_ID}",
        "restrict=on",
        "ipv6=off",
        f"net={wide.with_netmask}",
        f"host={net.gateway_ip}",
        f"dhcpstart={net.private_ip}",
        f"dns={dns_address(net)}",
        f"hostname={_opt(name)}",
    ]
    parts += [f"hostfwd={_opt(hostfwd_rule(f, net.private_ip))}" for f in net.forwards]
    # Without a metadata service (or a key to reach it) the address still answers, closing
    # each connection at once, so guests fail fast instead of waiting for ARP to time out.
    command = (relay_command(name, metadata, relay_key_file)
               if metadata is not None and relay_key_file is not None else NO_METADATA)
    parts.append(f"guestfwd=tcp:{METADATA_IP}:{METADATA_PORT}-cmd:{_opt(command)}")
    return ",".join(parts)


def nic_arg(net: NetworkSpec) -> str:
    return f"virtio-net-pci,netdev={NETDEV_ID},mac={net.mac_address}"
