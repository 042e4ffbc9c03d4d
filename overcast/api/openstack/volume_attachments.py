"""Nova's os-volume_attachments: list, show, attach (device optional) and detach a server's
volumes, named by their Cinder UUIDs, over the same attach and detach as EC2's. Swapping a
volume (PUT) is not offered."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack.catalog import COMPUTE
from overcast.api.openstack.servers import find_server
from overcast.api.openstack.wsgi import (
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.cloud.storage import NovaAttachment
from overcast.errors import Conflict

router = Router()
PATH = f"{COMPUTE}/v2.1/servers/<server_id>/os-volume_attachments"
# refusals Nova answers 400 (the volume's own state), the rest of Conflict stays 409
VOLUME_STATE_CODES = ("VolumeInUse", "IncorrectState")


def _body(req: Req, server_id: str, item: NovaAttachment) -> dict[str, Any]:
    body: dict[str, Any] = {"id": item.volume_uuid, "volumeId": item.volume_uuid,
                            "serverId": server_id, "device": item.attachment.device}
    if req.microversion >= (2, 70):
        body["tag"] = None
    if mv.at_least(req, "delete_on_termination"):
        body["delete_on_termination"] = item.attachment.delete_on_termination
    return body


@router.route(PATH)
def list_attachments(req: Req) -> Response:
    server = find_server(req, req.args["server_id"])
    found = req.cloud.nova_attachments.list_all(req.ctx, server.item.id)
    return json_response({"volumeAttachments": [_body(req, req.args["server_id"], a)
                                                for a in found]})


@router.route(f"{PATH}/<volume_id>")
def show_attachment(req: Req) -> Response:
    server = find_server(req, req.args["server_id"])
    found = req.cloud.nova_attachments.get(req.ctx, server.item.id, req.args["volume_id"])
    return json_response({"volumeAttachment": _body(req, req.args["server_id"], found)})


def _spec(req: Req) -> tuple[str, str | None]:
    spec = req.body().get("volumeAttachment")
    if not isinstance(spec, dict) or not isinstance(spec.get("volumeId"), str):
        raise bad_request("Invalid input for field/attribute volumeAttachment: it needs a "
                          "volumeId.")
    device = spec.get("device")
    if device is not None and not isinstance(device, str):
        raise bad_request("Invalid input for field/attribute device.")
    if spec.get("delete_on_termination") or spec.get("tag"):
        raise bad_request("Tags and delete_on_termination on attached volumes are not "
                          "supported here.")
    return spec["volumeId"], device or None


@router.route(PATH, "POST", Need.MEMBER)
def attach(req: Req) -> Response:
    volume_ref, device = _spec(req)
    server = find_server(req, req.args["server_id"])
    try:
        made = req.cloud.nova_attachments.attach(req.ctx, server.item.id, volume_ref, device)
    except Conflict as exc:
        if exc.code in VOLUME_STATE_CODES:
            raise bad_request(f"Invalid volume: {exc.message}") from exc
        raise
    return json_response({"volumeAttachment": _body(req, req.args["server_id"], made)})


@router.route(f"{PATH}/<volume_id>", "DELETE", Need.MEMBER)
def detach(req: Req) -> Response:
    server = find_server(req, req.args["server_id"])
    try:
        req.cloud.nova_attachments.detach(req.ctx, server.item.id, req.args["volume_id"])
    except Conflict as exc:
        if exc.code in VOLUME_STATE_CODES:
            raise bad_request(f"Invalid volume: {exc.message}") from exc
        raise
    return no_content(202)


@router.route(f"{PATH}/<volume_id>", "PUT", Need.MEMBER)
def swap(req: Req) -> Response:
    raise bad_request("Swapping a server's volume is not supported here.")
