"""Neutron floating IPs: the project's Elastic IPs, made on the external network `public`
and associated with an instance's port. The routes join the network face's router (mount.py
imports this module)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import floating_ip_views as views
from overcast.api.openstack.network import V20, _listing, _one, _spec, router
from overcast.api.openstack.network_views import port_id
from overcast.api.openstack.wsgi import Fault, Need, Req, bad_request, json_response, no_content
from overcast.cloud.network import AssociateRequest
from overcast.errors import QuotaExceeded
from overcast.lifecycle import State

CHANGEABLE = {"port_id", "fixed_ip_address"}
CREATABLE = CHANGEABLE | {"floating_network_id", "floating_ip_address", "project_id",
                          "tenant_id", "description"}


def _instances_by_port(req: Req) -> dict[str, str]:
    """port ID -> instance ID, for the project's live instances."""
    items, _ = req.cloud.instances.describe(req.ctx, [], [])
    return {port_id(t.item.uuid): t.item.id for t in items
            if t.item.state != State.TERMINATED and t.item.private_ip}


def _floating_ips(req: Req) -> list[dict[str, Any]]:
    ports = {instance: port for port, instance in _instances_by_port(req).items()}
    network_id = views.external_network_id(req.cloud.elastic_ips.pool)
    found = req.cloud.elastic_ips.describe(req.ctx, [], [], [])
    return [views.floating_ip(t.item, network_id, ports.get(t.item.address.instance_id or ""))
            for t in found]


def _allocation_id(req: Req, floating_ip_id: str) -> str:
    for tagged in req.cloud.elastic_ips.describe(req.ctx, [], [], []):
        if views.floating_ip_id(tagged.item.address.id) == floating_ip_id:
            return tagged.item.address.id
    raise Fault(404, f"Floating IP {floating_ip_id} could not be found.")


def _show(req: Req, allocation_id: str, status: int = 200) -> Response:
    found = _one(_floating_ips(req), views.floating_ip_id(allocation_id), "Floating IP")
    return json_response({"floatingip": found}, status)


def _associate(req: Req, allocation_id: str, spec: dict[str, Any]) -> None:
    """Point the address at spec's port_id (None: at nothing)."""
    port = spec.get("port_id")
    if port is None:
        current = req.cloud.elastic_ips.describe(req.ctx, [allocation_id], [], [])[0]
        association = current.item.address.association_id
        if association:
            req.cloud.eip_associations.disassociate(req.ctx, association, None)
        return
    instance_id = _instances_by_port(req).get(str(port))
    if instance_id is None:
        raise Fault(404, f"Port {port} could not be found.")
    fixed = spec.get("fixed_ip_address")
    req.cloud.eip_associations.associate(req.ctx, AssociateRequest(
        allocation_id=allocation_id, instance_id=instance_id,
        private_ip=str(fixed) if fixed is not None else None))


@router.route(f"{V20}/floatingips")
def list_floating_ips(req: Req) -> Response:
    return _listing(req, "floatingips", _floating_ips(req))


@router.route(f"{V20}/floatingips/<floating_ip_id>")
def show_floating_ip(req: Req) -> Response:
    return _show(req, _allocation_id(req, req.args["floating_ip_id"]))


@router.route(f"{V20}/floatingips", "POST", Need.MEMBER)
def create_floating_ip(req: Req) -> Response:
    spec = _spec(req, "floatingip")
    unknown = set(spec) - CREATABLE
    if unknown:
        raise bad_request(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    network = spec.get("floating_network_id")
    if not isinstance(network, str):
        raise bad_request("A floating IP needs a floating_network_id.")
    if network != views.external_network_id(req.cloud.elastic_ips.pool):
        raise Fault(404, f"External network {network} could not be found.")
    if spec.get("project_id", req.ctx.project_id) != req.ctx.project_id \
            or spec.get("tenant_id", req.ctx.project_id) != req.ctx.project_id:
        raise Fault(403, "A floating IP can only be made for the caller's own project.")
    address = spec.get("floating_ip_address")
    try:
        view = req.cloud.elastic_ips.allocate(req.ctx, str(address) if address else None)
    except QuotaExceeded as exc:
        raise Fault(409, f"Quota exceeded for resources: ['floatingip']. {exc.message}") \
            from exc
    allocation_id = view.address.id
    if spec.get("port_id") is not None:
        try:
            _associate(req, allocation_id, spec)
        except Exception:  # no half-made floating IP: give the address back
            req.cloud.elastic_ips.release(req.ctx, allocation_id, None)
            raise
    return _show(req, allocation_id, 201)


@router.route(f"{V20}/floatingips/<floating_ip_id>", "PUT", Need.MEMBER)
def update_floating_ip(req: Req) -> Response:
    allocation_id = _allocation_id(req, req.args["floating_ip_id"])
    spec = _spec(req, "floatingip")
    unknown = set(spec) - CHANGEABLE - {"description"}
    if unknown or spec.get("description"):
        raise bad_request("Only a floating IP's port_id and fixed_ip_address can change.")
    if "port_id" in spec:
        _associate(req, allocation_id, spec)
    return _show(req, allocation_id)


@router.route(f"{V20}/floatingips/<floating_ip_id>", "DELETE", Need.MEMBER)
def delete_floating_ip(req: Req) -> Response:
    """As Neutron does, an associated floating IP is let go of first."""
    allocation_id = _allocation_id(req, req.args["floating_ip_id"])
    _associate(req, allocation_id, {"port_id": None})
    req.cloud.elastic_ips.release(req.ctx, allocation_id, None)
    return no_content()
