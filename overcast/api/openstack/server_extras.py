"""Nova calls beyond the basic server actions: lock and unlock (2.73: with a reason), and the
instance actions the `openstack server event list/show` commands read."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack.server_actions import ACTIONS
from overcast.api.openstack.servers import V21, find_server
from overcast.api.openstack.wsgi import (
    Fault,
    Req,
    Router,
    bad_request,
    iso,
    json_response,
    no_content,
)
from overcast.cloud.compute import ActionView
from overcast.cloud.filters import Tagged

router = Router()
MAX_REASON = 255


def _lock(req: Req, tagged: Tagged, spec: Any) -> Response:
    reason = None
    if isinstance(spec, dict) and "locked_reason" in spec:
        if not mv.at_least(req, "locked_reason"):
            raise bad_request("Additional properties are not allowed ('locked_reason' was "
                              "unexpected).")
        reason = spec["locked_reason"]
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise bad_request(f"locked_reason must be a string of at most {MAX_REASON} "
                              "characters.")
    elif spec not in (None, {}):
        raise bad_request("lock takes null or an object with a locked_reason.")
    req.cloud.nova_actions.lock(req.ctx, tagged.item.id, reason)
    return no_content(202)


def _unlock(req: Req, tagged: Tagged, spec: Any) -> Response:
    if spec not in (None, {}):
        raise bad_request("unlock takes no arguments.")
    req.cloud.nova_actions.unlock(req.ctx, tagged.item.id)
    return no_content(202)


ACTIONS.update({"lock": _lock, "unlock": _unlock})


def _action_body(tagged: Tagged, found: ActionView, req: Req) -> dict[str, Any]:
    body = {"action": found.action, "instance_uuid": tagged.item.uuid,
            "message": found.message, "project_id": found.project_id,
            "request_id": found.request_id, "start_time": iso(found.start_time),
            "user_id": found.user_id}
    if req.microversion >= (2, 58):
        body["updated_at"] = iso(found.finish_time or found.start_time)
    return body


def _event(found: ActionView) -> dict[str, Any]:
    return {"event": f"compute_{found.action.lower()}_instance",
            "start_time": iso(found.start_time), "finish_time": iso(found.finish_time),
            "result": found.result}


@router.route(f"{V21}/servers/<server_id>/os-instance-actions")
def list_actions(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    found = req.cloud.nova_actions.list(req.ctx, tagged.item.id)
    return json_response({"instanceActions": [_action_body(tagged, a, req) for a in found]})


@router.route(f"{V21}/servers/<server_id>/os-instance-actions/<request_id>")
def show_action(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    for found in req.cloud.nova_actions.list(req.ctx, tagged.item.id):
        if found.request_id == req.args["request_id"]:
            return json_response({"instanceAction": {**_action_body(tagged, found, req),
                                                     "events": [_event(found)]}})
    raise Fault(404, f"Action for request_id {req.args['request_id'][:64]} on instance "
                f"{tagged.item.uuid} not found")
