"""Neutron routers, read only: one per VPC (the VPC's internet gateway is its external gateway,
its subnets its interfaces, its main route table's routes to an interface or an instance its
extra routes). Routers are made and changed through the EC2 face for now. The routes join the
network face's router (mount.py imports this module)."""

from __future__ import annotations

import uuid
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.floating_ip_views import external_network_id
from overcast.api.openstack.network import V20, _listing, _one, router
from overcast.api.openstack.network_views import DEFAULT_NETWORK_NAME
from overcast.api.openstack.wsgi import Need, Req, bad_request, iso, json_response
from overcast.cloud.network import RouterView

_NAMESPACE = uuid.UUID("9c0f6a53-2d7e-4e43-b1d8-6a0b7f3e5c14")


def router_id(vpc_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"router:{vpc_id}"))


def _render(view: RouterView, external_id: str) -> dict[str, Any]:
    stamp = iso(view.created_at)
    gateway = {"network_id": external_id, "enable_snat": True, "external_fixed_ips": []} \
        if view.gateway_id else None
    name = view.name or (DEFAULT_NETWORK_NAME if view.is_default else view.vpc_id)
    return {"id": router_id(view.vpc_id), "name": name,
            "description": f"The routing of {view.vpc_id}"
                           + (f" (internet gateway {view.gateway_id})" if view.gateway_id
                              else ""),
            "tenant_id": view.project_id, "project_id": view.project_id, "status": "ACTIVE",
            "admin_state_up": True, "external_gateway_info": gateway,
            "routes": [{"destination": d, "nexthop": n} for d, n in view.hops],
            "distributed": False, "ha": False, "flavor_id": None,
            "availability_zone_hints": [], "availability_zones": [], "tags": [],
            "created_at": stamp, "updated_at": stamp, "revision_number": 0}


def _routers(req: Req) -> list[dict[str, Any]]:
    external_id = external_network_id(req.cloud.elastic_ips.pool)
    return [_render(v, external_id) for v in req.cloud.routers.describe(req.ctx)]


@router.route(f"{V20}/routers")
def list_routers(req: Req) -> Response:
    return _listing(req, "routers", _routers(req))


@router.route(f"{V20}/routers/<router_id>")
def show_router(req: Req) -> Response:
    return json_response({"router": _one(_routers(req), req.args["router_id"], "Router")})


@router.route(f"{V20}/routers", "POST", Need.MEMBER)
@router.route(f"{V20}/routers/<router_id>", "PUT", Need.MEMBER)
@router.route(f"{V20}/routers/<router_id>", "DELETE", Need.MEMBER)
@router.route(f"{V20}/routers/<router_id>/add_router_interface", "PUT", Need.MEMBER)
@router.route(f"{V20}/routers/<router_id>/remove_router_interface", "PUT", Need.MEMBER)
def change_unsupported(req: Req) -> Response:
    raise bad_request("Routers are read only through this face: each VPC has one. Change its "
                      "routing with the EC2 internet gateway and route table actions.")
