"""Neutron v2.0, the subset a project needs: its networks and subnets (the default VPC and
its subnets, and the external network `public` of floating IPs: floating_ips.py), the ports
of its instances, and security groups with their rules, which are the very groups the EC2
face manages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from overcast.api.openstack import network_views as views
from overcast.api.openstack.catalog import NETWORK, link
from overcast.api.openstack.floating_ip_views import external_network
from overcast.api.openstack.wsgi import (
    Face,
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    int_arg,
    json_response,
    no_content,
)
from overcast.cloud.network import group_rules as sg_rules
from overcast.cloud.service import Cloud
from overcast.lifecycle import State

router = Router()
V20 = f"{NETWORK}/v2.0"
ERROR_TYPES = {400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden",
               404: "HTTPNotFound", 405: "HTTPMethodNotAllowed", 409: "HTTPConflict",
               413: "HTTPRequestEntityTooLarge"}
EXTENSIONS = ("security-group", "standard-attr-description", "project-id", "port-security",
              "standard-attr-timestamp", "standard-attr-revisions", "binding", "external-net")
RESERVED_QUERY = {"fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse"}


def _listing(req: Req, collection: str, items: list[dict[str, Any]]) -> Response:
    """Neutron's generic filters (any attribute, repeated values OR-ed) and paging."""
    for key in set(req.query) - RESERVED_QUERY:
        wanted = set(req.query.getlist(key))
        items = [i for i in items if key in i and _text(i[key]) & wanted]
    items.sort(key=lambda i: i["id"])
    marker = req.query.get("marker")
    if marker:
        items = [i for i in items if i["id"] > marker]
    body: dict[str, Any] = {}
    limit = int_arg(req.query.get("limit"), "limit")
    if limit == 0:
        items = []
    elif limit and len(items) > limit:
        items = items[:limit]
        params = [(k, v) for k, v in req.query.items(multi=True) if k != "marker"]
        params.append(("marker", items[-1]["id"]))
        body[f"{collection}_links"] = [link(f"{req.host_url}{req.request.path}?"
                                            f"{urlencode(params)}", "next")]
    body[collection] = items
    return json_response(body)


def _text(value: Any) -> set[str]:
    if isinstance(value, bool):
        return {str(value), str(value).lower()}
    if isinstance(value, list):
        return {str(v) for v in value}
    return {"" if value is None else str(value)}


def _one(items: list[dict[str, Any]], resource_id: str, what: str) -> dict[str, Any]:
    for item in items:
        if item["id"] == resource_id:
            return item
    raise Fault(404, f"{what} {resource_id} could not be found.")


# versions and extensions ------------------------------------------------------------------------

@router.route(NETWORK, need=Need.NOTHING)
def versions(req: Req) -> Response:
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT",
                                        "links": [link(f"{req.host_url}{V20}/")]}]})


@router.route(V20, need=Need.TOKEN)
def resources(req: Req) -> Response:
    names = ("network", "subnet", "port", "security_group", "security_group_rule",
             "floatingip")
    return json_response({"resources": [
        {"name": n, "collection": f"{n}s".replace("_", "-"),
         "links": [link(f"{req.host_url}{V20}/{n.replace('_', '-')}s")]} for n in names]})


@router.route(f"{V20}/extensions", need=Need.TOKEN)
def extensions(req: Req) -> Response:
    return json_response({"extensions": [
        {"alias": a, "name": a, "description": a, "links": [], "updated": "2013-01-01T00:00:00Z"}
        for a in EXTENSIONS]})


# networks and subnets ---------------------------------------------------------------------------

def _subnets(req: Req) -> list[dict[str, Any]]:
    found, _ = req.cloud.vpcs.describe_subnets(req.ctx, [], [], None, None)
    return [views.subnet(t.item, t.tags) for t in found]


def _networks(req: Req) -> list[dict[str, Any]]:
    found, _ = req.cloud.vpcs.describe_vpcs(req.ctx, [], [], None, None)
    subnets = _subnets(req)
    return [views.network(t.item, t.tags, [s["id"] for s in subnets
                                           if s["network_id"] == t.item.vpc.id])
            for t in found] + [external_network(req.cloud.elastic_ips.pool, req.ctx.project_id)]


