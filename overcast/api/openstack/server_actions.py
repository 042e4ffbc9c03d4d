"""POST /servers/{id}/action: start, stop, reboot, console output; and the server's
addresses. Nova is stricter than EC2 about what may happen in which state (409)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack import nova_views as views
from overcast.api.openstack.compute_secgroups import change_server_groups
from overcast.api.openstack.servers import V21, find_server, view_for
from overcast.api.openstack.wsgi import (
    REQUEST_ID_KEY,
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.cloud.compute import InstanceRecord, SnapshotRequest
from overcast.cloud.filters import Tagged
from overcast.lifecycle import acts_on

router = Router()
# Nova action -> our event; Nova refuses an action that would change nothing (409)
EVENTS = {"os-start": "start", "os-stop": "stop", "reboot": "reboot", "pause": "pause",
          "unpause": "unpause", "suspend": "suspend", "resume": "resume"}
MAX_CONSOLE_LINES = 10000
RECORDED_ACTIONS = {"os-start": "start", "os-stop": "stop", "reboot": "reboot",
                    "lock": "lock", "unlock": "unlock", "createImage": "createImage",
                    "pause": "pause", "unpause": "unpause", "suspend": "suspend",
                    "resume": "resume"}


def _change(req: Req, tagged: Tagged[InstanceRecord], action: str) -> Response:
    event = EVENTS[action]
    row = tagged.item
    if not acts_on(row.state, event):
        status = views.nova_state(row)
        raise Fault(409, f"Cannot '{action}' instance {row.uuid} while it is in vm_state "
                    f"{status.vm_state}")
    req.cloud.instances.change(req.ctx, [row.id], event)
    return no_content(202)


def _reboot(req: Req, tagged: Tagged[InstanceRecord], spec: Any) -> Response:
    if not isinstance(spec, dict) or str(spec.get("type", "")).upper() not in ("SOFT",
                                                                                "HARD"):
        raise bad_request("reboot needs a type of SOFT or HARD.")
    return _change(req, tagged, "reboot")


def _console(req: Req, tagged: Tagged[InstanceRecord], spec: Any) -> Response:
    length = (spec or {}).get("length") if isinstance(spec, dict) else None
    if length is not None:
        try:
            length = int(length)
        except (TypeError, ValueError) as exc:
            raise bad_request("length must be an integer.") from exc
        if length < -1:
            raise bad_request("length must be -1 or more.")
    if not acts_on(tagged.item.state, "console"):
        raise Fault(409, f"Instance {tagged.item.uuid} is not ready for console output.")
    text = req.cloud.instances.console_output(req.ctx, tagged.item.id).decode(
        "utf-8", "replace")
    lines = text.splitlines(keepends=True)[-MAX_CONSOLE_LINES:]
    if length is not None and length >= 0:
        lines = lines[-length:] if length else []
    return json_response({"output": "".join(lines)})


MAX_IMAGE_PROPERTIES = 128


def _image_request(row: InstanceRecord, spec: Any) -> SnapshotRequest:
    name = spec.get("name") if isinstance(spec, dict) else None
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise bad_request("createImage needs a name of 1 to 255 characters.")
    metadata = spec.get("metadata") or {}
    if not isinstance(metadata, dict) or len(metadata) > MAX_IMAGE_PROPERTIES or any(
            not isinstance(k, str) or not isinstance(v, str) or not 0 < len(k) <= 255
            or len(v) > 255 for k, v in metadata.items()):
        raise bad_request("createImage metadata must map up to 128 names to strings of at "
                          "most 255 characters.")
    return SnapshotRequest(instance_id=row.id, name=name, properties=metadata)


def _create_image(req: Req, tagged: Tagged[InstanceRecord], spec: Any) -> Response:
    """The image is made by the instance's host; Glance shows it saving, then active. At
    microversion 2.1 the answer is 202 with the image's address in Location."""
    row = tagged.item
    image_req = _image_request(row, spec)
    if not acts_on(row.state, "snapshot"):
        raise Fault(409, f"Cannot 'createImage' instance {row.uuid} while it is in vm_state "
                    f"{views.nova_state(row).vm_state}")
    image = req.cloud.snapshots.create(req.ctx, image_req, unique_name=False)
    if mv.at_least(req, "create_image_body"):  # 2.45: the ID in the body, no Location
        return json_response({"image_id": image.uuid}, 202)
    location = f"{views.compute_url(req.host_url)}/images/{image.uuid}"
    return Response(b"", status=202, headers={"Location": location})


ACTIONS: dict[str, Callable[[Req, Tagged[InstanceRecord], Any], Response]] = {
    "os-start": lambda req, t, _spec: _change(req, t, "os-start"),
    "os-stop": lambda req, t, _spec: _change(req, t, "os-stop"),
    "reboot": _reboot,
    "os-getConsoleOutput": _console,
    "createImage": _create_image,
    "addSecurityGroup": lambda req, t, spec: change_server_groups(req, t, spec, True),
    "removeSecurityGroup": lambda req, t, spec: change_server_groups(req, t, spec, False),
    "pause": lambda req, t, _spec: _change(req, t, "pause"),
    "unpause": lambda req, t, _spec: _change(req, t, "unpause"),
    "suspend": lambda req, t, _spec: _change(req, t, "suspend"),
    "resume": lambda req, t, _spec: _change(req, t, "resume"),
}
@router.route(f"{V21}/servers/<server_id>/action", "POST", Need.MEMBER)
def server_action(req: Req) -> Response:
    """Every action needs the member role, console output too (as in Nova's policy)."""
    body = req.body()
    if len(body) != 1:
        raise bad_request("The action body needs exactly one action.")
    name, spec = next(iter(body.items()))
    server = find_server(req, req.args["server_id"])
    handler = ACTIONS.get(name)
    if handler is None:
        raise bad_request(f"There is no such action: {name[:64]}")
    response = handler(req, server, spec)
    if name in RECORDED_ACTIONS:  # Nova's instance actions (server_extras.py)
        req.cloud.nova_actions.record(req.ctx, server.item.id, RECORDED_ACTIONS[name],
                                      req.request.environ.get(REQUEST_ID_KEY, ""))
    return response


@router.route(f"{V21}/servers/<server_id>/ips")
def server_ips(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    found = views.addresses(tagged.item, view_for(req, tagged, {}).network_name)
    return json_response({"addresses": {k: [{"version": a["version"], "addr": a["addr"]}
                                            for a in v] for k, v in found.items()}})


@router.route(f"{V21}/servers/<server_id>/ips/<network>")
def server_ips_on(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    found = views.addresses(tagged.item, view_for(req, tagged, {}).network_name)
    if req.args["network"] not in found:
        raise Fault(404, "There are no addresses on this network.")
    return json_response({req.args["network"]: [{"version": a["version"], "addr": a["addr"]}
                                                for a in found[req.args["network"]]]})
