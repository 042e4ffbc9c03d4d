"""Nova's security-group proxy at 2.1 (os-security-groups, os-security-group-rules, a
server's groups, addSecurityGroup/removeSecurityGroup): the same EC2 groups, ingress rules
in Nova's shape."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.catalog import COMPUTE
from overcast.api.openstack.servers import find_server
from overcast.api.openstack.wsgi import (
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.cloud.compute import InstanceRecord
from overcast.cloud.filters import Tagged
from overcast.cloud.network import GroupView, RuleRecord
from overcast.cloud.network import group_rules as sg_rules
from overcast.errors import CloudError
from overcast.ids import is_valid

router = Router()
V21 = f"{COMPUTE}/v2.1"


def _rule(rule: RuleRecord, names: dict[str, str], tenant: str) -> dict[str, Any]:
    protocol = None if rule.protocol == "-1" else rule.protocol
    ports = (None, None) if protocol is None else (rule.from_port, rule.to_port)
    group = {"name": names.get(rule.source_group_id, ""), "tenant_id": tenant} \
        if rule.source_group_id else {}
    cidr = rule.cidr_ipv4 or rule.cidr_ipv6
    return {"id": rule.id, "parent_group_id": rule.group_id, "ip_protocol": protocol,
            "from_port": ports[0], "to_port": ports[1], "group": group,
            "ip_range": {"cidr": cidr} if cidr else {}}


def _group(view: GroupView) -> dict[str, Any]:
    tenant = view.group.project_id
    return {"id": view.group.id, "name": view.group.name, "tenant_id": tenant,
            "description": view.group.description or "",
            "rules": [_rule(r, view.names, tenant) for r in view.ingress]}


def _views(req: Req) -> list[GroupView]:
    found, _ = req.cloud.security_groups.describe(req.ctx, [], [], [])
    return [t.item for t in found]


def _find(req: Req, group_id: str) -> GroupView:
    for view in _views(req):
        if view.group.id == group_id:
            return view
    raise Fault(404, f"Security group {group_id} not found.")


@router.route(f"{V21}/os-security-groups")
def list_groups(req: Req) -> Response:
    return json_response({"security_groups": [_group(v) for v in _views(req)]})


@router.route(f"{V21}/os-security-groups", "POST", Need.MEMBER)
def create_group(req: Req) -> Response:
    spec = req.body().get("security_group")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) \
            or not isinstance(spec.get("description", ""), str):
        raise bad_request("security_group needs a name and a description (strings).")
    made = req.cloud.security_groups.create(req.ctx, spec["name"],
                                            spec.get("description") or spec["name"])
    return json_response({"security_group": _group(_find(req, made.id))})


@router.route(f"{V21}/os-security-groups/<group_id>")
def show_group(req: Req) -> Response:
    return json_response({"security_group": _group(_find(req, req.args["group_id"]))})


def _as_bad_request(call: Callable[[], Any]) -> Any:
    """Nova answers 400 where EC2 speaks of conflicts (a group in use, a duplicate rule)."""
    try:
        return call()
    except CloudError as exc:
        if exc.kind == "conflict":
            raise bad_request(exc.message) from exc
        raise


@router.route(f"{V21}/os-security-groups/<group_id>", "DELETE", Need.MEMBER)
def delete_group(req: Req) -> Response:
    _find(req, req.args["group_id"])
    _as_bad_request(lambda: req.cloud.security_groups.delete(req.ctx, req.args["group_id"],
                                                             None))
    return no_content(202)


def _port(value: Any, what: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"Invalid {what} '{str(value)[:16]}'.") from exc


@router.route(f"{V21}/os-security-group-rules", "POST", Need.MEMBER)
def create_rule(req: Req) -> Response:
    spec = req.body().get("security_group_rule")
    if not isinstance(spec, dict):
        raise bad_request("The request body needs a 'security_group_rule' object.")
    parent_id = str(spec.get("parent_group_id"))
    if not is_valid(parent_id, "sg"):
        raise bad_request(f"Invalid parent_group_id '{parent_id[:64]}'.")
    parent = _find(req, parent_id)
    protocol = sg_rules.normalize_protocol(str(spec.get("ip_protocol") or ""))
    low, high = _port(spec.get("from_port"), "from_port"), _port(spec.get("to_port"),
                                                                 "to_port")
    if spec.get("group_id"):
        source = _find(req, str(spec["group_id"]))
        permission = sg_rules.Permission(protocol, low, high, groups=(
            sg_rules.GroupSource(group_id=source.group.id),))
    else:
        try:
            cidr = str(ipaddress.ip_network(str(spec.get("cidr") or "0.0.0.0/0"),
                                            strict=False))
        except ValueError as exc:
            raise bad_request(f"Invalid cidr '{str(spec.get('cidr'))[:64]}'.") from exc
        pairs = ((cidr, ""),)
        permission = (sg_rules.Permission(protocol, low, high, ipv6=pairs) if ":" in cidr
                      else sg_rules.Permission(protocol, low, high, ipv4=pairs))
    made = _as_bad_request(lambda: req.cloud.security_groups.authorize(
        req.ctx, (parent.group.id, None), False, [permission]))
    names = {v.group.id: v.group.name for v in _views(req)}
    return json_response({"security_group_rule": _rule(made[0], names,
                                                       parent.group.project_id)})


@router.route(f"{V21}/os-security-group-rules/<rule_id>", "DELETE", Need.MEMBER)
def delete_rule(req: Req) -> Response:
    for view in _views(req):
        for rule in view.ingress:
            if rule.id == req.args["rule_id"]:
                req.cloud.security_groups.revoke(req.ctx, (view.group.id, None), False, [],
                                                 rule_ids=[rule.id])
                return no_content(202)
    raise Fault(404, f"Security group rule {req.args['rule_id']} not found.")


@router.route(f"{V21}/servers/<server_id>/os-security-groups")
def server_groups(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    ids = {gid for gid, _name in getattr(tagged, "groups", [])}
    return json_response({"security_groups": [_group(v) for v in _views(req)
                                              if v.group.id in ids]})


def change_server_groups(req: Req, tagged: Tagged[InstanceRecord], spec: Any,
                         add: bool) -> Response:
    """addSecurityGroup / removeSecurityGroup: {"name": group name or ID}."""
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise bad_request("The action needs a security group name.")
    vpc = tagged.item.vpc_id
    matching = [v for v in _views(req) if v.group.vpc_id == vpc
                and spec["name"] in (v.group.name, v.group.id)]
    if not matching:
        raise Fault(404, f"Security group {spec['name'][:64]} not found.")
    current = [gid for gid, _name in getattr(tagged, "groups", [])]
    target = matching[0].group.id
    if add == (target in current):
        raise bad_request(f"Security group {spec['name'][:64]} is "
                          f"{'already' if add else 'not'} on the server.")
    wanted = [*current, target] if add else [g for g in current if g != target]
    if not wanted:
        raise bad_request("A server keeps at least one security group here.")
    req.cloud.security_groups.set_instance_groups(req.ctx, tagged.item, wanted)
    return no_content(202)
