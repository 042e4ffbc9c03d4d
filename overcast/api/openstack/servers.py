"""Nova servers: create (imageRef and the block_device_mapping_v2 the CLI sends), list with
filters and paging, show, update, delete, and metadata (kept as the instance's EC2 tags)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import secrets
from typing import Any

from werkzeug.wrappers import Response

from overcast.api.openstack import microversions as mv
from overcast.api.openstack import nova_views as views
from overcast.api.openstack import server_versions as versions
from overcast.api.openstack.catalog import COMPUTE, link
from overcast.api.openstack.network_views import network_name
from overcast.api.openstack.server_block_devices import nova_mappings
from overcast.api.openstack.wsgi import (
    REQUEST_ID_KEY,
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
from overcast.cloud.compute import InstanceRecord, NetworkRequest, RunRequest, ServerCreate
from overcast.cloud.filters import Tagged
from overcast.cloud.images import DescribeRequest, ImageView
from overcast.errors import CloudError, TooSmallForImage
from overcast.lifecycle import State

router = Router()
V21 = f"{COMPUTE}/v2.1"
MAX_META = 49  # EC2 allows 50 tags; the name takes one
_UUID = re.compile(r"^[0-9a-fA-F-]{32,36}$")


# finding ----------------------------------------------------------------------------------

def visible(tagged: Tagged[InstanceRecord]) -> bool:
    """Live servers, and failed ones (ERROR) until the user deletes them."""
    row = tagged.item
    if row.state != State.TERMINATED:
        return True
    return views.failed(row) and views.DELETED_TAG not in tagged.tags


def all_servers(req: Req) -> list[Tagged[InstanceRecord]]:
    items, _ = req.cloud.instances.describe(req.ctx, [], [])
    return list(items)


def find_server(req: Req, server_id: str) -> Tagged[InstanceRecord]:
    tagged = req.cloud.instances.by_uuid(req.ctx, server_id)
    if tagged is None or not visible(tagged):
        raise Fault(404, f"Instance {server_id} could not be found.")
    return tagged


def visible_images(req: Req) -> list[ImageView]:
    return req.cloud.images.describe(req.ctx, DescribeRequest())


def image_uuids(req: Req) -> dict[str, str]:
    """ami-… -> UUID for the images the project can see."""
    return {v.item.id: v.item.uuid for v in visible_images(req)}


def network_names(req: Req) -> dict[str, str]:
    """VPC ID -> the name Neutron shows for it."""
    found, _ = req.cloud.vpcs.describe_vpcs(req.ctx, [], [], None, None)
    return {t.item.vpc.id: network_name(t.item, t.tags) for t in found}


def view_for(req: Req, tagged: Tagged[InstanceRecord], uuids: dict[str, str],
             networks: dict[str, str] | None = None) -> views.ServerView:
    names = networks if networks is not None else network_names(req)
    return views.ServerView(req.host_url, tagged.item.user_id or req.ctx.user_id,
                            uuids.get(tagged.item.image_id),
                            names.get(tagged.item.vpc_id or "", "default"), tagged.tags)


def groups_of(tagged: Tagged[InstanceRecord]) -> list[str]:
    return [name for _gid, name in getattr(tagged, "groups", [])]


# listing --------------------------------------------------------------------------------------

def _matches(tagged: Tagged[InstanceRecord], query: Any, uuids: dict[str, str]) -> bool:
    row = tagged.item
    name = query.get("name")
    if name:
        try:
            if not re.search(name, tagged.tags.get(views.NAME_TAG, "")):
                return False
        except re.error as exc:
            raise bad_request(f"Invalid name filter '{name[:64]}'.") from exc
    status = query.get("status")
    if status and views.nova_state(row).status != status.upper():
        return False
    image = query.get("image")
    if image and uuids.get(row.image_id) != image.rstrip("/").rsplit("/", 1)[-1]:
        return False
    flavor = query.get("flavor")
    if flavor and row.instance_type != flavor.rstrip("/").rsplit("/", 1)[-1]:
        return False
    for key, value in (("reservation_id", row.reservation_id),
                       ("availability_zone", row.availability_zone),
                       ("key_name", row.key_name)):
        if query.get(key) and query.get(key) != value:
            return False
    ip = query.get("ip")
    return not (ip and not re.search(re.escape(ip), row.private_ip or ""))


def _listed(req: Req) -> tuple[list[Tagged[InstanceRecord]], dict[str, str]]:
    query = req.query
    uuids = image_uuids(req)
    since = query.get("changes-since")
    versions.check_list_query(req)
    items = [t for t in all_servers(req) if (since or visible(t))
             and _matches(t, query, uuids) and versions.list_match(req, t.item, t.tags)]
    if since:
        items = [t for t in items if _changed_since(t.item, since)]
    items.sort(key=lambda t: (as_utc(t.item.launch_time), t.item.uuid), reverse=True)
    marker = query.get("marker")
    if marker:
        position = next((i for i, t in enumerate(items) if t.item.uuid == marker), None)
        if position is None:
            raise bad_request(f"marker [{marker}] not found")
        items = items[position + 1:]
    return items, uuids


def _changed_since(row: InstanceRecord, since: str) -> bool:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request(f"Invalid changes-since value '{since[:40]}'.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (row.updated_at or 0) >= moment.timestamp()


def _page(req: Req, items: list[Tagged[InstanceRecord]], path: str) -> tuple[list, list]:
    limit = int_arg(req.query.get("limit"), "limit")
    if limit is None or len(items) <= limit:
        return items, []
    if limit == 0:
        return [], []
    chunk = items[:limit]
    href = f"{req.host_url}{V21}/{path}?limit={limit}&marker={chunk[-1].item.uuid}"
    return chunk, [link(href, "next")]


@router.route(f"{V21}/servers")
def list_servers(req: Req) -> Response:
    items, uuids = _listed(req)
    chunk, links = _page(req, items, "servers")
    body: dict[str, Any] = {"servers": [views.server_summary(t.item, view_for(req, t, uuids))
                                        for t in chunk]}
    if links:
        body["servers_links"] = links
    return json_response(body)


@router.route(f"{V21}/servers/detail")
def list_servers_detail(req: Req) -> Response:
    items, uuids = _listed(req)
    chunk, links = _page(req, items, "servers/detail")
    names = network_names(req)
    body: dict[str, Any] = {"servers": [detail_at_version(req, t, uuids, False, names)
                                        for t in chunk]}
    if links:
        body["servers_links"] = links
    return json_response(body)


@router.route(f"{V21}/servers/<server_id>")
def show_server(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    return json_response({"server": detail_at_version(req, tagged, image_uuids(req),
                                                      show=True)})


def detail_at_version(req: Req, tagged: Tagged[InstanceRecord], uuids: dict[str, str],
                      show: bool, networks: dict[str, str] | None = None) -> dict[str, Any]:
    """A server's detail as the request's microversion writes it."""
    body = views.server_detail(tagged.item, view_for(req, tagged, uuids, networks),
                               groups_of(tagged))
    versions.add_version_fields(req, tagged.item, tagged.tags, body, show)
    host = tagged.item.host_id
    versions.add_host_status(req, body, None if not host else
                             host not in req.cloud.hosts.unreachable_ids())
    return body


# creating -----------------------------------------------------------------------------------

def _ref(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise bad_request(f"Invalid {what}: expected a non-empty string.")
    return value.rstrip("/").rsplit("/", 1)[-1]


def _image_from(spec: dict[str, Any]) -> str:
    image_ref = spec.get("imageRef")
    root_ref, _volumes = nova_mappings(spec)
    if root_ref and image_ref and root_ref != _ref(image_ref, "imageRef"):
        raise bad_request("The block device mapping names another image than imageRef.")
    return _ref(image_ref or root_ref, "imageRef")


def _networks(spec: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """The networks named (VPC IDs; checked with the launch) and a fixed IP."""
    networks = spec.get("networks")
    named: list[str] = []
    private_ip = None
    if networks not in (None, "auto", "none"):
        if not isinstance(networks, list):
            raise bad_request("networks must be a list, 'auto' or 'none'.")
        for entry in networks:
            if not isinstance(entry, dict):
                raise bad_request("Each network must be an object.")
            if entry.get("port"):
                raise bad_request("Booting with an existing port is not supported.")
            if entry.get("uuid"):
                named.append(str(entry["uuid"]))
            private_ip = entry.get("fixed_ip") or private_ip
    return tuple(named), private_ip


def _network_request(spec: dict[str, Any], private_ip: str | None) -> NetworkRequest:
    """A fixed IP, and the security groups by name or ID."""
    groups = spec.get("security_groups") or []
    if not isinstance(groups, list) or any(not isinstance(g, dict) or
                                           not isinstance(g.get("name"), str)
                                           for g in groups):
        raise bad_request("security_groups must be a list of objects with a name.")
    names = tuple(g["name"] for g in groups if not g["name"].startswith("sg-"))
    ids = tuple(g["name"] for g in groups if g["name"].startswith("sg-"))
    return NetworkRequest(security_group_ids=ids, security_group_names=names,
                          private_ip=private_ip)


def _user_data(value: Any) -> bytes:
    if value is None:
        return b""
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise bad_request("User data needs to be valid base 64.") from exc


def _count(spec: dict[str, Any], key: str, default: int) -> int:
    value = spec.get(key, default)
    if isinstance(value, bool) or not (isinstance(value, int) or
                                       (isinstance(value, str) and value.isdigit())):
        raise bad_request(f"Invalid input for field '{key}': expected an integer.")
    number = int(value)
    if number < 1:
        raise bad_request(f"Invalid input for field '{key}': must be at least 1.")
    return number


def check_metadata(metadata: Any) -> dict[str, str]:
    if not isinstance(metadata, dict):
        raise bad_request("metadata must be an object of strings.")
    for key, value in metadata.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255 or views.reserved(key):
            raise bad_request(f"Invalid metadata key '{str(key)[:64]}'.")
        if not isinstance(value, str) or len(value) > 255:
            raise bad_request(f"Invalid metadata value for key '{key[:64]}'.")
    if len(metadata) > MAX_META:
        raise Fault(403, f"Quota exceeded for metadata items: at most {MAX_META}.")
    return metadata


def _access_ips(spec: dict[str, Any]) -> dict[str, str]:
    """accessIPv4/accessIPv6: addresses the user records on a server (kept as tags)."""
    found = {}
    for key, version in (("accessIPv4", 4), ("accessIPv6", 6)):
        value = spec.get(key)
        if value in (None, ""):
            continue
        try:
            address = ipaddress.ip_address(str(value))
        except ValueError as exc:
            raise bad_request(f"Invalid {key} '{str(value)[:64]}'.") from exc
        if address.version != version:
            raise bad_request(f"{key} must be an IPv{version} address.")
        found[views.ACCESS_TAGS[key]] = str(address)
    return found


def _name(value: Any) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 255 or value.strip() != value:
        raise bad_request("Invalid input for field 'name': 1 to 255 characters without "
                          "leading or trailing spaces.")
    return value


def _server_create(req: Req, spec: dict[str, Any]) -> ServerCreate:
    """The request as the service layer takes it; the image, key pair and networks are
    checked there, with the launch."""
    name = _name(spec.get("name"))
    image_ref = _image_from(spec)
    flavor = _ref(spec.get("flavorRef"), "flavorRef")
    zone = spec.get("availability_zone")
    if zone is not None and not isinstance(zone, str):
        raise bad_request("availability_zone must be a string.")
    key_name = spec.get("key_name")
    tags = {views.NAME_TAG: name, **check_metadata(spec.get("metadata") or {}),
            **_access_ips(spec), **versions.create_tags(req, spec)}
    network_ids, private_ip = _networks(spec)
    run = RunRequest(image_id=image_ref, instance_type=flavor,
                     min_count=_count(spec, "min_count", 1),
                     max_count=_count(spec, "max_count", _count(spec, "min_count", 1)),
                     key_name=None if key_name is None else str(key_name),
                     user_data=_user_data(spec.get("user_data")),
                     tags=tags, availability_zone=(zone or "").split(":")[0] or None,
                     network=_network_request(spec, private_ip),
                     block_devices=nova_mappings(spec)[1])
    return ServerCreate(run, network_ids, req.request.environ.get(REQUEST_ID_KEY, ""))


def _create_fault(exc: CloudError, image_ref: str) -> Fault:
    """Nova's words for what the launch refused."""
    if isinstance(exc, TooSmallForImage):
        return bad_request(f"Flavor's {exc.subject} is too small for requested image.")
    if exc.code in ("InvalidAMIID.NotFound", "InvalidAMIID.Malformed"):
        return bad_request(f"Image {image_ref} could not be found.")
    if exc.code == "InvalidAMIID.Unavailable":
        return bad_request(f"Image {image_ref} is not active.")
    if exc.code == "InvalidKeyPair.NotFound":
        return bad_request("Invalid key_name provided.")
    if exc.code == "InvalidVpcID.NotFound":
        return bad_request(f"Network {exc.subject} could not be found.")
    return bad_request(exc.message)


