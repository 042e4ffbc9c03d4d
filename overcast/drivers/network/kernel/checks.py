"""Checks of the values that reach command lines, nft scripts and dnsmasq files."""

from __future__ import annotations

import ipaddress
import re

from overcast.drivers.network.base import NetworkError
from overcast.drivers.network.kernel import names
from overcast.drivers.network.spec import VpcSpec

MAC = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")
DOMAIN = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$")


def address(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError as exc:
        raise NetworkError(f"not an IPv4 address: {text!r}") from exc


def mac(text: str) -> str:
    if not MAC.match(text):
        raise NetworkError(f"not a MAC address: {text!r}")
    return text.lower()


def network(text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text, strict=False)
    except ValueError as exc:
        raise NetworkError(f"not an IPv4 CIDR: {text!r}") from exc


def vpc(spec: VpcSpec) -> None:
    """Raise NetworkError unless every value of the VPC is well formed and consistent."""
    names.namespace(spec.id)
    if not 0 < spec.vni < 2**24:
        raise NetworkError(f"VNI out of range: {spec.vni}")
    if not DOMAIN.match(spec.dns_domain):
        raise NetworkError(f"not a DNS domain: {spec.dns_domain!r}")
    for subnet in spec.subnets:
        if network(subnet.cidr).network_address.version != 4 or \
                ipaddress.IPv4Address(address(subnet.gateway_ip)) not in network(subnet.cidr):
            raise NetworkError(f"gateway {subnet.gateway_ip} is not in {subnet.cidr}")
        for server in subnet.dns_servers:
            address(server)
    subnet_ids = {subnet.id for subnet in spec.subnets}
    devices = [port.device for port in spec.ports]
    if len(set(devices)) != len(devices):
        raise NetworkError("two ports share a device")
    for port in spec.ports:
        names.check_device(port.device)
        mac(port.mac)
        if port.subnet_id not in subnet_ids:
            raise NetworkError(f"port {port.id}: unknown subnet {port.subnet_id}")
        for text in port.addresses:
            address(text)
    for remote in spec.remote_ports:
        address(remote.host_ip)
        for text in remote.addresses:
            address(text)
