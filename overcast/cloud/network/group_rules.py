"""Security group rules as EC2 accepts them: protocol names and numbers, port ranges, ICMP
type/code, and one source per rule (IPv4 CIDR, IPv6 CIDR or another group); and rules changed
in place: new descriptions (UpdateSecurityGroupRuleDescriptions*) and whole rules replaced by
ID (ModifySecurityGroupRules)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from overcast.db.models_network import SecurityGroupRule
from overcast.errors import Conflict, InvalidParameter, NotFound, invalid
from overcast.identity.context import Context

if TYPE_CHECKING:
    from overcast.cloud.network.security_groups import SecurityGroups

PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
NAMED_PROTOCOLS = {"tcp", "udp", "icmp", "icmpv6"}
MAX_DESCRIPTION = 255
HOST_ADDRESS = ipaddress.ip_address("127.0.0.1")


@dataclass(frozen=True)
class GroupSource:
    group_id: str | None = None
    group_name: str | None = None
    user_id: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Permission:
    """One IpPermission as a client sends it: a protocol and ports with any number of
    sources; it becomes one rule per source."""

    protocol: str
    from_port: int | None = None
    to_port: int | None = None
    ipv4: tuple[tuple[str, str], ...] = ()  # (cidr, description)
    ipv6: tuple[tuple[str, str], ...] = ()
    groups: tuple[GroupSource, ...] = ()
    prefix_lists: tuple[str, ...] = field(default=())


# what makes two rules the same: protocol, ports, CIDRs and source group
RuleKey = tuple[str, int, int, str | None, str | None, str | None]


@dataclass(frozen=True)
class RuleSpec:
    """A checked, normalized rule before it is stored."""

    protocol: str
    from_port: int
    to_port: int
    cidr_ipv4: str | None = None
    cidr_ipv6: str | None = None
    source_group_id: str | None = None
    description: str = ""

    @property
    def key(self) -> RuleKey:
        return (self.protocol, self.from_port, self.to_port, self.cidr_ipv4, self.cidr_ipv6,
                self.source_group_id)


def rule_key(rule: SecurityGroupRule) -> RuleKey:
    return (rule.protocol, rule.from_port, rule.to_port, rule.cidr_ipv4, rule.cidr_ipv6,
            rule.source_group_id)


def normalize_protocol(raw: str | None) -> str:
    if raw is None or raw == "":
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter ipProtocol")
    value = raw.strip().lower()
    if value in ("-1", "all"):
        return "-1"
    if value in NAMED_PROTOCOLS:
        return value
    if value.isdigit() and 0 <= int(value) <= 255:
        return PROTOCOL_NUMBERS.get(str(int(value)), str(int(value)))
    raise invalid(f"Invalid value '{raw}' for IP protocol. Unknown protocol.")


def check_ports(protocol: str, low: int | None, high: int | None) -> tuple[int, int]:
    if protocol in ("tcp", "udp"):
        if low is None or high is None:
            raise invalid("Invalid value 'Must specify both from and to ports with TCP/UDP.' "
                          "for portRange.")
        if low == -1 and high == -1:
            return 0, 65535
        if not (0 <= low <= 65535 and 0 <= high <= 65535):
            raise invalid(f"Invalid value for portRange. Must specify a valid port range "
                          f"(0-65535), not {low}-{high}.")
        if low > high:
            raise invalid(f"Invalid value for portRange. The from port ({low}) must not be "
                          f"greater than the to port ({high}).")
        return low, high
    if protocol in ("icmp", "icmpv6"):
        icmp_type = -1 if low is None else low
        icmp_code = -1 if high is None else high
        if not (-1 <= icmp_type <= 255 and -1 <= icmp_code <= 255):
            raise invalid(f"Invalid value for ICMP type/code: {icmp_type}/{icmp_code}.")
        return icmp_type, icmp_code
    return -1, -1  # all protocols, or a protocol without ports


def check_cidr(cidr: str, version: int) -> str:
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        network = None
    if network is None or network.version != version or "/" not in cidr:
        name = "cidrIp" if version == 4 else "cidrIpv6"
        raise invalid(f"Value ({cidr}) for parameter {name} is invalid. "
                      "This is not a valid CIDR block.")
    return str(network)


def check_description(text: str | None) -> str:
    text = text or ""
    if len(text) > MAX_DESCRIPTION:
        raise invalid(f"The description must be at most {MAX_DESCRIPTION} characters long.")
    return text


def cidr_specs(perm: Permission, low: int, high: int) -> list[RuleSpec]:
    protocol = normalize_protocol(perm.protocol)
    specs = [RuleSpec(protocol, low, high, cidr_ipv4=check_cidr(c, 4),
                      description=check_description(d)) for c, d in perm.ipv4]
    specs += [RuleSpec(protocol, low, high, cidr_ipv6=check_cidr(c, 6),
                       description=check_description(d)) for c, d in perm.ipv6]
    return specs


def admits_host(rule: SecurityGroupRule) -> bool:
    """Does an ingress rule let traffic in from the host itself (and so from the forwards
    the agent makes on it)? True for 0.0.0.0/0 and any CIDR holding 127.0.0.1."""
    if rule.is_egress or not rule.cidr_ipv4:
        return False
    return HOST_ADDRESS in ipaddress.ip_network(rule.cidr_ipv4)


def describe_rule(spec: RuleSpec | SecurityGroupRule, peer: str) -> str:
    protocol = spec.protocol.upper() if spec.protocol != "-1" else "ALL"
    return (f'peer: {peer}, {protocol}, from port: {spec.from_port}, to port: {spec.to_port}, '
            'ALLOW')


GroupRef = tuple[str | None, str | None]


def _rule_not_found(rule_id: str) -> NotFound:
    return NotFound("InvalidSecurityGroupRuleId.NotFound",
                    f"The security group rule ID '{rule_id}' does not exist")


class RuleEdits:
    def __init__(self, groups: SecurityGroups) -> None:
        self.groups = groups

    def update_descriptions(self, ctx: Context, group_ref: GroupRef, egress: bool,
                            permissions: Sequence[Permission],
                            by_rule_id: Mapping[str, str], dry_run: bool = False) -> None:
        """Set the descriptions of existing rules, named by their permission or their ID."""
        groups = self.groups
        groups.vpcs.ensure_defaults(ctx.project_id)
        with groups.db.session() as s:
            group = groups.find(s, ctx, *group_ref, lock=True)
            existing = groups.rules_of(s, group.id, egress)
            changes: list[tuple[SecurityGroupRule, str]] = []
            if by_rule_id:
                found = {r.id: r for r in existing}
                for rule_id, text in by_rule_id.items():
                    if rule_id not in found:
                        raise _rule_not_found(rule_id)
                    changes.append((found[rule_id], check_description(text)))
            else:
                by_key = {rule_key(r): r for r in existing}
                for spec in groups.specs(s, ctx, group, permissions):
                    if spec.key not in by_key:
                        raise NotFound("InvalidPermission.NotFound",
                                       "The specified rule does not exist in this security "
                                       "group.")
                    changes.append((by_key[spec.key], spec.description))
            if not dry_run:
                for rule, text in changes:
                    rule.description = text

    def modify(self, ctx: Context, group_id: str | None,
               updates: Sequence[tuple[str, Permission]], dry_run: bool = False) -> None:
        """Replace rules by ID with new ones (one source each), keeping their IDs."""
        groups = self.groups
        groups.vpcs.ensure_defaults(ctx.project_id)
        with groups.db.session() as s:
            group = groups.find(s, ctx, group_id, None, lock=True)
            current = {r.id: r for r in s.scalars(select(SecurityGroupRule).where(
                SecurityGroupRule.group_id == group.id))}
            for rule_id, permission in updates:
                rule = current.get(rule_id)
                if rule is None:
                    raise _rule_not_found(rule_id)
                spec = groups.specs(s, ctx, group, [permission])[0]
                taken = {rule_key(r) for r in current.values()
                         if r.is_egress == rule.is_egress and r.id != rule.id}
                if spec.key in taken:
                    raise Conflict("InvalidPermission.Duplicate",
                                   f"the specified rule \"{describe_rule(spec, rule_id)}\""
                                   " already exists")
                if not dry_run:
                    _apply(rule, spec)
        if not dry_run:
            groups.on_change()


def _apply(rule: SecurityGroupRule, spec: RuleSpec) -> None:
    rule.protocol, rule.from_port, rule.to_port = spec.protocol, spec.from_port, spec.to_port
    rule.cidr_ipv4, rule.cidr_ipv6 = spec.cidr_ipv4, spec.cidr_ipv6
    rule.source_group_id, rule.description = spec.source_group_id, spec.description
