"""Nova's compute API, microversions 2.1 to 2.79 (see microversions.py): version documents,
microversion negotiation, flavors (the instance-type table) and the fault format. Servers,
actions, key pairs, limits and zones live in their own modules."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from overcast.api.openstack import (
    compute_admin,
    compute_extras,
    compute_images,
    compute_secgroups,
    flavor_extras,
    server_actions,
    server_extras,
    server_tags,
    servers,
    volume_attachments,
)
from overcast.api.openstack import microversions as mv
from overcast.api.openstack import nova_views as views
from overcast.api.openstack.catalog import COMPUTE, link
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
from overcast.cloud.compute import InstanceTypeRecord
from overcast.cloud.service import Cloud

router = Router()
V21 = f"{COMPUTE}/v2.1"
FAULT_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
               405: "badMethod", 406: "notAcceptable", 409: "conflictingRequest",
               413: "overLimit", 501: "notImplemented"}
_VERSION_KEY = "overcast.compute_microversion"  # the negotiated version, in the environ


def _v21(req: Req, detail: bool) -> dict[str, Any]:
    version: dict[str, Any] = {
        "id": "v2.1", "status": "CURRENT", "version": mv.text(mv.MAX_VERSION),
        "min_version": mv.text(mv.MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
        "links": [link(f"{req.host_url}{V21}/")]}
    if detail:
        version["media-types"] = [{"base": "application/json",
                                   "type": "application/vnd.openstack.compute+json;"
                                           "version=2.1"}]
    return version


def _v20(req: Req) -> dict[str, Any]:
    """The legacy v2.0 API, listed first as Nova does; served by the same 2.1 code."""
    return {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
            "updated": "2011-01-21T11:33:21Z",
            "links": [link(f"{req.host_url}{COMPUTE}/v2/")]}


@router.route(COMPUTE, need=Need.NOTHING)
def versions(req: Req) -> Response:
    return json_response({"versions": [_v20(req), _v21(req, False)]})


@router.route(V21, need=Need.NOTHING)
def version(req: Req) -> Response:
    return json_response({"version": _v21(req, True)})


@router.route(f"{COMPUTE}/v2", need=Need.NOTHING)
def version_v20(req: Req) -> Response:
    return json_response({"version": {**_v20(req), "media-types": [
        {"base": "application/json",
         "type": "application/vnd.openstack.compute+json;version=2"}]}})


# flavors --------------------------------------------------------------------------------------

def _public_filter(value: str | None) -> None:
    if value is None or value.lower() in ("none", "true", "1", "yes", "t"):
        return
    if value.lower() in ("false", "0", "no", "f"):
        return
    raise bad_request(f"Invalid is_public filter [{value[:32]}]")


def _flavors(req: Req) -> tuple[list[InstanceTypeRecord], list[dict[str, str]]]:
    query = req.query
    _public_filter(query.get("is_public"))
    min_disk = int_arg(query.get("minDisk"), "minDisk") or 0
    min_ram = int_arg(query.get("minRam"), "minRam") or 0
    found = [t for t in req.cloud.catalog.instance_types().values()
             if t.disk_gib >= min_disk and t.memory_mib >= min_ram]
    if query.get("is_public", "").lower() in ("false", "0", "no", "f"):
        found = []  # every flavor here is public
    sort_key = {"name": "name", "flavorid": "name", "id": "name", "memory_mb": "memory_mib",
                "vcpus": "vcpus", "root_gb": "disk_gib"}.get(query.get("sort_key", "flavorid"))
    if sort_key is None:
        raise bad_request(f"Invalid sort_key {query.get('sort_key', '')[:32]}")
    reverse = query.get("sort_dir", "asc") == "desc"
    found.sort(key=lambda t: (getattr(t, sort_key), t.name), reverse=reverse)
    marker = query.get("marker")
    if marker:
        names = [t.name for t in found]
        if marker not in names:
            raise bad_request(f"marker [{marker}] not found")
        found = found[names.index(marker) + 1:]
    limit = int_arg(query.get("limit"), "limit")
    if limit is None or len(found) <= limit:
        return found, []
    if limit == 0:
        return [], []
    found = found[:limit]
    return found, [link(f"{req.host_url}{req.request.path}?limit={limit}&marker="
                        f"{found[-1].name}", "next")]


@router.route(f"{V21}/flavors")
def list_flavors(req: Req) -> Response:
    found, links = _flavors(req)
    body: dict[str, Any] = {"flavors": [views.flavor_summary(req.host_url, t)
                                        for t in found]}
    if links:
        body["flavors_links"] = links
    return json_response(body)


@router.route(f"{V21}/flavors/detail")
def list_flavors_detail(req: Req) -> Response:
    found, links = _flavors(req)
    body: dict[str, Any] = {"flavors": [flavor_extras.flavor_body(req, t) for t in found]}
    if links:
        body["flavors_links"] = links
    return json_response(body)


def _flavor(req: Req, flavor_id: str) -> InstanceTypeRecord:
    found = req.cloud.catalog.instance_types().get(flavor_id)
    if found is None:
        raise Fault(404, f"Flavor {flavor_id} could not be found.")
    return found


@router.route(f"{V21}/flavors/<flavor_id>")
def show_flavor(req: Req) -> Response:
    return json_response({"flavor": flavor_extras.flavor_body(
        req, flavor_extras.find_flavor(req, req.args["flavor_id"]))})


def _positive(spec: dict[str, Any], key: str, minimum: int) -> int:
    value = spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise bad_request(f"Invalid input for field '{key}'.")
    try:
        number = int(value)
    except ValueError as exc:
        raise bad_request(f"Invalid input for field '{key}'.") from exc
    if number < minimum:
        raise bad_request(f"Invalid input for field '{key}': at least {minimum}.")
    return number


@router.route(f"{V21}/flavors", "POST", Need.ADMIN)
def create_flavor(req: Req) -> Response:
    spec = req.body().get("flavor")
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise bad_request("The request body needs a 'flavor' object with a name.")
    name = spec["name"]
    if spec.get("description") is not None:
        raise bad_request("A flavor's description is not supported here." if
                          mv.at_least(req, "flavor_description") else
                          "Additional properties are not allowed ('description' was "
                          "unexpected).")
    if spec.get("id") not in (None, "auto", name):
        raise bad_request("A flavor's ID here is its name: leave 'id' out or make it equal.")
    itype = req.cloud.catalog.create_instance_type(
        name, _positive(spec, "vcpus", 1), _positive(spec, "ram", 1),
        max(_positive(spec, "disk", 0), 1))
    return json_response({"flavor": flavor_extras.flavor_body(req, itype)})


@router.route(f"{V21}/flavors/<flavor_id>", "DELETE", Need.ADMIN)
def delete_flavor(req: Req) -> Response:
    itype = flavor_extras.find_flavor(req, req.args["flavor_id"])
    req.cloud.catalog.delete_instance_type(itype.name)
    return no_content(202)


class ComputeFace(Face):
    name = "compute"

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(cloud, [router, servers.router, server_actions.router,
                                 compute_extras.router, compute_images.router,
                                 compute_secgroups.router, flavor_extras.router,
                                 server_extras.router, server_tags.router,
                                 compute_admin.router, volume_attachments.router])

    def fault(self, status: int, message: str) -> Response:
        name = FAULT_NAMES.get(status, "computeFault")
        return json_response({name: {"code": status, "message": message}}, status)

    def handle(self, request: Request) -> Response:
        """Every answer, faults too, names the version it was made at."""
        response = super().handle(request)
        response.headers.extend(mv.headers_for(request.environ.get(_VERSION_KEY,
                                                                   mv.MIN_VERSION)))
        return response

    def before(self, req: Req) -> None:
        req.microversion = mv.negotiate(mv.requested(req.request.headers))
        req.request.environ[_VERSION_KEY] = req.microversion
        if mv.at_least(req, "no_proxies") and _is_proxy(req.request.path):
            raise Fault(404, "The resource could not be found.")


_PROXIES = ("/images", "/os-security-groups", "/os-security-group-rules", "/os-networks",
            "/os-floating-ips", "/os-fixed-ips")


def _is_proxy(path: str) -> bool:
    """The proxy APIs 2.36 removed (servers' own security groups stay)."""
    return path.removeprefix(V21).startswith(_PROXIES)
