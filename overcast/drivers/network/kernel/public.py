"""The public network in the kernel backend: a VPC router's leg on it, and what the VPC's
internet gateway and NAT gateways do there.

The leg is a veth pair: `pub0` in the VPC's namespace, its peer joined to the public bridge.
The router holds each public address it translates as a /32 on pub0 and answers ARP for those
alone (arp_ignore=1); it routes the public CIDR on the leg and everything else through the
public network's gateway (the uplink).

The VPC's table `inet overcast_pub` does the rest:
- `to_private` (prerouting): a public address of a port in a subnet routed to the internet
  gateway is translated 1:1 to its private address; `to_public` (postrouting) does the reverse
  for what the port sends out, and masquerades each NAT gateway's subnets as its address;
- `uplink` (forward, before the security groups): only those translated flows and replies cross
  the leg. A port whose subnet has no 0.0.0.0/0 route to the internet gateway (or a NAT
  gateway) has no way in or out. What comes in is then judged by the receiving port's groups
  (firewall.py accepts the leg's side of each flow as it does VXLAN's).
"""

from __future__ import annotations

import dataclasses
import ipaddress

from overcast.drivers.network.kernel import checks, commands, names, nftables
from overcast.drivers.network.kernel.firewall import NftObject
from overcast.drivers.network.spec import PublicMapping, PublicNetwork, VpcPublicSpec, VpcSpec

TABLE = "overcast_pub"
LEG = f'"{names.PUBLIC_DEVICE}"'


def ensure_bridge(public: PublicNetwork) -> None:
    """The cloud's own public network (own_bridge): a namespace holding the bridge, with the
    gateway address on it. A bridge that is not the driver's own is left as it is."""
    if not public.own_bridge:
        return
    netns = public.bridge_netns
    if netns is not None and netns not in commands.namespaces():
        commands.ip(None, "netns", "add", netns)
    present = {link["ifname"] for link in commands.ip_json(netns, "link", "show")}
    prefix = checks.network(public.cidr).prefixlen
    lines = [] if public.bridge in present else [f"link add {public.bridge} type bridge"]
    lines += [f"link set {public.bridge} up",
              f"addr replace {checks.address(public.gateway_ip)}/{prefix} dev {public.bridge}"]
    commands.ip_batch(netns, lines)


def remove_bridge(public: PublicNetwork) -> None:
    if not public.own_bridge:
        return
    if public.bridge_netns is None:
        commands.ip(None, "link", "del", public.bridge, check=False)
    elif public.bridge_netns in commands.namespaces():
        commands.ip(None, "netns", "del", public.bridge_netns)


def within(wanted: VpcPublicSpec | None,
           public: PublicNetwork | None) -> VpcPublicSpec | None:
    """What of a VPC's public part this host can do: nothing without a public network, and
    only the public addresses that lie in its CIDR."""
    if wanted is None or public is None:
        return None
    cidr = checks.network(public.cidr)

    def ours(address: str) -> bool:
        return ipaddress.IPv4Address(checks.address(address)) in cidr
    return dataclasses.replace(
        wanted, mappings=tuple(m for m in wanted.mappings if ours(m.public_ip)),
        nat_gateways=tuple(n for n in wanted.nat_gateways if ours(n.public_ip)))


