"""Security groups: per-VPC named sets of ingress and egress rules, which instances belong to,
and what the agent opens on each instance's public address."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network import group_rules as rules
from overcast.cloud.network.records import RuleRecord
from overcast.cloud.network.vpcs import DEFAULT_GROUP_NAME, Vpcs
from overcast.db import Database, utcnow
from overcast.db.models import Instance, Tag
from overcast.db.models_network import (
    InstanceSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    Vpc,
)
from overcast.errors import Conflict, InvalidParameter, NotFound, QuotaExceeded, invalid
from overcast.identity.context import Context
from overcast.ids import is_well_formed, new_id
from overcast.lifecycle import State

MAX_RULES = 60  # per direction, as AWS's default quota
MAX_GROUPS_PER_VPC = 2500
MAX_GROUPS_PER_INSTANCE = 5
# A VPC's groups of a project, share-locked (a group cannot be deleted while an instance joins
# it); built once: every launch runs it.
_GROUPS_OF_VPC = select(SecurityGroup).where(
    SecurityGroup.project_id == bindparam("project"),
    SecurityGroup.vpc_id == bindparam("vpc")).with_for_update(read=True)
_NAME_CHARS = re.compile(r"^[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")


@dataclass
class GroupView:
    """A group with its rules, and the names of the groups its rules refer to."""

    group: SecurityGroup
    ingress: list[RuleRecord]
    egress: list[RuleRecord]
    names: dict[str, str]  # group id -> name, for referenced groups
    owner_id: str


def _perm_values(direction: str, pick: Callable[[RuleRecord, GroupView], object]
                 ) -> Callable[[flt.Tagged[GroupView]], list[str]]:
    def extract(t: flt.Tagged[GroupView]) -> list[str]:
        found = getattr(t.item, direction)
        return [str(v) for v in (pick(r, t.item) for r in found) if v is not None]
    return extract


def _permission_filters(prefix: str, direction: str) -> dict[str, flt.Extractor]:
    return {
        f"{prefix}.cidr": _perm_values(direction, lambda r, v: r.cidr_ipv4),
        f"{prefix}.ipv6-cidr": _perm_values(direction, lambda r, v: r.cidr_ipv6),
        f"{prefix}.from-port": _perm_values(direction, lambda r, v: r.from_port),
        f"{prefix}.to-port": _perm_values(direction, lambda r, v: r.to_port),
        f"{prefix}.protocol": _perm_values(direction, lambda r, v: r.protocol),
        f"{prefix}.group-id": _perm_values(direction, lambda r, v: r.source_group_id),
        f"{prefix}.group-name": _perm_values(
            direction, lambda r, v: v.names.get(r.source_group_id or "")),
        f"{prefix}.user-id": _perm_values(
            direction, lambda r, v: v.owner_id if r.source_group_id else None),
        f"{prefix}.prefix-list-id": lambda t: [],
    }


GROUP_FILTERS: dict[str, flt.Extractor] = {
    "group-id": lambda t: t.item.group.id,
    "group-name": lambda t: t.item.group.name,
    "description": lambda t: t.item.group.description,
    "vpc-id": lambda t: t.item.group.vpc_id,
    "owner-id": lambda t: t.item.owner_id,
    **_permission_filters("ip-permission", "ingress"),
    **_permission_filters("egress.ip-permission", "egress"),
}
RULE_FILTERS: dict[str, flt.Extractor] = {
    "group-id": lambda t: t.item.group_id,
    "security-group-rule-id": lambda t: t.item.id,
}


def check_group_ids(ids: Sequence[str]) -> None:
    for gid in ids:
        if not is_well_formed(gid, "sg"):
            raise InvalidParameter("InvalidGroupId.Malformed",
                                   f'Invalid id: "{gid}" (expecting "sg-...")')


def _group_not_found(what: str, vpc_id: str | None = None) -> NotFound:
    where = f" in default VPC '{vpc_id}'" if vpc_id else ""
    return NotFound("InvalidGroup.NotFound", f"The security group '{what}' does not exist{where}")


def _check_name(name: str | None, description: str | None) -> tuple[str, str]:
    if not name:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter GroupName")
    if description is None or description == "":
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter GroupDescription")
    if len(name) > 255 or not _NAME_CHARS.match(name):
        raise invalid(f"Value ({name}) for parameter GroupName is invalid. Character sets "
                      "beyond ASCII are not supported, nor are names over 255 characters.")
    if name.lower().startswith("sg-"):
        raise invalid("Group names may not be in the format sg-*")
    if name == DEFAULT_GROUP_NAME:
        raise invalid("Cannot use reserved security group name: default")
    if len(description) > 255 or not _NAME_CHARS.match(description):
        raise invalid(f"Value ({description}) for parameter GroupDescription is invalid. "
                      "Character sets beyond ASCII are not supported.")
    return name, description


AnyRule = TypeVar("AnyRule", SecurityGroupRule, RuleRecord)


class InVpc(Protocol):
    """An instance as far as its groups go: its ID and its VPC."""

    @property
    def id(self) -> str: ...

    @property
    def vpc_id(self) -> str | None: ...


class SecurityGroups:
    def __init__(self, db: Database, vpcs: Vpcs, on_change: Callable[[], None]) -> None:
        self.db, self.vpcs, self.on_change = db, vpcs, on_change

    # finding groups ---------------------------------------------------------------------
    @staticmethod
    def _vpc(s: Session, ctx: Context, vpc_id: str, lock: bool = False) -> Vpc:
        if not is_well_formed(vpc_id, "vpc"):
            raise InvalidParameter("InvalidVpcID.Malformed",
                                   f'Invalid id: "{vpc_id}" (expecting "vpc-...")')
        query = select(Vpc).where(Vpc.id == vpc_id, Vpc.project_id == ctx.project_id)
        vpc = s.scalar(query.with_for_update() if lock else query)  # lock: one name at a time
        if vpc is None:
            raise NotFound("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
        return vpc

    def find(self, s: Session, ctx: Context, group_id: str | None,
             group_name: str | None, lock: bool = False) -> SecurityGroup:
        """A group of the project by ID, or by name in the default VPC (call
        `self.vpcs.ensure_defaults` before opening the session)."""
        default_vpc = self.vpcs.default_vpc_in(s, ctx.project_id)
        query = select(SecurityGroup).where(SecurityGroup.project_id == ctx.project_id)
        if group_id:
            check_group_ids([group_id])
            query = query.where(SecurityGroup.id == group_id)
        elif group_name:
            query = query.where(SecurityGroup.vpc_id == default_vpc,
                                SecurityGroup.name == group_name)
        else:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter groupName or "
                                   "groupId")
        group = s.scalar(query.with_for_update() if lock else query)
        if group is None:
            raise (_group_not_found(group_id) if group_id else
                   _group_not_found(str(group_name), default_vpc))
        return group

    def get(self, ctx: Context, group_id: str | None, group_name: str | None) -> SecurityGroup:
        self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            return self.find(s, ctx, group_id, group_name)

    def exists(self, s: Session, ctx: Context, group_id: str) -> bool:
        return s.scalar(select(SecurityGroup.id).where(
            SecurityGroup.id == group_id, SecurityGroup.project_id == ctx.project_id)) \
            is not None

    # create and delete ------------------------------------------------------------------
    def create(self, ctx: Context, name: str | None, description: str | None,
               vpc_id: str | None = None, tags: dict[str, str] | None = None,
               dry_run: bool = False) -> SecurityGroup:
        name, description = _check_name(name, description)
        tagsvc.validate(tags or {})
        default_vpc = self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            vpc = self._vpc(s, ctx, vpc_id or default_vpc, lock=True)
            if dry_run:
                return SecurityGroup(id="", vpc_id=vpc.id, name=name)
            names = set(s.scalars(select(SecurityGroup.name).where(
                SecurityGroup.vpc_id == vpc.id)))
            if name in names:
                raise Conflict("InvalidGroup.Duplicate",
                               f"The security group '{name}' already exists for VPC "
                               f"'{vpc.id}'")
            if len(names) >= MAX_GROUPS_PER_VPC:
                raise QuotaExceeded("SecurityGroupLimitExceeded",
                                    "You have reached the maximum number of security groups "
                                    "in this VPC.")
            now = utcnow()
            group = SecurityGroup(id=new_id("sg"), project_id=ctx.project_id, vpc_id=vpc.id,
                                  name=name, description=description, created_at=now)
            s.add(group)
            s.flush()
            s.add(SecurityGroupRule(id=new_id("sgr"), group_id=group.id,
                                    project_id=ctx.project_id, is_egress=True, protocol="-1",
                                    from_port=-1, to_port=-1, cidr_ipv4="0.0.0.0/0",
                                    description="", created_at=now))
            if tags:
                tagsvc.add(s, ctx.project_id, group.id, tags)
        return group

    def rename(self, ctx: Context, group_id: str, name: str | None,
               description: str | None) -> None:
        """A new name and/or description (Neutron's update; EC2 has no such call). Names stay
        unique in the VPC and the default group keeps its name."""
        with self.db.session() as s:
            group = self.find(s, ctx, group_id, None, lock=True)
            new_name = group.name if name is None else name
            new_description = group.description if description is None else description
            if new_name != group.name:
                if group.name == DEFAULT_GROUP_NAME:
                    raise Conflict("CannotRename", "The default security group keeps its name.")
                _check_name(new_name, new_description)
                taken = s.scalar(select(SecurityGroup.id).where(
                    SecurityGroup.vpc_id == group.vpc_id, SecurityGroup.name == new_name))
                if taken:
                    raise Conflict("InvalidGroup.Duplicate", f"The security group '{new_name}' "
                                   f"already exists for VPC '{group.vpc_id}'")
            elif len(new_description) > 255 or not _NAME_CHARS.match(new_description):
                raise invalid(f"Value ({new_description}) for parameter GroupDescription is "
                              "invalid. Character sets beyond ASCII are not supported.")
            group.name, group.description = new_name, new_description

    def delete(self, ctx: Context, group_id: str | None, group_name: str | None,
               dry_run: bool = False) -> str:
        self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            group = self.find(s, ctx, group_id, group_name, lock=True)
            if group.name == DEFAULT_GROUP_NAME:
                raise InvalidParameter("CannotDelete",
                                       f'the specified group: "{group.id}" name: "default" '
                                       "cannot be deleted by a user")
            self._check_unused(s, group)
            if dry_run:
                return group.id
            s.execute(delete(InstanceSecurityGroup).where(
                InstanceSecurityGroup.group_id == group.id))
            s.execute(delete(SecurityGroupRule).where(SecurityGroupRule.group_id == group.id))
            s.execute(delete(Tag).where(Tag.resource_id == group.id))
            s.delete(group)
        self.on_change()
        return group.id

    @staticmethod
    def _check_unused(s: Session, group: SecurityGroup) -> None:
        in_use = s.scalar(select(func.count()).select_from(InstanceSecurityGroup)
                          .join(Instance, Instance.id == InstanceSecurityGroup.instance_id)
                          .where(InstanceSecurityGroup.group_id == group.id,
                                 Instance.state != State.TERMINATED))
        referenced = s.scalar(select(func.count()).select_from(SecurityGroupRule).where(
            SecurityGroupRule.source_group_id == group.id,
            SecurityGroupRule.group_id != group.id))
        if in_use or referenced:
            raise Conflict("DependencyViolation",
                           f"resource {group.id} has a dependent object")

    # rules ------------------------------------------------------------------------------
    def specs(self, s: Session, ctx: Context, group: SecurityGroup,
               permissions: Sequence[rules.Permission]) -> list[rules.RuleSpec]:
        if not permissions:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter ipPermissions")
        specs: list[rules.RuleSpec] = []
        for perm in permissions:
            protocol = rules.normalize_protocol(perm.protocol)
            low, high = rules.check_ports(protocol, perm.from_port, perm.to_port)
            if perm.prefix_lists:
                raise NotFound("InvalidPrefixListId.NotFound",
                               f"The prefix list '{perm.prefix_lists[0]}' does not exist")
            found = rules.cidr_specs(perm, low, high)
            for source in perm.groups:
                other = self._source_group(s, ctx, group, source)
                found.append(rules.RuleSpec(protocol, low, high, source_group_id=other.id,
                                            description=rules.check_description(
                                                source.description)))
            if not found:
                raise InvalidParameter("MissingParameter",
                                       "The request must contain a source: ipRanges, "
                                       "ipv6Ranges or groups")
            specs.extend(found)
        return specs

    def _source_group(self, s: Session, ctx: Context, group: SecurityGroup,
                      source: rules.GroupSource) -> SecurityGroup:
        if source.user_id and source.user_id not in (ctx.account_id, "amazon"):
            raise _group_not_found(source.group_id or source.group_name or "")
        if source.group_id:
            check_group_ids([source.group_id])
            query = select(SecurityGroup).where(SecurityGroup.id == source.group_id)
        elif source.group_name:
            query = select(SecurityGroup).where(SecurityGroup.vpc_id == group.vpc_id,
                                                SecurityGroup.name == source.group_name)
        else:
            raise InvalidParameter("MissingParameter",
                                   "A group source needs a GroupId or a GroupName")
        other = s.scalar(query.where(SecurityGroup.project_id == ctx.project_id))
        if other is None:
            raise _group_not_found(source.group_id or source.group_name or "")
        if other.vpc_id != group.vpc_id:
            raise invalid(f"You have specified two resources that belong to different "
                          f"networks: {group.id} and {other.id}.")
        return other

    def authorize(self, ctx: Context, group_ref: tuple[str | None, str | None], egress: bool,
                  permissions: Sequence[rules.Permission],
                  dry_run: bool = False) -> list[RuleRecord]:
        self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            group = self.find(s, ctx, *group_ref, lock=True)
            specs = self.specs(s, ctx, group, permissions)
            existing = self.rules_of(s, group.id, egress)
            have = {rules.rule_key(r) for r in existing}
            for spec in specs:
                if spec.key in have:
                    text = rules.describe_rule(spec, _peer_text(spec))
                    raise Conflict("InvalidPermission.Duplicate",
                                   f'the specified rule "{text}" already exists')
                have.add(spec.key)
            if len(existing) + len(specs) > MAX_RULES:
                raise QuotaExceeded("RulesPerSecurityGroupLimitExceeded",
                                    "The maximum number of rules per security group has "
                                    "been reached.")
            if dry_run:
                return []
            now = utcnow()
            made = [SecurityGroupRule(
                id=new_id("sgr"), group_id=group.id, project_id=ctx.project_id,
                is_egress=egress, protocol=spec.protocol, from_port=spec.from_port,
                to_port=spec.to_port, cidr_ipv4=spec.cidr_ipv4, cidr_ipv6=spec.cidr_ipv6,
                source_group_id=spec.source_group_id, description=spec.description,
                created_at=now + timedelta(microseconds=n))  # keeps the order given
                for n, spec in enumerate(specs)]
            s.add_all(made)
        self.on_change()
        return [RuleRecord.of(r) for r in made]

    def revoke(self, ctx: Context, group_ref: tuple[str | None, str | None], egress: bool,
               permissions: Sequence[rules.Permission], rule_ids: Sequence[str] = (),
               dry_run: bool = False) -> list[RuleRecord]:
        self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            group = self.find(s, ctx, *group_ref, lock=True)
            existing = self.rules_of(s, group.id, egress)
            if rule_ids:
                gone = self._by_rule_ids(existing, rule_ids)
            else:
                by_key = {rules.rule_key(r): r for r in existing}
                specs = self.specs(s, ctx, group, permissions)
                if any(spec.key not in by_key for spec in specs):
                    raise NotFound("InvalidPermission.NotFound",
                                   "The specified rule does not exist in this security group.")
                gone = list({by_key[spec.key].id: by_key[spec.key] for spec in specs}.values())
            records = [RuleRecord.of(r) for r in gone]
            if not dry_run:
                for rule in gone:
                    s.delete(rule)
        if not dry_run:
            self.on_change()
        return records

    @staticmethod
    def _by_rule_ids(existing: list[AnyRule], rule_ids: Sequence[str]) -> list[AnyRule]:
        by_id = {r.id: r for r in existing}
        for rid in rule_ids:
            if not is_well_formed(rid, "sgr"):
                raise InvalidParameter("InvalidSecurityGroupRuleId.Malformed",
                                       f'Invalid id: "{rid}" (expecting "sgr-...")')
            if rid not in by_id:
                raise NotFound("InvalidSecurityGroupRuleId.NotFound",
                               f"The security group rule ID '{rid}' does not exist")
        return [by_id[rid] for rid in dict.fromkeys(rule_ids)]

    @staticmethod
    def rules_of(s: Session, group_id: str, egress: bool) -> list[SecurityGroupRule]:
        return list(s.scalars(select(SecurityGroupRule).where(
            SecurityGroupRule.group_id == group_id, SecurityGroupRule.is_egress == egress)))

    # describe -----------------------------------------------------------------------------
    def describe(self, ctx: Context, ids: Sequence[str], names: Sequence[str],
                 filters: Sequence[flt.Filter], max_results: int | None = None,
                 token: str | None = None) -> tuple[list[flt.Tagged[GroupView]], str | None]:
        check_group_ids(ids)
        if max_results is not None and (ids or names):
            raise invalid("The parameter groupIdSet cannot be used with the parameter "
                          "maxResults", "InvalidParameterCombination")
        flt.check_max_results(max_results, 5, 1000)
        flt.check_filters(filters, GROUP_FILTERS)
        default_vpc = self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.session() as s:
            groups = list(s.scalars(select(SecurityGroup).where(
                SecurityGroup.project_id == ctx.project_id)))
            all_rules = [RuleRecord.of(r) for r in s.scalars(select(SecurityGroupRule).where(
                SecurityGroupRule.project_id == ctx.project_id))]
            tags = tagsvc.for_resources(s, ctx.project_id, [g.id for g in groups])
        groups = _select_groups(groups, ids, names, default_vpc)
        views = _views(groups, all_rules, ctx.account_id)
        items = [flt.Tagged(v, tags.get(v.group.id, {})) for v in views]
        found = [t for t in items if flt.matches(t, filters, GROUP_FILTERS)]
        return flt.page(found, lambda t: t.item.group.id, max_results, token)

    def describe_rules(self, ctx: Context, rule_ids: Sequence[str],
                       filters: Sequence[flt.Filter], max_results: int | None = None,
                       token: str | None = None) -> tuple[list[RuleRecord], str | None]:
        flt.check_max_results(max_results, 5, 1000)
        flt.check_filters(filters, RULE_FILTERS)
        self.vpcs.ensure_defaults(ctx.project_id)
        with self.db.read() as s:
            found = [RuleRecord.of(r) for r in s.scalars(select(SecurityGroupRule).where(
                SecurityGroupRule.project_id == ctx.project_id))]
        if rule_ids:
            self._by_rule_ids(found, rule_ids)
            found = [r for r in found if r.id in rule_ids]
        items = flt.apply([flt.Tagged(r, {}) for r in found], filters, RULE_FILTERS)
        chunk, next_token = flt.page(items, lambda t: t.item.id, max_results, token)
        return [t.item for t in chunk], next_token

    # instances --------------------------------------------------------------------------
    def for_launch(self, s: Session, ctx: Context, vpc_id: str, ids: Sequence[str],
                   names: Sequence[str]) -> list[SecurityGroup]:
        """The groups a new instance in `vpc_id` joins: those named, or the VPC's default."""
        check_group_ids(ids)
        groups = list(s.scalars(_GROUPS_OF_VPC, {"project": ctx.project_id, "vpc": vpc_id}))
        by_id = {g.id: g for g in groups}
        by_name = {g.name: g for g in groups}
        chosen: list[SecurityGroup] = []
        for gid in ids:
            if gid not in by_id:
                raise _group_not_found(gid)
            chosen.append(by_id[gid])
        for name in names:
            if name not in by_name:
                raise _group_not_found(name, vpc_id)
            chosen.append(by_name[name])
        chosen = list({g.id: g for g in chosen}.values())
        if not chosen:
            chosen = [by_name[DEFAULT_GROUP_NAME]]
        if len(chosen) > MAX_GROUPS_PER_INSTANCE:
            raise QuotaExceeded("SecurityGroupsPerInstanceLimitExceeded",
                                "The maximum number of security groups per interface has "
                                "been reached.")
        return chosen

    @staticmethod
    def attach(s: Session, instance_ids: Sequence[str], groups: Sequence[SecurityGroup]) -> None:
        """Link instances (already flushed) to groups: one INSERT, no ORM objects."""
        links = [{"instance_id": iid, "group_id": g.id, "position": n}
                 for iid in instance_ids for n, g in enumerate(groups)]
        if links:
            s.execute(insert(InstanceSecurityGroup), links)

    def set_instance_groups(self, ctx: Context, instance: InVpc,
                            group_ids: Sequence[str]) -> None:
        if not group_ids:
            raise InvalidParameter("MissingParameter",
                                   "The request must contain the parameter groupId")
        with self.db.session() as s:
            groups = self.for_launch(s, ctx, instance.vpc_id or "", group_ids, [])
            s.execute(delete(InstanceSecurityGroup).where(
                InstanceSecurityGroup.instance_id == instance.id))
            s.flush()
            self.attach(s, [instance.id], groups)
        self.on_change()

    @staticmethod
    def groups_of(s: Session, project_id: str,
                  instance_ids: Sequence[str] | None = None) -> dict[str, list[tuple[str, str]]]:
        """instance ID -> [(group ID, group name)] in the order they were given."""
        query = (select(InstanceSecurityGroup.instance_id, SecurityGroup.id, SecurityGroup.name)
                 .join(SecurityGroup, SecurityGroup.id == InstanceSecurityGroup.group_id)
                 .where(SecurityGroup.project_id == project_id)
                 .order_by(InstanceSecurityGroup.instance_id, InstanceSecurityGroup.position))
        if instance_ids is not None:
            query = query.where(InstanceSecurityGroup.instance_id.in_(list(instance_ids)))
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for instance_id, group_id, name in s.execute(query):
            found[instance_id].append((group_id, name))
        return found

    @staticmethod
    def forget_instances(s: Session, instance_ids: Sequence[str]) -> None:
        s.execute(delete(InstanceSecurityGroup).where(
            InstanceSecurityGroup.instance_id.in_(list(instance_ids))))

    # the contract with the agent and the metadata service --------------------------------
    def open_ports(self, instance_id: str) -> list[tuple[str, int, int]]:
        """(protocol, from port, to port) of the ingress rules of the instance's groups that
        admit traffic from anywhere or from the host: what the agent forwards."""
        with self.db.read() as s:
            return self.open_ports_of([instance_id], s).get(instance_id, [])

    @staticmethod
    def open_ports_of(instance_ids: Sequence[str],
                      s: Session) -> dict[str, list[tuple[str, int, int]]]:
        """open_ports of several instances in one query."""
        found: dict[str, set[tuple[str, int, int]]] = defaultdict(set)
        for instance_id, rule in s.execute(
                select(InstanceSecurityGroup.instance_id, SecurityGroupRule)
                .join(InstanceSecurityGroup, InstanceSecurityGroup.group_id
                      == SecurityGroupRule.group_id)
                .where(InstanceSecurityGroup.instance_id.in_(instance_ids),
                       SecurityGroupRule.is_egress.is_(False),
                       SecurityGroupRule.cidr_ipv4.is_not(None))):
            if rule.protocol in ("tcp", "udp", "-1") and rules.admits_host(rule):
                found[instance_id].add((rule.protocol, rule.from_port, rule.to_port))
        return {instance_id: sorted(ports) for instance_id, ports in found.items()}

    def of_instances(self, ctx: Context,
                     instance_ids: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        """The groups of these instances of the caller's project: ID -> [(group ID, name)]."""
        with self.db.read() as s:
            return self.groups_of(s, ctx.project_id, instance_ids)

    def names_for(self, instance_id: str) -> list[str]:
        with self.db.read() as s:
            return [name for name in s.scalars(
                select(SecurityGroup.name)
                .join(InstanceSecurityGroup, InstanceSecurityGroup.group_id == SecurityGroup.id)
                .where(InstanceSecurityGroup.instance_id == instance_id)
                .order_by(InstanceSecurityGroup.position))]


def _peer_text(spec: rules.RuleSpec) -> str:
    return spec.cidr_ipv4 or spec.cidr_ipv6 or spec.source_group_id or ""


def _select_groups(groups: list[SecurityGroup], ids: Sequence[str], names: Sequence[str],
                   default_vpc_id: str) -> list[SecurityGroup]:
    if not ids and not names:
        return groups
    by_id = {g.id: g for g in groups}
    by_name = {g.name: g for g in groups if g.vpc_id == default_vpc_id}
    for gid in ids:
        if gid not in by_id:
            raise _group_not_found(gid)
    for name in names:
        if name not in by_name:
            raise _group_not_found(name, default_vpc_id)
    wanted = set(ids) | {by_name[n].id for n in names}
    return [g for g in groups if g.id in wanted]


def _views(groups: list[SecurityGroup], all_rules: list[RuleRecord],
           owner_id: str) -> list[GroupView]:
    names = {g.id: g.name for g in groups}
    by_group: dict[str, list[RuleRecord]] = defaultdict(list)
    for rule in sorted(all_rules, key=lambda r: (r.created_at, r.id)):
        by_group[rule.group_id].append(rule)
    return [GroupView(g, [r for r in by_group[g.id] if not r.is_egress],
                      [r for r in by_group[g.id] if r.is_egress], names, owner_id)
            for g in groups]
