"""EC2 security group actions."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.network import GroupSource, GroupView, Permission, RuleEdits, RuleRecord
from overcast.errors import InvalidParameter, invalid

LEGACY_FIELDS = ("CidrIp", "FromPort", "ToPort", "IpProtocol", "SourceSecurityGroupName",
                 "SourceSecurityGroupOwnerId")


def _permission(raw: dict[str, Any]) -> Permission:
    return Permission(
        protocol=raw.get("IpProtocol") or "",
        from_port=raw.get("FromPort"), to_port=raw.get("ToPort"),
        ipv4=tuple((r.get("CidrIp") or "", r.get("Description") or "")
                   for r in raw.get("IpRanges") or []),
        ipv6=tuple((r.get("CidrIpv6") or "", r.get("Description") or "")
                   for r in raw.get("Ipv6Ranges") or []),
        groups=tuple(GroupSource(g.get("GroupId"), g.get("GroupName"), g.get("UserId"),
                                 g.get("Description") or "")
                     for g in raw.get("UserIdGroupPairs") or []),
        prefix_lists=tuple(p.get("PrefixListId") or "" for p in raw.get("PrefixListIds") or []))


def _legacy_permission(call: Call) -> Permission:
    """The flat form (CidrIp, IpProtocol, FromPort, ToPort, SourceSecurityGroupName)."""
    source_name = call.get("SourceSecurityGroupName")
    cidr = call.get("CidrIp")
    if cidr and source_name:
        raise invalid("The parameter 'cidrIp' cannot be used with the parameter "
                      "'sourceSecurityGroupName'", "InvalidParameterCombination")
    protocol = call.get("IpProtocol") or ("-1" if source_name else "")
    groups = (GroupSource(group_name=source_name,
                          user_id=call.get("SourceSecurityGroupOwnerId")),) \
        if source_name else ()
    return Permission(protocol=protocol, from_port=call.get("FromPort"),
                      to_port=call.get("ToPort"), ipv4=((cidr, ""),) if cidr else (),
                      groups=groups)


def _permissions(call: Call) -> list[Permission]:
    listed = call.get("IpPermissions", [])
    legacy = [name for name in LEGACY_FIELDS if call.params.get(name) is not None]
    if listed and legacy:
        raise invalid(f"The parameter 'ipPermissions' cannot be used with the parameter "
                      f"'{legacy[0][0].lower() + legacy[0][1:]}'", "InvalidParameterCombination")
    if legacy:
        return [_legacy_permission(call)]
    return [_permission(p) for p in listed]


def _group_ref(call: Call) -> tuple[str | None, str | None]:
    group_id, name = call.get("GroupId"), call.get("GroupName")
    if not group_id and not name:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter groupName or groupId")
    return group_id, (None if group_id else name)


def _rule(call: Call, rule: RuleRecord) -> dict[str, Any]:
    account = call.ctx.account_id
    found: dict[str, Any] = {
        "SecurityGroupRuleId": rule.id, "GroupId": rule.group_id, "GroupOwnerId": account,
        "IsEgress": rule.is_egress, "IpProtocol": rule.protocol, "FromPort": rule.from_port,
        "ToPort": rule.to_port, "CidrIpv4": rule.cidr_ipv4, "CidrIpv6": rule.cidr_ipv6,
        "Description": rule.description or None, "Tags": [],
        "SecurityGroupRuleArn": f"arn:aws:ec2:{call.cloud.settings.region}:{account}:"
                                f"security-group-rule/{rule.id}",
    }
    if rule.source_group_id:
        found["ReferencedGroupInfo"] = {"GroupId": rule.source_group_id, "UserId": account}
    return found


def _revoked(rule: RuleRecord) -> dict[str, Any]:
    return {"SecurityGroupRuleId": rule.id, "GroupId": rule.group_id,
            "IsEgress": rule.is_egress, "IpProtocol": rule.protocol,
            "FromPort": rule.from_port, "ToPort": rule.to_port, "CidrIpv4": rule.cidr_ipv4,
            "CidrIpv6": rule.cidr_ipv6, "ReferencedGroupId": rule.source_group_id,
            "Description": rule.description or None}


def ip_permissions(view: GroupView, found: list[RuleRecord]) -> list[dict[str, Any]]:
    """Rules grouped the way EC2 shows them: one IpPermission per protocol and port range,
    with all its sources."""
    grouped: dict[tuple[str, int, int], list[RuleRecord]] = defaultdict(list)
    for rule in found:
        grouped[(rule.protocol, rule.from_port, rule.to_port)].append(rule)
    permissions = []
    for (protocol, low, high), members in grouped.items():
        entry: dict[str, Any] = {
            "IpProtocol": protocol,
            "IpRanges": [{"CidrIp": r.cidr_ipv4, "Description": r.description or None}
                         for r in members if r.cidr_ipv4],
            "Ipv6Ranges": [{"CidrIpv6": r.cidr_ipv6, "Description": r.description or None}
                           for r in members if r.cidr_ipv6],
            "UserIdGroupPairs": [{"GroupId": r.source_group_id, "UserId": view.owner_id,
                                  "Description": r.description or None}
                                 for r in members if r.source_group_id],
            "PrefixListIds": [],
        }
        if protocol != "-1":
            entry["FromPort"], entry["ToPort"] = low, high
        permissions.append(entry)
    return permissions


def _render_group(call: Call, tagged: flt.Tagged[GroupView]) -> dict[str, Any]:
    view = tagged.item
    group = view.group
    return {
        "GroupId": group.id, "GroupName": group.name, "Description": group.description,
        "OwnerId": view.owner_id, "VpcId": group.vpc_id, "Tags": tag_list(tagged.tags),
        "IpPermissions": ip_permissions(view, view.ingress),
        "IpPermissionsEgress": ip_permissions(view, view.egress),
        "SecurityGroupArn": f"arn:aws:ec2:{call.cloud.settings.region}:{view.owner_id}:"
                            f"security-group/{group.id}",
    }


@action("CreateSecurityGroup")
def create_security_group(call: Call) -> dict[str, Any]:
    for spec in call.get("TagSpecifications", []):
        if spec.get("ResourceType") != "security-group":
            raise invalid(f"'{spec.get('ResourceType')}' is not a valid taggable resource type "
                          "for this operation.")
    tags = tags_for(call, "security-group")
    dry_run = bool(call.get("DryRun"))
    group = call.cloud.security_groups.create(call.ctx, call.get("GroupName"),
                                              call.get("Description"), call.get("VpcId"),
                                              tags, dry_run=dry_run)
    dry_run_check(call)
    account = call.ctx.account_id
    return {"GroupId": group.id, "Tags": tag_list(tags),
            "SecurityGroupArn": f"arn:aws:ec2:{call.cloud.settings.region}:{account}:"
                                f"security-group/{group.id}"}


@action("DeleteSecurityGroup")
def delete_security_group(call: Call) -> dict[str, Any]:
    group_id, name = _group_ref(call)
    dry_run = bool(call.get("DryRun"))
    deleted = call.cloud.security_groups.delete(call.ctx, group_id, name, dry_run=dry_run)
    dry_run_check(call)
    return {"Return": True, "GroupId": deleted}


@action("DescribeSecurityGroups")
def describe_security_groups(call: Call) -> dict[str, Any]:
    items, token = call.cloud.security_groups.describe(
        call.ctx, call.get("GroupIds", []), call.get("GroupNames", []),
        flt.parse_filters(call.get("Filters")), call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"SecurityGroups": [_render_group(call, t) for t in items], "NextToken": token}


@action("DescribeSecurityGroupRules")
def describe_security_group_rules(call: Call) -> dict[str, Any]:
    found, token = call.cloud.security_groups.describe_rules(
        call.ctx, call.get("SecurityGroupRuleIds", []), flt.parse_filters(call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"SecurityGroupRules": [_rule(call, r) for r in found], "NextToken": token}


def _authorize(call: Call, egress: bool) -> dict[str, Any]:
    ref = (call.get("GroupId"), None) if egress else _group_ref(call)
    if egress and not ref[0]:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter groupId")
    dry_run = bool(call.get("DryRun"))
    made = call.cloud.security_groups.authorize(call.ctx, ref, egress, _permissions(call),
                                                dry_run=dry_run)
    dry_run_check(call)
    return {"Return": True, "SecurityGroupRules": [_rule(call, r) for r in made]}


def _revoke(call: Call, egress: bool) -> dict[str, Any]:
    ref = (call.get("GroupId"), None) if egress else _group_ref(call)
    if egress and not ref[0]:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter groupId")
    rule_ids = call.get("SecurityGroupRuleIds", [])
    permissions = [] if rule_ids else _permissions(call)
    dry_run = bool(call.get("DryRun"))
    gone = call.cloud.security_groups.revoke(call.ctx, ref, egress, permissions, rule_ids,
                                             dry_run=dry_run)
    dry_run_check(call)
    return {"Return": True, "RevokedSecurityGroupRules": [_revoked(r) for r in gone]}


@action("AuthorizeSecurityGroupIngress")
def authorize_security_group_ingress(call: Call) -> dict[str, Any]:
    return _authorize(call, egress=False)


@action("AuthorizeSecurityGroupEgress")
def authorize_security_group_egress(call: Call) -> dict[str, Any]:
    return _authorize(call, egress=True)


@action("RevokeSecurityGroupIngress")
def revoke_security_group_ingress(call: Call) -> dict[str, Any]:
    return _revoke(call, egress=False)


@action("RevokeSecurityGroupEgress")
def revoke_security_group_egress(call: Call) -> dict[str, Any]:
    return _revoke(call, egress=True)


def _update_descriptions(call: Call, egress: bool) -> dict[str, Any]:
    ref = _group_ref(call)
    by_id = {d.get("SecurityGroupRuleId") or "": d.get("Description") or ""
             for d in call.get("SecurityGroupRuleDescriptions", [])}
    permissions = [] if by_id else _permissions(call)
    RuleEdits(call.cloud.security_groups).update_descriptions(
        call.ctx, ref, egress, permissions, by_id, dry_run=bool(call.get("DryRun")))
    dry_run_check(call)
    return {"Return": True}


@action("UpdateSecurityGroupRuleDescriptionsIngress")
def update_security_group_rule_descriptions_ingress(call: Call) -> dict[str, Any]:
    return _update_descriptions(call, egress=False)


@action("UpdateSecurityGroupRuleDescriptionsEgress")
def update_security_group_rule_descriptions_egress(call: Call) -> dict[str, Any]:
    return _update_descriptions(call, egress=True)


def _rule_request(raw: dict[str, Any]) -> Permission:
    """One SecurityGroupRuleRequest: a rule with exactly one source."""
    description = raw.get("Description") or ""
    referenced = raw.get("ReferencedGroupId")
    return Permission(
        protocol=raw.get("IpProtocol") or "", from_port=raw.get("FromPort"),
        to_port=raw.get("ToPort"),
        ipv4=((raw["CidrIpv4"], description),) if raw.get("CidrIpv4") else (),
        ipv6=((raw["CidrIpv6"], description),) if raw.get("CidrIpv6") else (),
        groups=(GroupSource(group_id=referenced, description=description),)
        if referenced else (),
        prefix_lists=(raw["PrefixListId"],) if raw.get("PrefixListId") else ())


@action("ModifySecurityGroupRules")
def modify_security_group_rules(call: Call) -> dict[str, Any]:
    group_id = call.get("GroupId")
    updates = []
    for entry in call.get("SecurityGroupRules", []):
        rule_id, request = entry.get("SecurityGroupRuleId"), entry.get("SecurityGroupRule")
        if not rule_id or request is None:
            raise InvalidParameter("MissingParameter", "Each rule update needs a "
                                   "SecurityGroupRuleId and a SecurityGroupRule")
        permission = _rule_request(request)
        if len(permission.ipv4) + len(permission.ipv6) + len(permission.groups) \
                + len(permission.prefix_lists) != 1:
            raise invalid("A security group rule needs exactly one of CidrIpv4, CidrIpv6, "
                          "PrefixListId and ReferencedGroupId.")
        updates.append((rule_id, permission))
    if not updates:
        raise InvalidParameter("MissingParameter",
                               "The request must contain the parameter SecurityGroupRules")
    RuleEdits(call.cloud.security_groups).modify(call.ctx, group_id, updates,
                                                 dry_run=bool(call.get("DryRun")))
    dry_run_check(call)
    return {"Return": True}
