"""Glance v2: version discovery, images (list with filters and paging, show, create, JSON
patch, delete), streamed data upload and download, tags, and the schema documents."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from functools import partial
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import image_members, image_metadefs, image_schemas
from overcast.api.openstack.catalog import IMAGE, link
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
from overcast.clock import as_utc
from overcast.cloud.images import DescribeRequest, GlanceAttributes, ImageView, NewImage
from overcast.cloud.service import Cloud

router = Router()
V2 = f"{IMAGE}/v2"
READ_ONLY = {"id", "status", "checksum", "os_hash_algo", "os_hash_value", "size",
             "virtual_size", "created_at", "updated_at", "self", "file", "schema",
             "direct_url", "locations", "os_hidden"}
SETTABLE = {"name", "visibility", "disk_format", "container_format", "min_disk", "min_ram",
            "protected", "tags", "owner"}
TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
          405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large",
          415: "Unsupported Media Type"}
PATCH_TYPES = ("application/openstack-images-v2.1-json-patch",
               "application/openstack-images-v2.0-json-patch")


def _time(value: Any) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _defaults(view: ImageView) -> GlanceAttributes:
    return GlanceAttributes.defaults(view.item)


def _visibility(req: Req, view: ImageView, attrs: GlanceAttributes) -> str:
    if view.item.is_public:
        return "community" if attrs.visibility == "community" else "public"
    if view.item.project_id != req.ctx.project_id or view.shared_with:
        return "shared"
    return attrs.visibility if attrs.visibility in ("private", "shared") else "private"


def render(req: Req, view: ImageView, attrs: GlanceAttributes | None) -> dict[str, Any]:
    image = view.item
    attrs = attrs or _defaults(view)
    body: dict[str, Any] = json.loads(attrs.properties or "{}")
    body.update({
        "id": image.uuid, "name": image.name or None, "status": attrs.status,
        "visibility": _visibility(req, view, attrs), "protected": attrs.protected,
        "os_hidden": False, "checksum": attrs.checksum,
        "os_hash_algo": "sha512" if attrs.os_hash_value else None,
        "os_hash_value": attrs.os_hash_value, "owner": attrs.owner or image.project_id,
        "size": attrs.data_size, "virtual_size": attrs.virtual_size,
        "min_ram": attrs.min_ram, "min_disk": attrs.min_disk,
        "disk_format": attrs.disk_format, "container_format": attrs.container_format,
        "created_at": _time(image.created_at), "updated_at": _time(attrs.updated_at),
        "tags": json.loads(attrs.tags or "[]"), "self": f"/v2/images/{image.uuid}",
        "file": f"/v2/images/{image.uuid}/file", "schema": "/v2/schemas/image"})
    return body


def _views(req: Req) -> list[ImageView]:
    return req.cloud.images.describe(req.ctx, DescribeRequest())


def _find(req: Req, image_id: str) -> ImageView:
    view = req.cloud.images.by_uuid(req.ctx, image_id)
    if view is None:
        raise Fault(404, f"No image found with ID {image_id}")
    return view


def _attrs(req: Req, view: ImageView) -> GlanceAttributes | None:
    return req.cloud.image_uploads.attributes([view.item.id]).get(view.item.id)


def _show(req: Req, image_id: str, status: int = 200) -> Response:
    view = _find(req, image_id)
    return json_response(render(req, view, _attrs(req, view)), status)


# versions -------------------------------------------------------------------------------------

def _versions(req: Req) -> list[dict[str, Any]]:
    return [{"id": f"v2.{minor}", "status": "CURRENT" if minor == 9 else "SUPPORTED",
             "links": [link(f"{req.host_url}{V2}/")]} for minor in range(9, -1, -1)]


@router.route(IMAGE, need=Need.NOTHING)
def versions(req: Req) -> Response:
    return json_response({"versions": _versions(req)}, 300)


@router.route(f"{IMAGE}/versions", need=Need.NOTHING)
def versions_listing(req: Req) -> Response:
    return json_response({"versions": _versions(req)})


@router.route(V2, need=Need.NOTHING)
def version(req: Req) -> Response:
    return json_response({"versions": _versions(req)}, 300)


# listing --------------------------------------------------------------------------------------

SORT_KEYS = {"created_at", "updated_at", "name", "size", "status", "id", "disk_format",
             "container_format", "min_disk", "min_ram", "visibility", "owner"}


def _filtered(req: Req, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    query = req.query
    for key in ("name", "status", "visibility", "disk_format", "container_format", "owner",
                "id"):
        value = query.get(key)
        if value is None or (key == "visibility" and value == "all"):
            continue
        wanted = set(value[3:].split(",")) if value.startswith("in:") else {value}
        items = [i for i in items if str(i.get(key)) in wanted]
    if query.get("protected") is not None:
        wanted = query["protected"].lower()
        if wanted not in ("true", "false"):
            raise bad_request("protected must be true or false.")
        items = [i for i in items if i["protected"] == (wanted == "true")]
    for tag in query.getlist("tag"):
        items = [i for i in items if tag in i["tags"]]
    size_min = int_arg(query.get("size_min"), "size_min")
    size_max = int_arg(query.get("size_max"), "size_max")
    if size_min is not None:
        items = [i for i in items if (i["size"] or 0) >= size_min]
    if size_max is not None:
        items = [i for i in items if (i["size"] or 0) <= size_max]
    return items


def _sorted(req: Req, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys: list[tuple[str, str]] = []
    if req.query.get("sort"):
        for part in req.query["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            keys.append((key, direction or "desc"))
    else:
        directions = req.query.getlist("sort_dir") or ["desc"]
        for index, key in enumerate(req.query.getlist("sort_key") or ["created_at"]):
            keys.append((key, directions[min(index, len(directions) - 1)]))
    for key, direction in keys:
        if key not in SORT_KEYS or direction not in ("asc", "desc"):
            raise bad_request(f"Invalid sort key or direction: {key}:{direction}")
    items = sorted(items, key=lambda i: i["id"], reverse=True)
    for key, direction in reversed(keys):
        items.sort(key=partial(_sort_value, key), reverse=direction == "desc")
    return items


def _sort_value(key: str, image: dict[str, Any]) -> tuple[bool, Any]:
    """Numbers sort as numbers, the rest as text; images without the key come first."""
    value = image.get(key)
    if key in ("size", "min_disk", "min_ram"):
        return value is not None, value or 0
    return value is not None, str(value or "")


def _listable(req: Req, views: list[ImageView]) -> list[ImageView]:
    """Images shared with the project show once it accepted them (or as member_status
    asks: pending, rejected, all)."""
    wanted = req.query.get("member_status", "accepted")
    if wanted not in ("pending", "accepted", "rejected", "all"):
        raise bad_request(f"Invalid member_status '{wanted[:32]}'.")
    answers = req.cloud.image_members.statuses(req.ctx.project_id)
    only_shared_with_me = req.query.get("visibility") == "shared"
    found = []
    for view in views:
        shared_with_me = not view.item.is_public and \
            view.item.project_id != req.ctx.project_id
        status = answers.get(view.item.id, "accepted")
        wanted_here = wanted in ("all", status) if shared_with_me else not only_shared_with_me
        if wanted_here:
            found.append(view)
    return found


@router.route(f"{V2}/images")
def list_images(req: Req) -> Response:
    views = _listable(req, _views(req))
    attrs = req.cloud.image_uploads.attributes([v.item.id for v in views])
    items = _sorted(req, _filtered(req, [render(req, v, attrs.get(v.item.id))
                                         for v in views]))
    marker = req.query.get("marker")
    if marker:
        ids = [i["id"] for i in items]
        if marker not in ids:
            raise bad_request(f"marker [{marker}] not found")
        items = items[ids.index(marker) + 1:]
    limit = int_arg(req.query.get("limit"), "limit")
    body: dict[str, Any] = {"first": "/v2/images", "schema": "/v2/schemas/images"}
    if limit == 0:
        items = []
    elif limit is not None and len(items) > limit:
        items = items[:limit]
        params = [(k, v) for k, v in req.query.items(multi=True) if k != "marker"]
        params.append(("marker", items[-1]["id"]))
        from urllib.parse import urlencode

        body["next"] = f"/v2/images?{urlencode(params)}"
    body["images"] = items
    return json_response(body)


@router.route(f"{V2}/images/<image_id>")
def show_image(req: Req) -> Response:
    return _show(req, req.args["image_id"])


# creating and changing ----------------------------------------------------------------------

def _check_value(key: str, value: Any) -> Any:
    if key == "name" and value is not None and (not isinstance(value, str)
                                                 or len(value) > 255):
        raise bad_request("name must be a string of at most 255 characters.")
    if key in ("min_disk", "min_ram") and (isinstance(value, bool)
                                           or not isinstance(value, int) or value < 0):
        raise bad_request(f"{key} must be a non-negative integer.")
    if key == "owner" and (not isinstance(value, str) or not 1 <= len(value) <= 255):
        raise bad_request("owner must be a string of 1 to 255 characters.")
    if key == "protected" and not isinstance(value, bool):
        raise bad_request("protected must be true or false.")
    if key == "tags" and (not isinstance(value, list) or any(
            not isinstance(t, str) or not t or len(t) > 255 for t in value)):
        raise bad_request("tags must be a list of strings of 1 to 255 characters.")
    if key in ("visibility", "disk_format", "container_format") and value is not None \
            and not isinstance(value, str):
        raise bad_request(f"{key} must be a string.")
    return value


def _property(key: str, value: Any) -> Any:
    if key in READ_ONLY:
        raise Fault(403, f"Attribute '{key}' is read-only.")
    if not isinstance(key, str) or not 1 <= len(key) <= 255:
        raise bad_request("Property names are 1 to 255 characters.")
    if value is not None and not isinstance(value, str):
        raise bad_request(f"Property '{key[:64]}' must be a string.")
    return value


@router.route(f"{V2}/images", "POST", Need.MEMBER)
def create_image(req: Req) -> Response:
    body = req.body()
    spec = NewImage()
    for key, value in body.items():
        if key in SETTABLE:
            setattr(spec, key, _check_value(key, value))
        elif key == "id":
            try:
                spec.image_id = str(uuid.UUID(str(value)))
            except ValueError as exc:
                raise bad_request("id must be a UUID.") from exc
        else:
            spec.properties[key] = _property(key, value)
    record = req.cloud.image_uploads.create(req.ctx, spec)
    return _show(req, record.image.uuid, 201)


def _normalized_op(op: Any) -> dict[str, Any]:
    """An operation of either patch dialect: {"op": "replace", "path": "/name"} (v2.1) or
    {"replace": "/name"} (v2.0)."""
    if isinstance(op, dict) and "op" not in op:
        verbs = [v for v in ("add", "replace", "remove") if v in op]
        if len(verbs) == 1:
            op = {**op, "op": verbs[0], "path": op[verbs[0]]}
            if isinstance(op["path"], str) and not op["path"].startswith("/"):
                op["path"] = "/" + op["path"]
    if not isinstance(op, dict) or op.get("op") not in ("add", "replace", "remove") \
            or not isinstance(op.get("path"), str) or not op["path"].startswith("/"):
        raise bad_request("Each patch operation needs op (add, replace, remove) and path.")
    return op


def _apply_patch(req: Req, view: ImageView, ops: list[Any]) -> dict[str, Any]:
    current = render(req, view, _attrs(req, view))
    changes: dict[str, Any] = {}
    properties = json.loads((_attrs(req, view) or _defaults(view)).properties or "{}")
    for raw in ops:
        op = _normalized_op(raw)
        parts = op["path"][1:].split("/")
        key = parts[0]
        if key == "tags" and len(parts) == 2:  # /tags/- style
            tags = list(changes.get("tags", current["tags"]))
            if op["op"] == "remove":
                tags = [t for t in tags if t != parts[1]]
            else:
                tags.append(str(op.get("value")))
            changes["tags"] = _check_value("tags", tags)
        elif key in SETTABLE:
            if op["op"] == "remove":
                raise Fault(403, f"Attribute '{key}' cannot be removed.")
            changes[key] = _check_value(key, op.get("value"))
        elif op["op"] == "remove":
            _property(key, None)
            if key not in properties:
                raise Fault(409, f"Property {key} does not exist.")
            properties.pop(key)
            changes["properties"] = properties
        else:
            properties[key] = _property(key, op.get("value"))
            changes["properties"] = properties
    return changes


@router.route(f"{V2}/images/<image_id>", "PATCH", Need.MEMBER)
def update_image(req: Req) -> Response:
    content_type = (req.request.mimetype or "").lower()
    if content_type not in PATCH_TYPES:
        raise Fault(415, f"Unsupported Content-Type {content_type[:64]}: send "
                    f"{PATCH_TYPES[0]}.")
    view = _find(req, req.args["image_id"])
    ops = req.json()
    if not isinstance(ops, list):
        raise bad_request("A JSON patch is a list of operations.")
    req.cloud.image_uploads.update(req.ctx, view.item.id, _apply_patch(req, view, ops))
    # from the record, not the caller's listing: a new owner may have taken it out of sight
    record = req.cloud.image_uploads.record(view.item.id)
    return json_response(render(req, dataclasses.replace(view, item=record.image),
                                record.attrs))


@router.route(f"{V2}/images/<image_id>", "DELETE", Need.MEMBER)
def delete_image(req: Req) -> Response:
    view = _find(req, req.args["image_id"])
    req.cloud.image_uploads.delete(req.ctx, view.item.id)
    return no_content()


@router.route(f"{V2}/images/<image_id>/actions/<action>", "POST", Need.MEMBER)
def image_action(req: Req) -> Response:
    """deactivate / reactivate: an active image's data stops (or resumes) being served."""
    view = _find(req, req.args["image_id"])
    action = req.args["action"]
    if action not in ("deactivate", "reactivate"):
        raise Fault(404, f"There is no image action {action[:32]}.")
    req.cloud.image_uploads.set_active(req.ctx, view.item.id, action == "reactivate")
    return no_content()


