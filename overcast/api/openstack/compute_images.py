"""Nova's image proxy at 2.1: images as Nova shows them, and their metadata (Glance's
properties)."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.catalog import COMPUTE, link
from overcast.api.openstack.servers import visible_images
from overcast.api.openstack.wsgi import (
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    int_arg,
    iso,
    json_response,
    no_content,
)
from overcast.cloud.images import ImageView

router = Router()
V21 = f"{COMPUTE}/v2.1"
MAX_IMAGE_META = 128


# EC2 image states -> what Nova's image proxy says
NOVA_IMAGE_STATUS = {"available": "ACTIVE", "failed": "ERROR", "pending": "SAVING"}


def _properties(req: Req, view: ImageView) -> dict[str, str]:
    attrs = req.cloud.image_uploads.attributes([view.item.id]).get(view.item.id)
    return json.loads(attrs.properties) if attrs is not None else {}


def _image(req: Req, view: ImageView, detail: bool) -> dict[str, Any]:
    image = view.item
    compute = f"{req.host_url}{COMPUTE}"
    body: dict[str, Any] = {
        "id": image.uuid, "name": image.name,
        "links": [link(f"{compute}/v2.1/images/{image.uuid}"),
                  link(f"{compute}/images/{image.uuid}", "bookmark")]}
    if detail:
        body.update({"status": NOVA_IMAGE_STATUS.get(image.state, "SAVING"),
                     "progress": 100 if image.state == "available" else 0,
                     "minDisk": 0, "minRam": 0, "metadata": _properties(req, view),
                     "created": iso(image.created_at), "updated": iso(image.created_at),
                     "OS-EXT-IMG-SIZE:size": image.size_bytes})
    return body


def _listed(req: Req, detail: bool) -> Response:
    views = sorted(visible_images(req), key=lambda v: (v.item.created_at, v.item.uuid),
                   reverse=True)
    name = req.query.get("name")
    views = [v for v in views if not name or v.item.name == name]
    marker = req.query.get("marker")
    if marker:
        ids = [v.item.uuid for v in views]
        if marker not in ids:
            raise bad_request(f"marker [{marker}] not found")
        views = views[ids.index(marker) + 1:]
    limit = int_arg(req.query.get("limit"), "limit")
    body: dict[str, Any] = {}
    if limit is not None and len(views) > limit:
        views = views[:limit]
        if views:
            body["images_links"] = [link(f"{req.host_url}{req.request.path}?limit={limit}"
                                         f"&marker={views[-1].item.uuid}", "next")]
    body["images"] = [_image(req, v, detail) for v in views]
    return json_response(body)


@router.route(f"{V21}/images")
def list_images(req: Req) -> Response:
    return _listed(req, False)


@router.route(f"{V21}/images/detail")
def list_images_detail(req: Req) -> Response:
    return _listed(req, True)


def _find(req: Req) -> ImageView:
    view = req.cloud.images.by_uuid(req.ctx, req.args["image_id"])
    if view is None:
        raise Fault(404, "Image not found.")
    return view


@router.route(f"{V21}/images/<image_id>")
def show_image(req: Req) -> Response:
    return json_response({"image": _image(req, _find(req), True)})


@router.route(f"{V21}/images/<image_id>", "DELETE", Need.MEMBER)
def delete_image(req: Req) -> Response:
    req.cloud.image_uploads.delete(req.ctx, _find(req).item.id)
    return no_content()


# metadata ---------------------------------------------------------------------------------------

def _checked(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, dict):
        raise bad_request("metadata must be an object of strings.")
    for key, value in metadata.items():
        if not 1 <= len(key) <= 255 or not isinstance(value, str) or len(value) > 255:
            raise bad_request(f"Invalid metadata item '{str(key)[:64]}'.")
    if len(metadata) > MAX_IMAGE_META:
        raise Fault(403, f"Quota exceeded for image metadata: at most {MAX_IMAGE_META}.")
    return metadata


def _store(req: Req, view: ImageView, metadata: dict[str, str]) -> None:
    req.cloud.image_uploads.update(req.ctx, view.item.id, {"properties": _checked(metadata)})


@router.route(f"{V21}/images/<image_id>/metadata")
def list_metadata(req: Req) -> Response:
    return json_response({"metadata": _properties(req, _find(req))})


@router.route(f"{V21}/images/<image_id>/metadata", ("POST", "PUT"), Need.MEMBER)
def set_metadata(req: Req) -> Response:
    view = _find(req)
    given = _checked(req.body().get("metadata"))
    merged = given if req.request.method == "PUT" else {**_properties(req, view), **given}
    _store(req, view, merged)
    return json_response({"metadata": merged})


@router.route(f"{V21}/images/<image_id>/metadata/<key>")
def show_metadata_item(req: Req) -> Response:
    found = _properties(req, _find(req))
    if req.args["key"] not in found:
        raise Fault(404, "Image metadata item not found.")
    return json_response({"meta": {req.args["key"]: found[req.args["key"]]}})


@router.route(f"{V21}/images/<image_id>/metadata/<key>", "PUT", Need.MEMBER)
def set_metadata_item(req: Req) -> Response:
    view = _find(req)
    meta = req.body().get("meta")
    if not isinstance(meta, dict) or list(meta) != [req.args["key"]]:
        raise bad_request("The body needs a 'meta' object with exactly the key of the URL.")
    _store(req, view, {**_properties(req, view), **_checked(meta)})
    return json_response({"meta": meta})


@router.route(f"{V21}/images/<image_id>/metadata/<key>", "DELETE", Need.MEMBER)
def delete_metadata_item(req: Req) -> Response:
    view = _find(req)
    found = _properties(req, view)
    if req.args["key"] not in found:
        raise Fault(404, "Image metadata item not found.")
    found.pop(req.args["key"])
    _store(req, view, found)
    return no_content()