@router.route(f"{V20}/networks")
def list_networks(req: Req) -> Response:
    return _listing(req, "networks", _networks(req))


@router.route(f"{V20}/networks/<network_id>")
def show_network(req: Req) -> Response:
    return json_response({"network": _one(_networks(req), req.args["network_id"], "Network")})


@router.route(f"{V20}/subnets")
def list_subnets(req: Req) -> Response:
    return _listing(req, "subnets", _subnets(req))


@router.route(f"{V20}/subnets/<subnet_id>")
def show_subnet(req: Req) -> Response:
    return json_response({"subnet": _one(_subnets(req), req.args["subnet_id"], "Subnet")})


@router.route(f"{V20}/networks", "POST", Need.MEMBER)
@router.route(f"{V20}/subnets", "POST", Need.MEMBER)
@router.route(f"{V20}/ports", "POST", Need.MEMBER)
def create_unsupported(req: Req) -> Response:
    raise bad_request("This cloud gives each project its default network and subnets; "
                      "making networks, subnets and ports by hand is not supported.")


# ports ------------------------------------------------------------------------------------------

def _ports(req: Req) -> list[dict[str, Any]]:
    items, _ = req.cloud.instances.describe(req.ctx, [], [])
    return [views.port(t.item, [g for g, _name in getattr(t, "groups", [])])
            for t in items if t.item.state != State.TERMINATED and t.item.private_ip]


@router.route(f"{V20}/ports")
def list_ports(req: Req) -> Response:
    return _listing(req, "ports", _ports(req))


@router.route(f"{V20}/ports/<port_id>")
def show_port(req: Req) -> Response:
    return json_response({"port": _one(_ports(req), req.args["port_id"], "Port")})


# security groups --------------------------------------------------------------------------------

def _groups(req: Req) -> list[dict[str, Any]]:
    found, _ = req.cloud.security_groups.describe(req.ctx, [], [], [])
    return [views.security_group(t.item) for t in found]


@router.route(f"{V20}/security-groups")
def list_groups(req: Req) -> Response:
    return _listing(req, "security_groups", _groups(req))


@router.route(f"{V20}/security-groups/<group_id>")
def show_group(req: Req) -> Response:
    return json_response({"security_group": _one(_groups(req), req.args["group_id"],
                                                 "Security group")})


def _spec(req: Req, key: str) -> dict[str, Any]:
    spec = req.body().get(key)
    if not isinstance(spec, dict):
        raise bad_request(f"The request body needs a '{key}' object.")
    return spec


@router.route(f"{V20}/security-groups", "POST", Need.MEMBER)
def create_group(req: Req) -> Response:
    spec = _spec(req, "security_group")
    name, description = spec.get("name"), spec.get("description") or spec.get("name")
    if not isinstance(name, str) or not isinstance(description, str):
        raise bad_request("A security group needs a name (and a description) as strings.")
    group = req.cloud.security_groups.create(req.ctx, name, description)
    return json_response({"security_group": _one(_groups(req), group.id, "Security group")},
                         201)


@router.route(f"{V20}/security-groups/<group_id>", "PUT", Need.MEMBER)
def update_group(req: Req) -> Response:
    current = _one(_groups(req), req.args["group_id"], "Security group")
    spec = _spec(req, "security_group")
    fixed = {k: v for k, v in spec.items() if k not in ("name", "description")}
    if any(current.get(k) != v for k, v in fixed.items()):
        raise bad_request("Only a security group's name and description can change.")
    name, description = spec.get("name"), spec.get("description")
    if not all(v is None or isinstance(v, str) for v in (name, description)):
        raise bad_request("name and description must be strings.")
    req.cloud.security_groups.rename(req.ctx, current["id"], name, description)
    return json_response({"security_group": _one(_groups(req), current["id"],
                                                 "Security group")})


