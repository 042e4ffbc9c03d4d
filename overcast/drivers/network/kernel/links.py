"""A VPC's namespace and its routed ports: devices, addresses, routes, neighbours, VXLAN.

Each port's tap is a point-to-point link into the namespace: the subnet's gateway address sits
on it with the subnet's prefix but no prefix route (`noprefixroute`, so DHCP sees the subnet),
each instance address gets a /32 route and a permanent neighbour entry, and proxy ARP answers
the guest for every other address. So every packet between two instances is routed and passes
the namespace's forward hook, where the security groups are.
"""

from __future__ import annotations

import ipaddress

from overcast.drivers.network.kernel import commands, names
from overcast.drivers.network.spec import VpcSpec

VXLAN_PORT = "4789"
METADATA_IP = "169.254.169.254"
MOVABLE_KINDS = ("tun", "veth")


def ensure_namespace(netns: str) -> None:
    if netns not in commands.namespaces():
        commands.ip(None, "netns", "add", netns)
    # the metadata address is the router's own: the metadata relays listen on it
    commands.ip_batch(netns, ["link set lo up", f"addr replace {METADATA_IP}/32 dev lo"])
    commands.sysctl(netns, {"net.ipv4.ip_forward": "1",
                            "net.ipv6.conf.all.disable_ipv6": "1",
                            "net.ipv6.conf.default.disable_ipv6": "1"})


def remove_namespace(netns: str) -> None:
    if netns in commands.namespaces():
        commands.ip(None, "netns", "del", netns)


def converge_ports(netns: str, vpc: VpcSpec) -> list[str]:
    """Bring each port's device into the namespace and route it; the IDs of ports whose
    device does not exist yet."""
    present = {link["ifname"] for link in commands.ip_json(netns, "link", "show")}
    # only a tap or veth is ever taken from the host: never one of its real interfaces
    outside = {link["ifname"] for link in commands.ip_json(None, "-d", "link", "show")
               if link.get("linkinfo", {}).get("info_kind") in MOVABLE_KINDS}
    pending, lines, settings = [], [], {}
    for port in vpc.ports:
        device = names.check_device(port.device)
        if device not in present:
            if device not in outside:
                pending.append(port.id)
                continue
            commands.ip(None, "link", "set", device, "netns", netns)
        subnet = vpc.subnet(port.subnet_id)
        prefix = ipaddress.IPv4Network(subnet.cidr, strict=False).prefixlen
        lines += [f"link set {device} up",
                  f"addr replace {subnet.gateway_ip}/{prefix} dev {device} noprefixroute"]
        for address in port.addresses:
            lines += [f"route replace {address}/32 dev {device}",
                      f"neigh replace {address} lladdr {port.mac} dev {device} nud permanent"]
        settings[f"net.ipv4.conf.{device}.proxy_arp"] = "1"
        settings[f"net.ipv4.neigh.{device}.proxy_delay"] = "0"  # else up to 0.8 s per ARP
    commands.ip_batch(netns, lines)
    commands.sysctl(netns, settings)
    wanted = {port.device for port in vpc.ports} | {"lo", names.VXLAN_DEVICE,
                                                    names.PUBLIC_DEVICE}
    for device in sorted(present - wanted):
        commands.ip(netns, "link", "del", device, check=False)
    return pending


def converge_vxlan(netns: str, vpc: VpcSpec, underlay_ip: str | None,
                   underlay_netns: str | None) -> bool:
    """A VXLAN device (the VPC's VNI) with routes to the remote ports, made only when the VPC
    has ports on other hosts. True when the device is there."""
    present = any(link["ifname"] == names.VXLAN_DEVICE
                  for link in commands.ip_json(netns, "link", "show"))
    if not vpc.remote_ports or not underlay_ip:
        if present:
            commands.ip(netns, "link", "del", names.VXLAN_DEVICE)
        return False
    if not present:
        made = f"ocx{vpc.vni}"[:15]  # its name outside, for a moment
        commands.ip(underlay_netns, "link", "add", made, "type", "vxlan", "id", str(vpc.vni),
                    "local", underlay_ip, "dstport", VXLAN_PORT, "nolearning")
        commands.ip(underlay_netns, "link", "set", made, "netns", netns)
        commands.ip_batch(netns, [
            f"link set {made} name {names.VXLAN_DEVICE}",
            f"link set {names.VXLAN_DEVICE} address {names.router_mac(vpc.vni, underlay_ip)}",
            f"link set {names.VXLAN_DEVICE} up"])
    lines, fdb = [], []
    for port in vpc.remote_ports:
        mac = names.router_mac(vpc.vni, port.host_ip)
        fdb.append(f"fdb replace {mac} dev {names.VXLAN_DEVICE} dst {port.host_ip} self permanent")
        for address in port.addresses:
            lines += [f"route replace {address}/32 dev {names.VXLAN_DEVICE}",
                      f"neigh replace {address} lladdr {mac} dev {names.VXLAN_DEVICE} "
                      "nud permanent"]
    commands.ip_batch(netns, lines)
    commands.run(["bridge", "-n", netns, "-batch", "-"], stdin="\n".join(sorted(set(fdb))) + "\n")
    return True


def remove_stale_routes(netns: str, vpc: VpcSpec) -> None:
    """Drop host routes to addresses no port of the VPC has any more."""
    wanted = {address for port in vpc.all_ports() for address in port.addresses}
    for route in commands.ip_json(netns, "route", "show"):
        dst = route.get("dst", "")
        if "/" not in dst and dst != "default" and dst not in wanted:
            commands.ip(netns, "route", "del", f"{dst}/32", "dev", route["dev"], check=False)