def converge_leg(netns: str, vpc: VpcSpec, public: PublicNetwork | None) -> bool:
    """The VPC router's leg, with exactly the public addresses it translates; removed when the
    VPC wants none (or the host has no public network). True when the leg is there."""
    leg = names.PUBLIC_DEVICE
    present = any(link["ifname"] == leg for link in commands.ip_json(netns, "link", "show"))
    if vpc.public is None or public is None:
        if present:
            commands.ip(netns, "link", "del", leg)  # its peer goes with it
        return False
    if not present:
        peer = names.public_peer(netns)
        commands.ip(public.bridge_netns, "link", "del", peer, check=False)  # left by a crash
        commands.ip(None, "link", "add", leg, "netns", netns, "type", "veth", "peer", "name",
                    peer, *(["netns", public.bridge_netns] if public.bridge_netns else []))
        commands.ip(public.bridge_netns, "link", "set", peer, "master", public.bridge, "up")
    wanted = {f"{address}/32" for address in public_addresses(vpc.public)}
    held = {f"{a['local']}/{a['prefixlen']}" for link in commands.ip_json(
        netns, "addr", "show", "dev", leg) for a in link.get("addr_info", [])}
    cidr = checks.network(public.cidr)
    commands.ip_batch(netns, [
        f"link set {leg} up",
        *(f"addr replace {address} dev {leg}" for address in sorted(wanted)),
        *(f"addr del {address} dev {leg}" for address in sorted(held - wanted)),
        f"route replace {cidr} dev {leg}",
        f"route replace default via {checks.address(public.gateway_ip)} dev {leg}"])
    commands.sysctl(netns, {f"net.ipv4.conf.{leg}.arp_ignore": "1",
                            f"net.ipv4.conf.{leg}.arp_announce": "2"})
    return True


def converge_table(netns: str, vpc: VpcSpec) -> None:
    """The VPC's `inet overcast_pub` table as render() says; none without a leg."""
    if vpc.public is not None:
        nftables.converge(netns, "inet", TABLE, render(vpc.cidr, vpc.public))
    elif any(item.get("table", {}).get("name") == TABLE
             for item in commands.nft_json(netns, "list", "tables", "inet")):
        commands.nft(netns, f"delete table inet {TABLE}\n")


def translated(public: VpcPublicSpec) -> list[PublicMapping]:
    """The mappings of ports in subnets routed to the internet gateway."""
    internet = [checks.network(cidr) for cidr in public.internet_cidrs]
    return [m for m in public.mappings
            if any(ipaddress.IPv4Address(checks.address(m.private_ip)) in net
                   for net in internet)]


def public_addresses(public: VpcPublicSpec) -> list[str]:
    """The addresses the router answers for: translated mappings and NAT gateways in use."""
    return sorted({checks.address(m.public_ip) for m in translated(public)}
                  | {checks.address(n.public_ip) for n in public.nat_gateways if n.subnet_cidrs})


def render(vpc_cidr: str, public: VpcPublicSpec) -> list[NftObject]:
    """Every object of the VPC's `inet overcast_pub` table (pure)."""
    mappings = translated(public)
    dnat = tuple(f"iifname {LEG} ip daddr {m.public_ip} dnat ip to {m.private_ip}"
                 for m in mappings)
    snat = [f"oifname {LEG} ip saddr {m.private_ip} snat ip to {m.public_ip}"
            for m in mappings]
    leaving = [m.private_ip for m in mappings]
    for nat in public.nat_gateways:
        for cidr in nat.subnet_cidrs:
            net = checks.network(cidr)
            snat.append(f"oifname {LEG} ip saddr {net} snat ip to "
                        f"{checks.address(nat.public_ip)}")
            leaving.append(str(net))
    uplink = ["ct state established,related accept",
              f"iifname {LEG} ct status dnat accept",  # only translated flows come in
              f"iifname {LEG} drop",
              f"oifname {LEG} ip daddr {checks.network(vpc_cidr)} drop"]
    if leaving:
        uplink.append(f"oifname {LEG} ip saddr {{ {', '.join(leaving)} }} accept")
    uplink.append(f"oifname {LEG} drop")
    inbound = ("ct state established,related accept", f"iifname {LEG} drop")  # the router's
    return [
        NftObject("chain", "to_private",
                  "type nat hook prerouting priority dstnat; policy accept;", dnat),
        NftObject("chain", "to_public",
                  "type nat hook postrouting priority srcnat; policy accept;", tuple(snat)),
        NftObject("chain", "uplink", "type filter hook forward priority -20; policy accept;",
                  tuple(uplink)),
        # own DNS, DHCP and metadata serve the VPC's ports, never the public network
        NftObject("chain", "inbound", "type filter hook input priority -10; policy accept;",
                  inbound),
    ]