def _admin_pass(spec: dict[str, Any]) -> str:
    """The password Nova answers with: the caller's, or a random one. Guests here get
    their access from key pairs; no agent sets this password inside them."""
    given = spec.get("adminPass")
    if given is None:
        return secrets.token_urlsafe(9)
    if not isinstance(given, str):
        raise bad_request("adminPass must be a string.")
    return given


@router.route(f"{V21}/servers", "POST", Need.MEMBER)
def create_server(req: Req) -> Response:
    spec = req.body().get("server")
    if not isinstance(spec, dict):
        raise bad_request("The request body needs a 'server' object.")
    create = _server_create(req, spec)
    run = create.launch
    admin_pass = _admin_pass(spec)
    try:
        launched = req.cloud.create_server(req.ctx, create)
    except CloudError as exc:
        if exc.kind in ("quota", "capacity"):
            raise
        raise _create_fault(exc, run.image_id) from exc
    if spec.get("return_reservation_id"):
        return json_response({"reservation_id": launched.reservation_id}, 202)
    first = launched.instances[0]
    return json_response({"server": {
        "id": first.uuid, "links": views.server_links(req.host_url, first.uuid),
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": n} for n in run.network.security_group_names
                            + run.network.security_group_ids] or [{"name": "default"}],
        "adminPass": admin_pass}}, 202)


