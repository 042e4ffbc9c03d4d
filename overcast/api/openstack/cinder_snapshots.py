"""Cinder v3 snapshots: create (force for an in-use volume), list, detail, show, update,
delete and metadata, over EC2's snapshots (cloud.cinder_snapshots)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import cinder_views as views
from overcast.api.openstack.cinder_lists import listing
from overcast.api.openstack.cinder_views import V3
from overcast.api.openstack.cinder_volumes import element, metadata, text
from overcast.api.openstack.wsgi import (
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
    not_found,
)
from overcast.cloud.storage import SnapshotCreate

router = Router()
_TRUE = ("true", "1", "yes", "t", "y", "on")


def _details(req: Req) -> list[dict[str, Any]]:
    return [views.snapshot_body(req, s) for s in req.cloud.cinder_snapshots.list_all(req.ctx)]


def _answer(req: Req, detail: bool) -> Response:
    page, links = listing(req, "snapshots", _details(req))
    if not detail:
        page = [{k: v for k, v in s.items() if not k.startswith("os-extended")}
                for s in page]
    body: dict[str, Any] = {"snapshots": page}
    if links:
        body["snapshots_links"] = links
    return json_response(body)


@router.route(f"{V3}/snapshots")
def list_snapshots(req: Req) -> Response:
    return _answer(req, False)


@router.route(f"{V3}/snapshots/detail")
def list_snapshots_detail(req: Req) -> Response:
    return _answer(req, True)


@router.route(f"{V3}/snapshots/<snapshot_ref>")
def show_snapshot(req: Req) -> Response:
    found = req.cloud.cinder_snapshots.get(req.ctx, req.args["snapshot_ref"])
    return json_response({"snapshot": views.snapshot_body(req, found)})


def _force(spec: dict[str, Any]) -> bool:
    value = spec.get("force", False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (*_TRUE, "false", "0", "no", "f", "n",
                                                    "off"):
        return value.lower() in _TRUE
    raise bad_request("Invalid input received: force must be a boolean.")


@router.route(f"{V3}/snapshots", "POST", Need.MEMBER)
def create_snapshot(req: Req) -> Response:
    spec = element(req, "snapshot")
    volume = text(spec, "volume_id")
    if not volume:  # Cinder looks the volume None up
        raise not_found(f"Volume {volume} could not be found.")
    made = req.cloud.cinder_snapshots.create(req.ctx, SnapshotCreate(
        volume_ref=volume, name=text(spec, "name") or text(spec, "display_name") or "",
        description=text(spec, "description") or text(spec, "display_description") or "",
        force=_force(spec), metadata=metadata(spec)))
    return json_response({"snapshot": views.snapshot_body(req, made, detail=False)}, 202)


@router.route(f"{V3}/snapshots/<snapshot_ref>", "PUT", Need.MEMBER)
def update_snapshot(req: Req) -> Response:
    spec = element(req, "snapshot")
    if not {"name", "description", "display_name", "display_description"} & set(spec):
        raise bad_request("Invalid input received: the snapshot update needs a name or a "
                          "description.")
    name = text(spec, "name") if "name" in spec else text(spec, "display_name")
    description = text(spec, "description") if "description" in spec else \
        text(spec, "display_description")
    found = req.cloud.cinder_snapshots.update(req.ctx, req.args["snapshot_ref"], name,
                                              description)
    return json_response({"snapshot": views.snapshot_body(req, found, detail=False)})


@router.route(f"{V3}/snapshots/<snapshot_ref>", "DELETE", Need.MEMBER)
def delete_snapshot(req: Req) -> Response:
    req.cloud.cinder_snapshots.delete(req.ctx, req.args["snapshot_ref"])
    return no_content(202)


@router.route(f"{V3}/snapshots/<snapshot_ref>/metadata")
def show_metadata(req: Req) -> Response:
    found = req.cloud.cinder_snapshots.get(req.ctx, req.args["snapshot_ref"])
    return json_response({"metadata": found.metadata})


@router.route(f"{V3}/snapshots/<snapshot_ref>/metadata", ("POST", "PUT"), Need.MEMBER)
def set_metadata(req: Req) -> Response:
    given = metadata(req.body())
    if given is None:
        raise bad_request("Missing required element 'metadata' in request body.")
    found = req.cloud.cinder_snapshots.set_metadata(
        req.ctx, req.args["snapshot_ref"], given, replace_all=req.request.method == "PUT")
    return json_response({"metadata": found})


@router.route(f"{V3}/snapshots/<snapshot_ref>/metadata/<key>")
def show_metadata_item(req: Req) -> Response:
    found = req.cloud.cinder_snapshots.get(req.ctx, req.args["snapshot_ref"])
    if req.args["key"] not in found.metadata:
        raise not_found(f"Snapshot {req.args['snapshot_ref']} has no metadata with key "
                        f"{req.args['key'][:64]}.")
    return json_response({"meta": {req.args["key"]: found.metadata[req.args["key"]]}})


@router.route(f"{V3}/snapshots/<snapshot_ref>/metadata/<key>", "PUT", Need.MEMBER)
def set_metadata_item(req: Req) -> Response:
    given = metadata(req.body(), "meta")
    if given is None or list(given) != [req.args["key"]]:
        raise bad_request("Request body and URI mismatch: 'meta' must hold exactly the key "
                          "of the URI.")
    req.cloud.cinder_snapshots.set_metadata(req.ctx, req.args["snapshot_ref"], given,
                                            replace_all=False)
    return json_response({"meta": given})


@router.route(f"{V3}/snapshots/<snapshot_ref>/metadata/<key>", "DELETE", Need.MEMBER)
def delete_metadata_item(req: Req) -> Response:
    req.cloud.cinder_snapshots.delete_metadata(req.ctx, req.args["snapshot_ref"],
                                               req.args["key"])
    return no_content(200)
