"""Glance metadata definitions (metadefs): namespaces with their properties, objects, tags
and resource type associations, and their schema documents. Reading needs the reader role;
changing them is for the cloud admin, as in Glance's default policy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import replace
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
from overcast.clock import as_utc, utcnow
from overcast.cloud.images import RESOURCE_TYPES, Namespace, check_namespace_name

router = Router()
V2 = f"{IMAGE}/v2"
NS = f"{V2}/metadefs/namespaces/<namespace>"
EPOCH = "2014-08-28T17:13:06Z"
SCHEMA_NAMES = {"namespace": "namespace", "namespaces": "namespaces",
                "resource_type": "resource_type_association",
                "resource_types": "resource_type_associations", "object": "object",
                "objects": "objects", "property": "property", "properties": "properties",
                "tag": "tag", "tags": "tags"}


def _now() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(value: Any) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _render(ns: Namespace, detail: bool) -> dict[str, Any]:
    doc = ns.document
    body: dict[str, Any] = {
        "namespace": ns.name, "display_name": doc.get("display_name", ns.name),
        "description": doc.get("description", ""), "visibility": ns.visibility,
        "protected": ns.protected, "owner": ns.owner, "created_at": _stamp(ns.created_at),
        "updated_at": _stamp(ns.updated_at), "schema": "/v2/schemas/metadefs/namespace",
        "self": f"/v2/metadefs/namespaces/{ns.name}"}
    if doc.get("resource_type_associations"):
        body["resource_type_associations"] = doc["resource_type_associations"]
    if detail:
        for key in ("properties",):
            if doc.get(key):
                body[key] = doc[key]
        for key in ("objects", "tags"):
            if doc.get(key):
                body[key] = list(doc[key].values())
    return body


def _spec(req: Req) -> dict[str, Any]:
    return req.body()


def _change(req: Req, mutate: Callable[[dict[str, Any]], Any]) -> Any:
    """Run `mutate` on a copy of the namespace's document and store it; returns what
    `mutate` returned."""
    found: list[Any] = []

    def apply(ns: Namespace) -> Namespace:
        doc = copy.deepcopy(ns.document)
        found.append(mutate(doc))
        return replace(ns, document=doc)
    req.cloud.metadefs.change(req.ctx, req.args["namespace"], apply)
    return found[0]


def _ns(req: Req) -> Namespace:
    return req.cloud.metadefs.get(req.ctx, req.args["namespace"])


# namespaces -------------------------------------------------------------------------------------

def _association(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict) or spec.get("name") not in RESOURCE_TYPES:
        raise bad_request(f"Resource type must be one of {', '.join(RESOURCE_TYPES)}.")
    now = _now()
    return {"name": spec["name"], "prefix": spec.get("prefix"),
            "properties_target": spec.get("properties_target"), "created_at": now,
            "updated_at": now}


@router.route(f"{V2}/metadefs/namespaces")
def list_namespaces(req: Req) -> Response:
    items = [_render(ns, False) for ns in req.cloud.metadefs.list(req.ctx)]
    return json_response({"namespaces": items, "first": "/v2/metadefs/namespaces",
                          "schema": "/v2/schemas/metadefs/namespaces"})


@router.route(f"{V2}/metadefs/namespaces", "POST", Need.ADMIN)
def create_namespace(req: Req) -> Response:
    spec = _spec(req)
    name = check_namespace_name(spec.get("namespace"))
    associations = spec.get("resource_type_associations") or []
    if not isinstance(associations, list):
        raise bad_request("resource_type_associations must be a list.")
    document = {"display_name": str(spec.get("display_name") or name),
                "description": str(spec.get("description") or ""),
                "resource_type_associations": [_association(a) for a in associations],
                "properties": {}, "objects": {}, "tags": {}}
    ns = req.cloud.metadefs.create(req.ctx, name, spec.get("visibility", "private"),
                                   bool(spec.get("protected", False)), document)
    return json_response(_render(ns, True), 201)


@router.route(NS)
def show_namespace(req: Req) -> Response:
    return json_response(_render(_ns(req), True))


@router.route(NS, "PUT", Need.ADMIN)
def update_namespace(req: Req) -> Response:
    spec = _spec(req)

    def apply(ns: Namespace) -> Namespace:
        doc = copy.deepcopy(ns.document)
        for key in ("display_name", "description"):
            if key in spec:
                doc[key] = str(spec[key] or "")
        return replace(ns, name=spec.get("namespace", ns.name),
                       visibility=spec.get("visibility", ns.visibility),
                       protected=bool(spec.get("protected", ns.protected)), document=doc)
    ns = req.cloud.metadefs.change(req.ctx, req.args["namespace"], apply)
    return json_response(_render(ns, True))


@router.route(NS, "DELETE", Need.ADMIN)
def delete_namespace(req: Req) -> Response:
    req.cloud.metadefs.delete(req.ctx, req.args["namespace"])
    return no_content()


# objects, properties, tags ---------------------------------------------------------------------

def _entity(kind: str, spec: dict[str, Any], created: str | None = None) -> dict[str, Any]:
    name = spec.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 80:
        raise bad_request(f"A {kind} needs a name of 1 to 80 characters.")
    now = _now()
    body = {k: v for k, v in spec.items() if k not in ("created_at", "updated_at", "self",
                                                      "schema")}
    if kind == "object":
        body.setdefault("properties", {})
        body.setdefault("required", [])
        body.update({"schema": "/v2/schemas/metadefs/object", "created_at": created or now,
                     "updated_at": now})
    elif kind == "tag":
        body = {"name": name, "created_at": created or now, "updated_at": now}
    elif not isinstance(spec.get("title"), str) or not isinstance(spec.get("type"), str):
        raise bad_request("A property needs a title and a type.")
    return body


def _collection(kind: str) -> str:
    return {"object": "objects", "property": "properties", "tag": "tags"}[kind]


def _create(req: Req, kind: str, spec: dict[str, Any]) -> Response:
    entity = _entity(kind, spec)

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        items = doc.setdefault(_collection(kind), {})
        if entity["name"] in items:
            raise Fault(409, f"A {kind} named {entity['name']} exists in this namespace.")
        items[entity["name"]] = entity
        return entity
    return json_response(_change(req, mutate), 201)


def _show(req: Req, kind: str, name: str) -> Response:
    items = _ns(req).document.get(_collection(kind), {})
    if name not in items:
        raise Fault(404, f"No {kind} named {name} in this namespace.")
    return json_response(items[name])


def _update(req: Req, kind: str, name: str, spec: dict[str, Any]) -> Response:
    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        items = doc.setdefault(_collection(kind), {})
        if name not in items:
            raise Fault(404, f"No {kind} named {name} in this namespace.")
        entity = _entity(kind, {**items[name], **spec}, items[name].get("created_at"))
        if entity["name"] != name and entity["name"] in items:
            raise Fault(409, f"A {kind} named {entity['name']} exists in this namespace.")
        del items[name]
        items[entity["name"]] = entity
        return entity
    return json_response(_change(req, mutate))


def _delete(req: Req, kind: str, name: str) -> Response:
    def mutate(doc: dict[str, Any]) -> None:
        items = doc.setdefault(_collection(kind), {})
        if name not in items:
            raise Fault(404, f"No {kind} named {name} in this namespace.")
        del items[name]
    _change(req, mutate)
    return no_content()


@router.route(f"{NS}/objects")
def list_objects(req: Req) -> Response:
    return json_response({"objects": list(_ns(req).document.get("objects", {}).values()),
                          "schema": "/v2/schemas/metadefs/objects"})


@router.route(f"{NS}/objects", "POST", Need.ADMIN)
def create_object(req: Req) -> Response:
    return _create(req, "object", _spec(req))


@router.route(f"{NS}/objects/<name>")
def show_object(req: Req) -> Response:
    return _show(req, "object", req.args["name"])


@router.route(f"{NS}/objects/<name>", "PUT", Need.ADMIN)
def update_object(req: Req) -> Response:
    return _update(req, "object", req.args["name"], _spec(req))


@router.route(f"{NS}/objects/<name>", "DELETE", Need.ADMIN)
def delete_object(req: Req) -> Response:
    return _delete(req, "object", req.args["name"])


@router.route(f"{NS}/properties")
def list_properties(req: Req) -> Response:
    return json_response({"properties": _ns(req).document.get("properties", {})})


@router.route(f"{NS}/properties", "POST", Need.ADMIN)
def create_property(req: Req) -> Response:
    return _create(req, "property", _spec(req))


@router.route(f"{NS}/properties/<name>")
def show_property(req: Req) -> Response:
    return _show(req, "property", req.args["name"])


@router.route(f"{NS}/properties/<name>", "PUT", Need.ADMIN)
def update_property(req: Req) -> Response:
    return _update(req, "property", req.args["name"], _spec(req))


@router.route(f"{NS}/properties/<name>", "DELETE", Need.ADMIN)
def delete_property(req: Req) -> Response:
    return _delete(req, "property", req.args["name"])


@router.route(f"{NS}/tags")
def list_tags(req: Req) -> Response:
    return json_response({"tags": list(_ns(req).document.get("tags", {}).values())})


@router.route(f"{NS}/tags", "POST", Need.ADMIN)
def create_tags(req: Req) -> Response:
    """Replace every tag of the namespace with the given ones."""
    given = _spec(req).get("tags")
    if not isinstance(given, list):
        raise bad_request("tags must be a list of objects with a name.")
    tags = [_entity("tag", t if isinstance(t, dict) else {}) for t in given]

    def mutate(doc: dict[str, Any]) -> list[dict[str, Any]]:
        doc["tags"] = {t["name"]: t for t in tags}
        return tags
    return json_response({"tags": _change(req, mutate)}, 201)


@router.route(f"{NS}/tags", "DELETE", Need.ADMIN)
def delete_tags(req: Req) -> Response:
    _change(req, lambda doc: doc.update(tags={}))
    return no_content()


@router.route(f"{NS}/tags/<name>", "POST", Need.ADMIN)
def create_tag(req: Req) -> Response:
    return _create(req, "tag", {"name": req.args["name"]})


@router.route(f"{NS}/tags/<name>")
def show_tag(req: Req) -> Response:
    return _show(req, "tag", req.args["name"])


@router.route(f"{NS}/tags/<name>", "PUT", Need.ADMIN)
def update_tag(req: Req) -> Response:
    return _update(req, "tag", req.args["name"], _spec(req))


@router.route(f"{NS}/tags/<name>", "DELETE", Need.ADMIN)
def delete_tag(req: Req) -> Response:
    return _delete(req, "tag", req.args["name"])


# resource types ---------------------------------------------------------------------------------

@router.route(f"{V2}/metadefs/resource_types")
def list_resource_types(req: Req) -> Response:
    return json_response({"resource_types": [
        {"name": name, "created_at": EPOCH, "updated_at": EPOCH} for name in RESOURCE_TYPES]})


@router.route(f"{NS}/resource_types")
def list_associations(req: Req) -> Response:
    return json_response({"resource_type_associations":
                          _ns(req).document.get("resource_type_associations", [])})


@router.route(f"{NS}/resource_types", "POST", Need.ADMIN)
def create_association(req: Req) -> Response:
    association = _association(_spec(req))

    def mutate(doc: dict[str, Any]) -> dict[str, Any]:
        found = doc.setdefault("resource_type_associations", [])
        if any(a["name"] == association["name"] for a in found):
            raise Fault(409, f"{association['name']} is already associated.")
        found.append(association)
        return association
    return json_response(_change(req, mutate), 201)


@router.route(f"{NS}/resource_types/<name>", "DELETE", Need.ADMIN)
def delete_association(req: Req) -> Response:
    def mutate(doc: dict[str, Any]) -> None:
        found = doc.setdefault("resource_type_associations", [])
        if not any(a["name"] == req.args["name"] for a in found):
            raise Fault(404, f"{req.args['name']} is not associated with this namespace.")
        doc["resource_type_associations"] = [a for a in found
                                             if a["name"] != req.args["name"]]
    _change(req, mutate)
    return no_content()


@router.route(f"{V2}/schemas/metadefs/<kind>", need=Need.TOKEN)
def schema(req: Req) -> Response:
    name = SCHEMA_NAMES.get(req.args["kind"])
    if name is None:
        raise Fault(404, f"No schema {req.args['kind'][:32]}.")
    return json_response({"name": name, "properties": {}, "additionalProperties": True})