@router.route(f"{V2}/info/usage")
def usage_info(req: Req) -> Response:
    """The project's image quotas and their use, as Glance shows them (sizes in MiB)."""
    usage = req.cloud.image_uploads.usage(req.ctx)
    return json_response({"usage": {name: {"limit": limit, "usage": used}
                                    for name, (limit, used) in usage.items()}})


@router.route(f"{V2}/info/import")
def import_info(req: Req) -> Response:
    return json_response({"import-methods": {
        "description": "Import methods available.", "type": "array", "value": []}})


@router.route(f"{V2}/images/<image_id>/tags/<tag>", "PUT", Need.MEMBER)
def add_tag(req: Req) -> Response:
    view = _find(req, req.args["image_id"])
    tags = render(req, view, _attrs(req, view))["tags"]
    new = _check_value("tags", [*tags, req.args["tag"]])
    req.cloud.image_uploads.update(req.ctx, view.item.id, {"tags": new})
    return no_content()


@router.route(f"{V2}/images/<image_id>/tags/<tag>", "DELETE", Need.MEMBER)
def delete_tag(req: Req) -> Response:
    view = _find(req, req.args["image_id"])
    tags = render(req, view, _attrs(req, view))["tags"]
    if req.args["tag"] not in tags:
        raise Fault(404, f"Tag {req.args['tag']} not found.")
    req.cloud.image_uploads.update(req.ctx, view.item.id,
                                   {"tags": [t for t in tags if t != req.args["tag"]]})
    return no_content()


