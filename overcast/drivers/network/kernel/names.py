"""Names of what the kernel backend makes, derived from Overcast IDs."""

from __future__ import annotations

import hashlib
import re

from overcast.drivers.network.base import NetworkError

NETNS_PREFIX = "ocv-"
VXLAN_DEVICE = "vx0"  # inside the VPC's namespace
PUBLIC_DEVICE = "pub0"  # inside the VPC's namespace: its leg on the public network
IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,14}$")  # no dots: sysctl keys


def namespace(vpc_id: str, prefix: str = NETNS_PREFIX) -> str:
    """The namespace that routes a VPC: ocv-<the hex of its ID>."""
    suffix = vpc_id.removeprefix("vpc-")
    if not re.fullmatch(r"[0-9a-z]{1,40}", suffix):
        raise NetworkError(f"not a VPC ID: {vpc_id!r}")
    return prefix + suffix


def check_device(name: str) -> str:
    if not IFNAME.match(name) or name in ("lo", VXLAN_DEVICE, PUBLIC_DEVICE):
        raise NetworkError(f"not a usable device name: {name!r}")
    return name


def ident(text: str) -> str:
    """An nftables identifier from an ID or device name."""
    return re.sub(r"[^A-Za-z0-9]", "_", text)


def router_mac(vni: int, host_ip: str) -> str:
    """The MAC of a VPC's router (its VXLAN device) on one host: locally administered, the
    same wherever it is computed, so every host knows every other host's without asking."""
    digest = hashlib.sha256(f"{vni}/{host_ip}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def public_peer(netns: str) -> str:
    """The name of a VPC router's public leg where it joins the public bridge: the same for
    one namespace wherever it is computed, at most 15 characters."""
    return "ocp" + hashlib.sha256(netns.encode()).hexdigest()[:12]
