"""Server tags (microversion 2.26): /servers/{id}/tags, kept as reserved EC2 tags."""

from __future__ import annotations

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack import server_versions as versions
from overcast.api.openstack.servers import V21, find_server
from overcast.api.openstack.wsgi import (
    Fault,
    Need,
    Req,
    Router,
    bad_request,
    json_response,
    no_content,
)
from overcast.cloud.filters import Tagged

router = Router()
TAGS = f"{V21}/servers/<server_id>/tags"


def _server(req: Req) -> Tagged:
    if not mv.at_least(req, "server_tags"):
        raise Fault(404, "The resource could not be found.")
    return find_server(req, req.args["server_id"])


def _replace(req: Req, tagged: Tagged, wanted: list[str]) -> None:
    current = versions.server_tags(tagged.tags)
    gone = [(versions.TAG_PREFIX + t, None) for t in current if t not in wanted]
    if gone:
        req.cloud.tags.delete(req.ctx, [tagged.item.id], gone)
    new = {versions.TAG_PREFIX + t: "" for t in wanted if t not in current}
    if new:
        req.cloud.tags.create(req.ctx, [tagged.item.id], new)


@router.route(TAGS)
def list_tags(req: Req) -> Response:
    return json_response({"tags": versions.server_tags(_server(req).tags)})


@router.route(TAGS, "PUT", Need.MEMBER)
def replace_tags(req: Req) -> Response:
    tagged = _server(req)
    body = req.body()
    if set(body) != {"tags"}:
        raise bad_request("The request body needs exactly a 'tags' list.")
    wanted = versions.check_tags(body["tags"])
    _replace(req, tagged, wanted)
    return json_response({"tags": wanted})


@router.route(TAGS, "DELETE", Need.MEMBER)
def delete_all_tags(req: Req) -> Response:
    _replace(req, _server(req), [])
    return no_content()


@router.route(f"{TAGS}/<tag>")
def check_tag(req: Req) -> Response:
    if req.args["tag"] not in versions.server_tags(_server(req).tags):
        raise Fault(404, f"Tag {req.args['tag'][:64]} could not be found.")
    return no_content()


@router.route(f"{TAGS}/<tag>", "PUT", Need.MEMBER)
def add_tag(req: Req) -> Response:
    tagged = _server(req)
    tag = versions.check_tag(req.args["tag"])
    current = versions.server_tags(tagged.tags)
    if tag in current:
        return no_content()
    if len(current) >= versions.MAX_TAGS:
        raise bad_request(f"The number of tags exceeded the per-server limit "
                          f"{versions.MAX_TAGS}.")
    req.cloud.tags.create(req.ctx, [tagged.item.id], {versions.TAG_PREFIX + tag: ""})
    location = f"{req.host_url}{req.request.path}"
    return Response(b"", status=201, headers={"Location": location})


@router.route(f"{TAGS}/<tag>", "DELETE", Need.MEMBER)
def delete_tag(req: Req) -> Response:
    tagged = _server(req)
    if req.args["tag"] not in versions.server_tags(tagged.tags):
        raise Fault(404, f"Tag {req.args['tag'][:64]} could not be found.")
    req.cloud.tags.delete(req.ctx, [tagged.item.id],
                          [(versions.TAG_PREFIX + req.args["tag"], None)])
    return no_content()