@router.route(f"{V20}/security-groups/<group_id>", "DELETE", Need.MEMBER)
def delete_group(req: Req) -> Response:
    _one(_groups(req), req.args["group_id"], "Security group")
    req.cloud.security_groups.delete(req.ctx, req.args["group_id"], None)
    return no_content()


def _rules(req: Req) -> list[dict[str, Any]]:
    found, _ = req.cloud.security_groups.describe_rules(req.ctx, [], [])
    return [views.rule(r) for r in found]


@router.route(f"{V20}/security-group-rules")
def list_rules(req: Req) -> Response:
    return _listing(req, "security_group_rules", _rules(req))


@router.route(f"{V20}/security-group-rules/<rule_id>")
def show_rule(req: Req) -> Response:
    return json_response({"security_group_rule": _one(_rules(req), req.args["rule_id"],
                                                      "Security group rule")})


def _port(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise bad_request(f"Invalid {what}.")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise bad_request(f"Invalid {what} '{str(value)[:16]}'.") from exc


def _permission(spec: dict[str, Any]) -> sg_rules.Permission:
    protocol = spec.get("protocol")
    protocol = "-1" if protocol in (None, "any", "") else str(protocol).lower()
    low, high = _port(spec.get("port_range_min"), "port_range_min"), \
        _port(spec.get("port_range_max"), "port_range_max")
    if protocol in ("tcp", "udp", "6", "17"):
        low, high = (0, 65535) if low is None and high is None else \
            (low, high if high is not None else low)
    elif protocol in ("icmp", "1", "ipv6-icmp", "icmpv6"):
        low, high = (-1 if low is None else low), (-1 if high is None else high)
    ethertype = spec.get("ethertype", "IPv4")
    if ethertype not in ("IPv4", "IPv6"):
        raise bad_request("ethertype must be IPv4 or IPv6.")
    description = str(spec.get("description") or "")
    remote_group = spec.get("remote_group_id")
    prefix = spec.get("remote_ip_prefix")
    if remote_group and prefix:
        raise bad_request("Give remote_ip_prefix or remote_group_id, not both.")
    if remote_group:
        return sg_rules.Permission(protocol, low, high, groups=(
            sg_rules.GroupSource(group_id=str(remote_group), description=description),))
    cidr = str(prefix or ("0.0.0.0/0" if ethertype == "IPv4" else "::/0"))
    if (":" in cidr) != (ethertype == "IPv6"):
        raise bad_request(f"remote_ip_prefix {cidr} does not match ethertype {ethertype}.")
    pairs = ((cidr, description),)
    if ethertype == "IPv6":
        return sg_rules.Permission(protocol, low, high, ipv6=pairs)
    return sg_rules.Permission(protocol, low, high, ipv4=pairs)


@router.route(f"{V20}/security-group-rules", "POST", Need.MEMBER)
def create_rule(req: Req) -> Response:
    spec = _spec(req, "security_group_rule")
    group_id = spec.get("security_group_id")
    if not isinstance(group_id, str):
        raise bad_request("A rule needs a security_group_id.")
    direction = spec.get("direction")
    if direction not in ("ingress", "egress"):
        raise bad_request("direction must be ingress or egress.")
    _one(_groups(req), group_id, "Security group")
    made = req.cloud.security_groups.authorize(req.ctx, (group_id, None),
                                               direction == "egress", [_permission(spec)])
    return json_response({"security_group_rule": views.rule(made[0])}, 201)


@router.route(f"{V20}/security-group-rules/<rule_id>", "DELETE", Need.MEMBER)
def delete_rule(req: Req) -> Response:
    found = _one(_rules(req), req.args["rule_id"], "Security group rule")
    req.cloud.security_groups.revoke(req.ctx, (found["security_group_id"], None),
                                     found["direction"] == "egress", [],
                                     rule_ids=[found["id"]])
    return no_content()


class NetworkFace(Face):
    name = "network"

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(cloud, [router])

    def fault(self, status: int, message: str) -> Response:
        kind = ERROR_TYPES.get(status, "HTTPInternalServerError")
        return json_response({"NeutronError": {"type": kind, "message": message,
                                                "detail": ""}}, status)
