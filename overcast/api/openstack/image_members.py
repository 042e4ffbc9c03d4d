"""Glance image members: share an image with another project, which accepts or rejects."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack.catalog import IMAGE
from overcast.api.openstack.wsgi import (
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.clock import as_utc
from overcast.cloud.images import ImageView, MemberRecord

router = Router()
V2 = f"{IMAGE}/v2"


def _render(view: ImageView, member: MemberRecord) -> dict[str, Any]:
    return {"image_id": view.item.uuid, "member_id": member.project_id,
            "status": member.status, "schema": "/v2/schemas/member",
            "created_at": as_utc(member.created_at).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "updated_at": as_utc(member.updated_at).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _image(req: Req) -> ImageView:
    view = req.cloud.images.by_uuid(req.ctx, req.args["image_id"])
    if view is None:
        raise Fault(404, f"No image found with ID {req.args['image_id']}")
    return view


def _member(req: Req, view: ImageView) -> MemberRecord:
    for member in req.cloud.image_members.listing(req.ctx, view.item):
        if member.project_id == req.args["member_id"]:
            return member
    raise Fault(404, f"{req.args['member_id']} is not a member of image {view.item.uuid}.")


@router.route(f"{V2}/images/<image_id>/members")
def list_members(req: Req) -> Response:
    view = _image(req)
    members = req.cloud.image_members.listing(req.ctx, view.item)
    return json_response({"members": [_render(view, m) for m in members],
                          "schema": "/v2/schemas/members"})


@router.route(f"{V2}/images/<image_id>/members", "POST", Need.MEMBER)
def add_member(req: Req) -> Response:
    view = _image(req)
    member_id = req.body().get("member")
    if not isinstance(member_id, str) or not member_id:
        raise bad_request("The request body needs a 'member' (a project ID).")
    member = req.cloud.image_members.add(req.ctx, view.item.id, member_id)
    return json_response(_render(view, member))


@router.route(f"{V2}/images/<image_id>/members/<member_id>")
def show_member(req: Req) -> Response:
    view = _image(req)
    return json_response(_render(view, _member(req, view)))


@router.route(f"{V2}/images/<image_id>/members/<member_id>", "PUT", Need.MEMBER)
def update_member(req: Req) -> Response:
    view = _image(req)
    _member(req, view)
    status = req.body().get("status")
    if not isinstance(status, str):
        raise bad_request("The request body needs a 'status'.")
    member = req.cloud.image_members.set_status(req.ctx, view.item, req.args["member_id"],
                                                status)
    return json_response(_render(view, member))


@router.route(f"{V2}/images/<image_id>/members/<member_id>", "DELETE", Need.MEMBER)
def delete_member(req: Req) -> Response:
    view = _image(req)
    _member(req, view)
    req.cloud.image_members.remove(req.ctx, view.item.id, req.args["member_id"])
    return no_content()
