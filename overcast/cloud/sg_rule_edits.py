"""Changing rules in place: new descriptions (UpdateSecurityGroupRuleDescriptions*) and whole
rules replaced by ID (ModifySecurityGroupRules)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from overcast.cloud import sg_rules as rules
from overcast.cloud.security_groups import SecurityGroups
from overcast.db.models_network import SecurityGroupRule
from overcast.errors import Conflict, NotFound
from overcast.identity.context import Context

GroupRef = tuple[str | None, str | None]


def _rule_not_found(rule_id: str) -> NotFound:
    return NotFound("InvalidSecurityGroupRuleId.NotFound",
                    f"The security group rule ID '{rule_id}' does not exist")


class RuleEdits:
    def __init__(self, groups: SecurityGroups) -> None:
        self.groups = groups

    def update_descriptions(self, ctx: Context, group_ref: GroupRef, egress: bool,
                            permissions: Sequence[rules.Permission],
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
                    changes.append((found[rule_id], rules.check_description(text)))
            else:
                by_key = {rules.rule_key(r): r for r in existing}
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
               updates: Sequence[tuple[str, rules.Permission]], dry_run: bool = False) -> None:
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
                taken = {rules.rule_key(r) for r in current.values()
                         if r.is_egress == rule.is_egress and r.id != rule.id}
                if spec.key in taken:
                    raise Conflict("InvalidPermission.Duplicate",
                                   f"the specified rule \"{rules.describe_rule(spec, rule_id)}\""
                                   " already exists")
                if not dry_run:
                    _apply(rule, spec)
        if not dry_run:
            groups.on_change()


def _apply(rule: SecurityGroupRule, spec: rules.RuleSpec) -> None:
    rule.protocol, rule.from_port, rule.to_port = spec.protocol, spec.from_port, spec.to_port
    rule.cidr_ipv4, rule.cidr_ipv6 = spec.cidr_ipv4, spec.cidr_ipv6
    rule.source_group_id, rule.description = spec.source_group_id, spec.description
