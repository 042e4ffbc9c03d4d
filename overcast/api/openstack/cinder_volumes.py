"""Cinder v3 volumes: create (blank or from a snapshot), list, detail, show, update, delete,
metadata and the os-extend action, over the same volumes as EC2's (cloud.cinder_volumes)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import cinder_views as views
from overcast.api.openstack.cinder_lists import listing
from overcast.api.openstack.cinder_views import V3
from overcast.api.openstack.wsgi import (
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
    not_found,
)
from overcast.cloud.storage import CinderCreate, CinderUpdate
from overcast.cloud.storage.types import SIZES

router = Router()
UNSUPPORTED_SOURCES = {"source_volid": "cloning a volume", "imageRef": "volumes from images",
                       "backup_id": "backups", "consistencygroup_id": "consistency groups",
                       "group_id": "groups", "source_replica": "replicas"}


def element(req: Req, key: str) -> dict[str, Any]:
    found = req.body().get(key)
    if not isinstance(found, dict):
        raise bad_request(f"Missing required element '{key}' in request body.")
    return found


def text(spec: dict[str, Any], key: str) -> str | None:
    value = spec.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"Invalid input for field/attribute {key}: must be a string.")
    return value


def metadata(spec: dict[str, Any], key: str = "metadata") -> dict[str, str] | None:
    value = spec.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad_request(f"Invalid input for field/attribute {key}: must be an object of "
                          "strings.")
    return value


def size(spec: dict[str, Any], key: str) -> int | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str) or \
            not str(value).strip().lstrip("-").isdigit():
        raise bad_request(f"Invalid input received: {key} must be an integer (got "
                          f"{str(value)[:32]}).")
    number = int(value)
    if number < 1:
        raise bad_request(f"Invalid input received: {key} must be an integer and greater "
                          f"than 0 (got {number}).")
    return number


def _type_name(ref: str | None) -> str | None:
    if ref is None:
        return None
    for name in SIZES:
        if ref in (name, views.type_id(name)):
            return name
    raise not_found(f"Volume type with name {ref[:64]} could not be found.")


def _details(req: Req) -> list[dict[str, Any]]:
    return [views.volume_detail(req, v) for v in req.cloud.cinder_volumes.list_all(req.ctx)]


@router.route(f"{V3}/volumes")
def list_volumes(req: Req) -> Response:
    if req.request.path.endswith("/"):  # /volumes/ is a volume with no ID
        raise not_found("Volume could not be found.")
    page, links = listing(req, "volumes", _details(req))
    body: dict[str, Any] = {"volumes": [{k: v[k] for k in ("id", "name", "links")}
                                        for v in page]}
    if links:
        body["volumes_links"] = links
    return json_response(body)


@router.route(f"{V3}/volumes/detail")
def list_volumes_detail(req: Req) -> Response:
    page, links = listing(req, "volumes", _details(req))
    body: dict[str, Any] = {"volumes": page}
    if links:
        body["volumes_links"] = links
    return json_response(body)


@router.route(f"{V3}/volumes/<volume_ref>")
def show_volume(req: Req) -> Response:
    found = req.cloud.cinder_volumes.get(req.ctx, req.args["volume_ref"])
    return json_response({"volume": views.volume_detail(req, found)})


@router.route(f"{V3}/volumes", "POST", Need.MEMBER)
def create_volume(req: Req) -> Response:
    spec = element(req, "volume")
    if isinstance(spec.get("source_volid"), str):  # an unknown one is a 404, as in Cinder
        req.cloud.cinder_volumes.get(req.ctx, spec["source_volid"])
    for key, what in UNSUPPORTED_SOURCES.items():
        if spec.get(key):
            raise bad_request(f"Invalid input received: {what} is not supported here "
                              f"('{key}').")
    if spec.get("multiattach"):
        raise bad_request("Invalid input received: multiattach volumes are not supported.")
    snapshot = text(spec, "snapshot_id")
    wanted = size(spec, "size")
    if wanted is None and not snapshot:
        raise bad_request("Invalid input received: a volume needs a size or a snapshot_id.")
    made = req.cloud.cinder_volumes.create(req.ctx, CinderCreate(
        size_gib=wanted, zone=text(spec, "availability_zone"),
        volume_type=_type_name(text(spec, "volume_type")), snapshot_ref=snapshot,
        name=text(spec, "name") or text(spec, "display_name") or "",
        description=text(spec, "description") or text(spec, "display_description") or "",
        metadata=metadata(spec)))
    return json_response({"volume": views.volume_detail(req, made, owner=False)}, 202)


@router.route(f"{V3}/volumes/<volume_ref>", "PUT", Need.MEMBER)
def update_volume(req: Req) -> Response:
    spec = element(req, "volume")
    if not {"name", "description", "metadata", "display_name",
            "display_description"} & set(spec):
        raise bad_request("Invalid input received: the volume update needs a name, a "
                          "description or metadata.")
    name = text(spec, "name") if "name" in spec else text(spec, "display_name")
    description = text(spec, "description") if "description" in spec else \
        text(spec, "display_description")
    found = req.cloud.cinder_volumes.update(req.ctx, req.args["volume_ref"], CinderUpdate(
        name=name if name is not None or "name" not in spec else "",
        description=description, metadata=metadata(spec)))
    return json_response({"volume": views.volume_detail(req, found, owner=False)})


@router.route(f"{V3}/volumes/<volume_ref>", "DELETE", Need.MEMBER)
def delete_volume(req: Req) -> Response:
    if req.query.get("cascade", "").lower() in ("true", "1", "yes"):
        raise bad_request("Invalid input received: cascade delete is not supported.")
    req.cloud.cinder_volumes.delete(req.ctx, req.args["volume_ref"])
    return no_content(202)


@router.route(f"{V3}/volumes/<volume_ref>/action", "POST", Need.MEMBER)
def volume_action(req: Req) -> Response:
    body = req.body()
    if len(body) != 1:
        raise bad_request("Invalid request body: exactly one action is expected.")
    action, spec = next(iter(body.items()))
    req.cloud.cinder_volumes.get(req.ctx, req.args["volume_ref"])  # 404 first, as Cinder
    if action != "os-extend":
        raise bad_request(f"The action {str(action)[:64]} is not supported here: of the "
                          "volume actions only os-extend is (attach through Nova).")
    if not isinstance(spec, dict):
        raise bad_request("Invalid input received: os-extend needs an object with new_size.")
    new_size = size(spec, "new_size")
    if new_size is None:
        raise bad_request("Invalid input received: os-extend needs new_size.")
    req.cloud.cinder_volumes.extend(req.ctx, req.args["volume_ref"], new_size)
    return no_content(202)


# metadata ---------------------------------------------------------------------------------

@router.route(f"{V3}/volumes/<volume_ref>/metadata")
def show_metadata(req: Req) -> Response:
    found = req.cloud.cinder_volumes.get(req.ctx, req.args["volume_ref"])
    return json_response({"metadata": found.metadata})


@router.route(f"{V3}/volumes/<volume_ref>/metadata", ("POST", "PUT"), Need.MEMBER)
def set_metadata(req: Req) -> Response:
    given = metadata(req.body())
    if given is None:
        raise bad_request("Missing required element 'metadata' in request body.")
    found = req.cloud.cinder_volumes.set_metadata(req.ctx, req.args["volume_ref"], given,
                                                  replace_all=req.request.method == "PUT")
    return json_response({"metadata": found})


@router.route(f"{V3}/volumes/<volume_ref>/metadata/<key>")
def show_metadata_item(req: Req) -> Response:
    found = req.cloud.cinder_volumes.get(req.ctx, req.args["volume_ref"])
    if req.args["key"] not in found.metadata:
        raise not_found(f"Volume {req.args['volume_ref']} has no metadata with key "
                        f"{req.args['key'][:64]}.")
    return json_response({"meta": {req.args["key"]: found.metadata[req.args["key"]]}})


@router.route(f"{V3}/volumes/<volume_ref>/metadata/<key>", "PUT", Need.MEMBER)
def set_metadata_item(req: Req) -> Response:
    given = metadata(req.body(), "meta")
    if given is None or list(given) != [req.args["key"]]:
        raise bad_request("Request body and URI mismatch: 'meta' must hold exactly the key "
                          "of the URI.")
    req.cloud.cinder_volumes.set_metadata(req.ctx, req.args["volume_ref"], given,
                                          replace_all=False)
    return json_response({"meta": given})


@router.route(f"{V3}/volumes/<volume_ref>/metadata/<key>", "DELETE", Need.MEMBER)
def delete_metadata_item(req: Req) -> Response:
    req.cloud.cinder_volumes.delete_metadata(req.ctx, req.args["volume_ref"], req.args["key"])
    return no_content(200)
