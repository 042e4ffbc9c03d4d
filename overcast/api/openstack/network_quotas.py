"""Neutron quotas (`openstack quota show`'s network part): what Overcast limits (floating
IPs: the project's Elastic IP limit) and -1 for what it does not. The routes join the
network face's router (mount.py imports this module)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.network import V20, router
from overcast.api.openstack.wsgi import Fault, Req, json_response

UNLIMITED = ("network", "subnet", "port", "router", "security_group", "security_group_rule",
             "subnetpool", "rbac_policy")


def _limits(req: Req, project_id: str) -> dict[str, int]:
    assert req.scope is not None
    if project_id != req.ctx.project_id and not req.scope.is_cloud_admin:
        raise Fault(403, "Policy does not allow showing another project's quotas.")
    project = req.cloud.identity.roles.project(project_id)
    floating = project.max_elastic_ips
    if floating is None:
        floating = req.cloud.settings.default_max_elastic_ips
    return {**dict.fromkeys(UNLIMITED, -1), "floatingip": floating}


@router.route(f"{V20}/quotas/<project_id>")
@router.route(f"{V20}/quotas/<project_id>/default")
def show_quota(req: Req) -> Response:
    return json_response({"quota": _limits(req, req.args["project_id"])})


@router.route(f"{V20}/quotas/<project_id>/details.json")
def show_quota_details(req: Req) -> Response:
    limits = _limits(req, req.args["project_id"])
    used = len(req.cloud.elastic_ips.describe(req.ctx, [], [], []))  \
        if req.args["project_id"] == req.ctx.project_id else 0
    body: dict[str, Any] = {k: {"limit": v, "used": used if k == "floatingip" else 0,
                                "reserved": 0} for k, v in limits.items()}
    return json_response({"quota": body})
