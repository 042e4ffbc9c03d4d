"""Security groups as nftables objects for one VPC's namespace (pure: renders, runs nothing).

Routed traffic between ports passes the namespace's forward hook twice over: the `egress` base
chain (priority -10) asks the sending port's groups, the `ingress` base chain (priority 0)
the receiving port's. `accept` only ends one base chain, a drop is final, so a packet passes
when both agree. Conntrack accepts replies and related ICMP first, so groups are stateful.
`guard` (prerouting) drops what a port sends from an address or MAC that is not its own, and
the ARP table does the same for ARP. Each group is a pair of chains (sg_<id>_in/_out) and a set
of its members' addresses (members_<id>) that group-sourced rules match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from overcast.drivers.network.base import NetworkError
from overcast.drivers.network.kernel import checks, names
from overcast.drivers.network.spec import ALL_PROTOCOLS, PortSpec, Rule, VpcSpec

TABLE = "overcast"
OTHER_PROTOCOLS = ("sctp", "gre", "esp", "ah")
PROTOCOL_NAMES = {"6": "tcp", "17": "udp", "1": "icmp", "all": ALL_PROTOCOLS}


@dataclass(frozen=True)
class NftObject:
    kind: str  # "chain" or "set"
    name: str
    hook: str = ""  # for base chains: "type filter hook ... priority ...; policy ...;"
    rules: tuple[str, ...] = ()
    elements: frozenset[str] = field(default_factory=frozenset)


def render_inet(vpc: VpcSpec, vxlan: bool) -> list[NftObject]:
    """Every object of the VPC's `inet` table."""
    objects = [*_base_chains(vpc, vxlan)]
    for port in vpc.ports:
        objects += _port_chains(port)
    group_ids = {g.id for g in vpc.security_groups}
    group_ids |= {r.group_id for g in vpc.security_groups for r in (*g.ingress, *g.egress)
                  if r.group_id}
    for group_id in sorted(group_ids):
        objects.append(NftObject("set", f"members_{names.ident(group_id)}",
                                 elements=frozenset(map(checks.address,
                                                        vpc.member_addresses(group_id)))))
    for group in vpc.security_groups:
        gid = names.ident(group.id)
        objects.append(NftObject("chain", f"sg_{gid}_in",
                                 rules=tuple(_rule(r, "saddr") for r in group.ingress
                                             if _is_ipv4(r))))
        objects.append(NftObject("chain", f"sg_{gid}_out",
                                 rules=tuple(_rule(r, "daddr") for r in group.egress
                                             if _is_ipv4(r))))
    return objects


def render_arp(vpc: VpcSpec) -> list[NftObject]:
    """The VPC's `arp` table: a port may only claim its own MAC and addresses."""
    rules: list[str] = []
    for port in vpc.ports:
        dev = _quoted(names.check_device(port.device))
        rules.append(f"iifname {dev} arp saddr ether != {checks.mac(port.mac)} drop")
        # 0.0.0.0: a DHCP client's probe of its offered address
        own = ", ".join([*map(checks.address, port.addresses), "0.0.0.0"])
        rules.append(f"iifname {dev} arp saddr ip != {{ {own} }} drop")
    return [NftObject("chain", "guard", "type filter hook input priority 0; policy accept;",
                      tuple(rules))]


def _base_chains(vpc: VpcSpec, vxlan: bool) -> list[NftObject]:
    guard: list[str] = []
    egress = ["ct state established,related accept", "ct state invalid drop"]
    ingress = ["ct state established,related accept"]
    for port in vpc.ports:
        dev, chain = _quoted(names.check_device(port.device)), _port_chain(port)
        guard.append(f"iifname {dev} jump {chain}_guard")
        egress.append(f"iifname {dev} jump {chain}_out")
        ingress.append(f"oifname {dev} jump {chain}_in")
    if vxlan:  # the sending host asked the sender's groups; the receiving host asks the rest
        egress.append(f"iifname {_quoted(names.VXLAN_DEVICE)} accept")
        ingress.append(f"oifname {_quoted(names.VXLAN_DEVICE)} accept")
    if vpc.public is not None:  # the public network: its own table (public.py) decides
        egress.append(f"iifname {_quoted(names.PUBLIC_DEVICE)} accept")
        ingress.append(f"oifname {_quoted(names.PUBLIC_DEVICE)} accept")
    local = ["ct state established,related accept", 'iifname "lo" accept',
             "udp dport 67 accept", "udp dport 53 accept", "tcp dport 53 accept",
             "icmp type echo-request accept",
             "ip daddr 169.254.169.254 tcp dport 80 accept"]  # the port's metadata relay
    return [
        NftObject("chain", "guard", "type filter hook prerouting priority -300; policy accept;",
                  tuple(guard)),
        NftObject("chain", "egress", "type filter hook forward priority -10; policy drop;",
                  tuple(egress)),
        NftObject("chain", "ingress", "type filter hook forward priority 0; policy drop;",
                  tuple(ingress)),
        NftObject("chain", "local_in", "type filter hook input priority 0; policy drop;",
                  tuple(local)),
    ]


def _port_chains(port: PortSpec) -> list[NftObject]:
    chain = _port_chain(port)
    own = ", ".join(map(checks.address, port.addresses))
    guard = (f"ether saddr != {checks.mac(port.mac)} drop",
             *([f"ip saddr {{ {own} }} return"] if own else []),
             "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return",
             "drop")  # anything else: another address, IPv6, another ethertype
    groups = [names.ident(g) for g in port.security_group_ids]
    return [NftObject("chain", f"{chain}_guard", rules=guard),
            NftObject("chain", f"{chain}_out",
                      rules=(*(f"jump sg_{g}_out" for g in groups), "drop")),
            NftObject("chain", f"{chain}_in",
                      rules=(*(f"jump sg_{g}_in" for g in groups), "drop"))]


def _port_chain(port: PortSpec) -> str:
    return f"port_{names.ident(names.check_device(port.device))}"


def _is_ipv4(rule: Rule) -> bool:
    return rule.group_id is not None or (rule.cidr is not None and ":" not in rule.cidr)


def _rule(rule: Rule, direction: str) -> str:
    """One rule as an nftables rule; `direction` is saddr (ingress) or daddr (egress)."""
    if rule.group_id:
        peer = f"ip {direction} @members_{names.ident(rule.group_id)} "
    elif rule.cidr in (None, "0.0.0.0/0"):
        peer = "meta nfproto ipv4 "
    else:
        peer = f"ip {direction} {checks.network(rule.cidr)} "
    return f"{peer}{_protocol_match(rule)}accept"


def _protocol_match(rule: Rule) -> str:
    protocol = PROTOCOL_NAMES.get(rule.protocol.lower(), rule.protocol.lower())
    if protocol == ALL_PROTOCOLS:
        return ""
    if protocol in ("tcp", "udp"):
        low, high = rule.from_port, rule.to_port
        if low in (-1, 0) and high in (-1, 65535):
            return f"meta l4proto {protocol} "
        return f"{protocol} dport {low} " if low == high else f"{protocol} dport {low}-{high} "
    if protocol == "icmp":
        if rule.from_port == -1:
            return "meta l4proto icmp "
        code = f"icmp code {rule.to_port} " if rule.to_port != -1 else ""
        return f"icmp type {rule.from_port} {code}"
    if protocol.isdigit() and int(protocol) < 256:
        return f"meta l4proto {int(protocol)} "
    if protocol in OTHER_PROTOCOLS:
        return f"meta l4proto {protocol} "
    raise NetworkError(f"unknown protocol {rule.protocol!r}")


def _quoted(device: str) -> str:
    return f'"{device}"'
