"""Cinder's block-storage API v3 at /volume/v3/{project_id} (DevStack's layout): the version
documents, volume types, limits, quota sets, availability zones and the fault format.
Volumes and snapshots live in cinder_volumes.py and cinder_snapshots.py."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from overcast.api.openstack import cinder_snapshots, cinder_views, cinder_volumes
from overcast.api.openstack.catalog import VOLUME, link
from overcast.api.openstack.cinder_views import V3
from overcast.api.openstack.wsgi import (
    Face,
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
    not_found,
)
from overcast.cloud.service import Cloud
from overcast.cloud.storage import VolumeUsage
from overcast.cloud.storage.types import SIZES
from overcast.errors import CloudError

VERSION, MIN_VERSION = "3.0", "3.0"  # no microversion beyond the base is claimed
FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
               405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest",
               413: "overLimit", 501: "notImplemented"}
# what a service-layer error is to Cinder: a state it refuses is a 400 (InvalidVolume), a
# quota a 413
STATUS_OF_KIND = {"invalid": 400, "not_found": 404, "conflict": 400, "quota": 413,
                  "capacity": 400, "forbidden": 403, "auth": 401}
DEFAULT_TYPE = "gp2"
router = Router()
UNLIMITED = -1


def _v3(req: Req) -> dict[str, Any]:
    return {"id": "v3.0", "status": "CURRENT", "version": VERSION, "min_version": MIN_VERSION,
            "updated": "2023-08-31T00:00:00Z", "links": [link(f"{req.host_url}{VOLUME}/v3/")],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.volume+json;version=3"}]}


@router.route(VOLUME, need=Need.NOTHING)
def versions(req: Req) -> Response:
    return json_response({"versions": [_v3(req)]}, 300)


@router.route(f"{VOLUME}/v3", need=Need.NOTHING)
def version(req: Req) -> Response:
    return json_response({"versions": [_v3(req)]})


# volume types -----------------------------------------------------------------------------

def _type(type_ref: str) -> str:
    for name in SIZES:
        if type_ref in (name, cinder_views.type_id(name)):
            return name
    raise not_found(f"Volume type {type_ref} could not be found.")


@router.route(f"{V3}/types")
def list_types(req: Req) -> Response:
    return json_response({"volume_types": [cinder_views.type_body(n, n == DEFAULT_TYPE)
                                           for n in SIZES]})


@router.route(f"{V3}/types/default")
def default_type(req: Req) -> Response:
    return json_response({"volume_type": cinder_views.type_body(DEFAULT_TYPE, True)})


@router.route(f"{V3}/types/<type_ref>")
def show_type(req: Req) -> Response:
    name = _type(req.args["type_ref"])
    return json_response({"volume_type": cinder_views.type_body(name, name == DEFAULT_TYPE)})


@router.route(f"{V3}/types/<type_ref>/extra_specs")
def type_extra_specs(req: Req) -> Response:
    _type(req.args["type_ref"])
    return json_response({"extra_specs": {}})


# limits and quotas -----------------------------------------------------------------------

@router.route(f"{V3}/limits")
def limits(req: Req) -> Response:
    usage = req.cloud.cinder_quotas.usage(req.ctx.project_id)
    return json_response({"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": usage.limits.volumes, "maxTotalVolumeGigabytes": usage.limits.gib,
        "maxTotalSnapshots": UNLIMITED, "maxTotalBackups": 0, "maxTotalBackupGigabytes": 0,
        "totalVolumesUsed": usage.volumes, "totalGigabytesUsed": usage.gib,
        "totalSnapshotsUsed": usage.snapshots, "totalBackupsUsed": 0,
        "totalBackupGigabytesUsed": 0}}})


def _quota_target(req: Req) -> str:
    target = req.args["target_id"]
    if target != req.ctx.project_id and not req.ctx.is_admin:
        raise Fault(403, "Policy doesn't allow volume_extension:quotas:show to be performed.")
    return target


def _quota_set(project_id: str, volumes: int, gib: int) -> dict[str, Any]:
    return {"id": project_id, "volumes": volumes, "gigabytes": gib,
            "snapshots": UNLIMITED, "per_volume_gigabytes": UNLIMITED, "backups": 0,
            "backup_gigabytes": 0, "groups": 0}


def _with_usage(project_id: str, usage: VolumeUsage) -> dict[str, Any]:
    body = _quota_set(project_id, usage.limits.volumes, usage.limits.gib)
    used = {"volumes": usage.volumes, "gigabytes": usage.gib, "snapshots": usage.snapshots}
    return {"id": project_id, **{k: {"limit": v, "in_use": used.get(k, 0), "reserved": 0}
                                 for k, v in body.items() if k != "id"}}


@router.route(f"{V3}/os-quota-sets/<target_id>")
def show_quotas(req: Req) -> Response:
    target = _quota_target(req)
    usage = req.cloud.cinder_quotas.usage(target)
    if req.query.get("usage", "").lower() in ("true", "1", "yes"):
        return json_response({"quota_set": _with_usage(target, usage)})
    return json_response({"quota_set": _quota_set(target, usage.limits.volumes,
                                                  usage.limits.gib)})


@router.route(f"{V3}/os-quota-sets/<target_id>/defaults")
def default_quotas(req: Req) -> Response:
    _quota_target(req)
    found = req.cloud.cinder_quotas.defaults()
    return json_response({"quota_set": _quota_set(req.args["target_id"], found.volumes,
                                                  found.gib)})


def _limit(spec: dict[str, Any], key: str) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or \
            not str(value).lstrip("-").isdigit():
        raise bad_request(f"Invalid input received: Quota {key} must be an integer.")
    return int(value)


@router.route(f"{V3}/os-quota-sets/<target_id>", "PUT", Need.ADMIN)
def update_quotas(req: Req) -> Response:
    spec = req.body().get("quota_set")
    if not isinstance(spec, dict):
        raise bad_request("Missing required element 'quota_set' in request body.")
    unknown = set(spec) - {"volumes", "gigabytes", "snapshots", "backups",
                           "backup_gigabytes", "per_volume_gigabytes", "groups", "tenant_id"}
    if unknown:
        raise bad_request(f"Bad key(s) in quota set: {', '.join(sorted(unknown))}")
    found = req.cloud.cinder_quotas.set(req.args["target_id"], _limit(spec, "volumes"),
                                        _limit(spec, "gigabytes"))
    body = _quota_set(req.args["target_id"], found.volumes, found.gib)
    body.pop("id")
    return json_response({"quota_set": body})


@router.route(f"{V3}/extensions")
def extensions(req: Req) -> Response:
    return json_response({"extensions": []})  # none beyond the base API


@router.route(f"{V3}/os-quota-sets/<target_id>", "DELETE", Need.ADMIN)
def reset_quotas(req: Req) -> Response:
    req.cloud.cinder_quotas.reset(req.args["target_id"])
    return no_content(200)


# zones ------------------------------------------------------------------------------------

@router.route(f"{V3}/os-availability-zone")
def zones(req: Req) -> Response:
    return json_response({"availabilityZoneInfo": [
        {"zoneName": z, "zoneState": {"available": True}}
        for z in req.cloud.catalog.availability_zones()]})


class BlockStorageFace(Face):
    name = "volume"

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(cloud, [router, cinder_volumes.router, cinder_snapshots.router])

    def fault(self, status: int, message: str) -> Response:
        name = FAULT_NAMES.get(status, "computeFault")
        return json_response({name: {"code": status, "message": message}}, status)

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        response.headers["OpenStack-API-Version"] = f"volume {VERSION}"
        response.headers["Vary"] = "OpenStack-API-Version"
        return response

    def _dispatch(self, request: Request) -> Response:
        try:
            return super()._dispatch(request)
        except CloudError as exc:  # Cinder's codes, not the shared ones
            raise Fault(STATUS_OF_KIND.get(exc.kind, 400), exc.message) from exc

    def before(self, req: Req) -> None:
        project = req.args.get("project_id")
        if project is not None and req.scope is not None and \
                project != req.ctx.project_id:
            raise bad_request(f"Malformed request URL: the URL's project_id '{project[:64]}' "
                              "does not match the token's project.")
