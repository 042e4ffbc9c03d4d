"""Nova's smaller resources: key pairs, quota sets, server passwords, limits and zones."""

from __future__ import annotations

import re
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import nova_views as views
from overcast.api.openstack.catalog import COMPUTE
from overcast.api.openstack.servers import MAX_META, all_servers, find_server
from overcast.api.openstack.wsgi import (
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.cloud.compute import quotas
from overcast.lifecycle import HOLDS_CPU, State

router = Router()
V21 = f"{COMPUTE}/v2.1"
_KEY_NAME = re.compile(r"^[a-zA-Z0-9 _-]{1,255}$")


# key pairs ------------------------------------------------------------------------------------

@router.route(f"{V21}/os-keypairs")
def list_keypairs(req: Req) -> Response:
    pairs = sorted(req.cloud.keypairs.list(req.ctx), key=lambda p: p.name)
    return json_response({"keypairs": [{"keypair": views.keypair_summary(p)} for p in pairs]})


@router.route(f"{V21}/os-keypairs", "POST", Need.MEMBER)
def create_keypair(req: Req) -> Response:
    spec = req.body().get("keypair")
    if not isinstance(spec, dict):
        raise bad_request("The request body needs a 'keypair' object.")
    name = spec.get("name")
    if not isinstance(name, str) or not _KEY_NAME.match(name) or name.strip() != name:
        raise bad_request("Keypair name must be 1 to 255 letters, digits, spaces, '_' or "
                          "'-', without leading or trailing spaces.")
    public_key = spec.get("public_key")
    if public_key is not None:
        if not isinstance(public_key, str):
            raise bad_request("public_key must be a string.")
        if req.cloud.keypairs.find(req.ctx, name) is not None:
            raise Fault(409, f"Key pair '{name}' already exists.")
        try:
            pair = req.cloud.keypairs.import_key(req.ctx, name, public_key.encode(),
                                                 allow_ecdsa=True)
        except Exception as exc:
            if getattr(exc, "kind", "") == "conflict":
                raise
            raise bad_request("Keypair data is invalid: not a valid public key.") from exc
        body = {**views.keypair_summary(pair), "user_id": req.ctx.user_id}
    else:
        made = req.cloud.keypairs.create(req.ctx, name)
        body = {**views.keypair_summary(made.pair), "user_id": req.ctx.user_id,
                "private_key": made.material}
    return json_response({"keypair": body})


@router.route(f"{V21}/os-keypairs/<name>")
def show_keypair(req: Req) -> Response:
    pair = req.cloud.keypairs.find(req.ctx, req.args["name"])
    if pair is None:
        raise Fault(404, f"Keypair {req.args['name']} not found.")
    return json_response({"keypair": views.keypair_detail(pair, req.ctx.user_id)})


@router.route(f"{V21}/os-keypairs/<name>", "DELETE", Need.MEMBER)
def delete_keypair(req: Req) -> Response:
    pair = req.cloud.keypairs.find(req.ctx, req.args["name"])
    if pair is None:
        raise Fault(404, f"Keypair {req.args['name']} not found.")
    req.cloud.keypairs.delete(req.ctx, None, pair.id)
    return no_content(202)


# quotas and passwords -----------------------------------------------------------------------

def _quota_set(req: Req, project_id: str) -> dict[str, Any]:
    assert req.scope is not None
    if project_id != req.ctx.project_id and not req.scope.is_cloud_admin:
        raise Fault(403, "Policy does not allow showing another project's quotas.")
    project = req.cloud.identity.roles.project(project_id)
    max_instances, max_vcpus = quotas(project, req.cloud.settings)
    return {"id": project.id, "instances": max_instances, "cores": max_vcpus, "ram": -1,
            "metadata_items": MAX_META, "key_pairs": 100, "server_groups": 10,
            "server_group_members": 10, "floating_ips": 10, "fixed_ips": -1,
            "security_groups": 10, "security_group_rules": 20, "injected_files": 5,
            "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255}


@router.route(f"{V21}/os-quota-sets/<project_id>")
def show_quota_set(req: Req) -> Response:
    return json_response({"quota_set": _quota_set(req, req.args["project_id"])})


@router.route(f"{V21}/os-quota-sets/<project_id>/defaults")
def default_quota_set(req: Req) -> Response:
    return json_response({"quota_set": _quota_set(req, req.args["project_id"])})


@router.route(f"{V21}/servers/<server_id>/os-server-password")
def show_password(req: Req) -> Response:
    find_server(req, req.args["server_id"])
    return json_response({"password": ""})


@router.route(f"{V21}/servers/<server_id>/os-server-password", "DELETE", Need.MEMBER)
def clear_password(req: Req) -> Response:
    find_server(req, req.args["server_id"])
    return no_content()


# limits and zones -----------------------------------------------------------------------------

@router.route(f"{V21}/limits")
def limits(req: Req) -> Response:
    project = req.cloud.identity.roles.project(req.ctx.project_id)
    max_instances, max_vcpus = quotas(project, req.cloud.settings)
    live = [t.item for t in all_servers(req)
            if t.item.state not in (State.TERMINATED, State.SHUTTING_DOWN)]
    cores = sum(r.vcpus for r in live if r.state in HOLDS_CPU)
    ram = sum(r.memory_mib for r in live if r.state in HOLDS_CPU)
    absolute = {
        "maxTotalInstances": max_instances, "maxTotalCores": max_vcpus,
        "maxTotalRAMSize": -1, "maxServerMeta": MAX_META, "maxImageMeta": 128,
        "maxPersonality": 5, "maxPersonalitySize": 10240, "maxTotalKeypairs": 100,
        "maxSecurityGroups": 10, "maxSecurityGroupRules": 20, "maxTotalFloatingIps": 10,
        "maxServerGroups": 10, "maxServerGroupMembers": 10,
        "totalInstancesUsed": len(live), "totalCoresUsed": cores, "totalRAMUsed": ram,
        "totalSecurityGroupsUsed": 0, "totalFloatingIpsUsed": 0, "totalServerGroupsUsed": 0,
    }
    return json_response({"limits": {"rate": [], "absolute": absolute}})


@router.route(f"{V21}/os-availability-zone")
@router.route(f"{V21}/os-availability-zone/detail")
def availability_zones(req: Req) -> Response:
    hidden = req.cloud.burst.hidden_zones(req.ctx.project_id)  # others' burst targets
    zones = [z for z in req.cloud.catalog.availability_zones() if z not in hidden]
    return json_response({"availabilityZoneInfo": [
        {"zoneName": z, "zoneState": {"available": True}, "hosts": None} for z in zones]})