@router.route(f"{V21}/servers/<server_id>", "PUT", Need.MEMBER)
def update_server(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    spec = req.body().get("server")
    if not isinstance(spec, dict):
        raise bad_request("The request body needs a 'server' object.")
    unknown = set(spec) - {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
                           "description"}
    if unknown:
        raise bad_request(f"Additional properties are not allowed ({sorted(unknown)[0]}).")
    changes = {**_access_ips(spec), **versions.update_tags(req, spec)}
    if "name" in spec:
        changes[views.NAME_TAG] = _name(spec["name"])
    if changes:
        req.cloud.tags.create(req.ctx, [tagged.item.id], changes)
        tagged.tags.update(changes)
    if mv.at_least(req, "strict_schema"):  # 2.75: the whole server, as a show
        return json_response({"server": detail_at_version(req, tagged, image_uuids(req),
                                                          show=True)})
    body = views.server_common(tagged.item, view_for(req, tagged, image_uuids(req)))
    return json_response({"server": versions.add_version_fields(req, tagged.item,
                                                                tagged.tags, body, True)})


@router.route(f"{V21}/servers/<server_id>", "DELETE", Need.MEMBER)
def delete_server(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    if tagged.item.state == State.TERMINATED:  # in ERROR: hide what is already gone
        req.cloud.tags.create(req.ctx, [tagged.item.id], {views.DELETED_TAG: "true"})
    else:
        req.cloud.instances.change(req.ctx, [tagged.item.id], "terminate")
        req.cloud.nova_actions.record(req.ctx, tagged.item.id, "delete",
                                      req.request.environ.get(REQUEST_ID_KEY, ""))
    return no_content()


# metadata -------------------------------------------------------------------------------------

def _metadata_response(req: Req, instance_id: str) -> Response:
    tagged = find_server_by_instance(req, instance_id)
    return json_response({"metadata": views.metadata_of(tagged.tags)})


def find_server_by_instance(req: Req, instance_id: str) -> Tagged[InstanceRecord]:
    items, _ = req.cloud.instances.describe(req.ctx, [instance_id], [])
    return items[0]


@router.route(f"{V21}/servers/<server_id>/metadata")
def list_metadata(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    return json_response({"metadata": views.metadata_of(tagged.tags)})


def _set_metadata(req: Req, replace: bool) -> Response:
    tagged = find_server(req, req.args["server_id"])
    metadata = check_metadata(req.body().get("metadata"))
    current = views.metadata_of(tagged.tags)
    merged = metadata if replace else {**current, **metadata}
    check_metadata(merged)
    gone = [(k, None) for k in current if k not in merged]
    if gone:
        req.cloud.tags.delete(req.ctx, [tagged.item.id], gone)
    if metadata:
        req.cloud.tags.create(req.ctx, [tagged.item.id], metadata)
    return _metadata_response(req, tagged.item.id)


@router.route(f"{V21}/servers/<server_id>/metadata", "POST", Need.MEMBER)
def update_metadata(req: Req) -> Response:
    return _set_metadata(req, replace=False)


@router.route(f"{V21}/servers/<server_id>/metadata", "PUT", Need.MEMBER)
def replace_metadata(req: Req) -> Response:
    return _set_metadata(req, replace=True)


@router.route(f"{V21}/servers/<server_id>/metadata/<key>")
def show_metadata_item(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    metadata = views.metadata_of(tagged.tags)
    if req.args["key"] not in metadata:
        raise Fault(404, "Metadata item was not found.")
    return json_response({"meta": {req.args["key"]: metadata[req.args["key"]]}})


@router.route(f"{V21}/servers/<server_id>/metadata/<key>", "PUT", Need.MEMBER)
def set_metadata_item(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    meta = req.body().get("meta")
    if not isinstance(meta, dict) or len(meta) != 1:
        raise bad_request("The request body needs a 'meta' object with exactly one item.")
    if req.args["key"] not in meta:
        raise bad_request("The request body and the URL name different keys.")
    check_metadata(meta)
    current = views.metadata_of(tagged.tags)
    check_metadata({**current, **meta})
    req.cloud.tags.create(req.ctx, [tagged.item.id], meta)
    return json_response({"meta": meta})


@router.route(f"{V21}/servers/<server_id>/metadata/<key>", "DELETE", Need.MEMBER)
def delete_metadata_item(req: Req) -> Response:
    tagged = find_server(req, req.args["server_id"])
    if req.args["key"] not in views.metadata_of(tagged.tags):
        raise Fault(404, "Metadata item was not found.")
    req.cloud.tags.delete(req.ctx, [tagged.item.id], [(req.args["key"], None)])
    return no_content()