# data -------------------------------------------------------------------------------------------

@router.route(f"{V2}/images/<image_id>/file", "PUT", Need.MEMBER)
def upload(req: Req) -> Response:
    view = _find(req, req.args["image_id"])
    stream = req.request.stream

    def chunks() -> Iterator[bytes]:
        while chunk := stream.read(1024 * 1024):
            yield chunk
    req.cloud.image_uploads.upload(req.ctx, view.item.id, chunks())
    return no_content()


@router.route(f"{V2}/images/<image_id>/file")
def download(req: Req) -> Response:
    view = _find(req, req.args["image_id"])
    attrs = _attrs(req, view)
    path = view.item.disk_path
    if attrs is not None and attrs.status == "deactivated":
        assert req.scope is not None
        if not req.scope.is_cloud_admin:
            raise Fault(403, "The image is deactivated: its data cannot be downloaded.")
    if not path or view.item.state != "available":
        return no_content()
    import os

    headers = {"Content-Length": str(os.path.getsize(path))}
    if attrs is not None and attrs.checksum:
        headers["Content-MD5"] = attrs.checksum
    return Response(req.cloud.image_uploads.read(path), headers=headers,
                    content_type="application/octet-stream", direct_passthrough=True)


class ImageFace(Face):
    name = "image"

    def __init__(self, cloud: Cloud) -> None:
        super().__init__(cloud, [router, image_schemas.router, image_members.router,
                                 image_metadefs.router])

    def handle(self, request: Any) -> Response:
        if request.path.rstrip("/") != request.path and request.path.endswith("/images/"):
            return self.fault(404, "No image ID was given.")
        return super().handle(request)

    def fault(self, status: int, message: str) -> Response:
        title = TITLES.get(status, "Error")
        return json_response({"code": f"{status} {title}", "title": title,
                              "message": message}, status)
