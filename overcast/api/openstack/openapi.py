"""An OpenAPI 3 description of the OpenStack faces, made from their route tables, with
request bodies for the calls that take one; served at /openapi.json for fuzzing."""

from __future__ import annotations

import re
from typing import Any

from overcast.api.openstack.wsgi import Face, Need

_ARG = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
_OBJECT: dict[str, Any] = {"type": "object"}
# request bodies by (method, path suffix): the wrapper key each API expects
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/v3/auth/tokens"): {"type": "object", "properties": {"auth": {
        "type": "object", "properties": {"identity": _OBJECT, "scope": _OBJECT}}}},
    ("post", "/servers"): {"type": "object", "properties": {"server": {
        "type": "object", "properties": {
            "name": {"type": "string"}, "imageRef": {"type": "string"},
            "flavorRef": {"type": "string"}, "min_count": {"type": "integer"},
            "max_count": {"type": "integer"}, "metadata": _OBJECT,
            "networks": {}, "key_name": {"type": "string"},
            "block_device_mapping_v2": {"type": "array", "items": _OBJECT}}}}},
    ("post", "/os-keypairs"): {"type": "object", "properties": {"keypair": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "public_key": {"type": "string"}}}}},
    ("post", "/action"): _OBJECT,
    ("post", "/metadata"): {"type": "object", "properties": {"metadata": _OBJECT}},
    ("put", "/metadata"): {"type": "object", "properties": {"metadata": _OBJECT}},
    ("post", "/v2/images"): {"type": "object", "properties": {
        "name": {"type": "string"}, "disk_format": {"type": "string"},
        "container_format": {"type": "string"}, "visibility": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string"}}}},
    ("post", "/security-groups"): {"type": "object", "properties": {"security_group": {
        "type": "object", "properties": {"name": {"type": "string"},
                                         "description": {"type": "string"}}}}},
    ("post", "/security-group-rules"): {"type": "object", "properties": {
        "security_group_rule": {"type": "object", "properties": {
            "security_group_id": {"type": "string"}, "direction": {"type": "string"},
            "protocol": {}, "port_range_min": {}, "port_range_max": {},
            "remote_ip_prefix": {"type": "string"}, "ethertype": {"type": "string"}}}}},
}


def _body(method: str, path: str) -> dict[str, Any] | None:
    for (verb, suffix), schema in BODIES.items():
        if verb == method and path.endswith(suffix):
            return schema
    if method in ("post", "put"):
        return _OBJECT
    return None


def _operation(face: str, method: str, path: str, need: Need) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{face}:{method}:{path}",
        "parameters": [{"name": name, "in": "path", "required": True,
                        "schema": {"type": "string"}} for name in _ARG.findall(path)],
        "responses": {"default": {"description": "a result or an OpenStack fault"}}}
    if need is not Need.NOTHING:
        operation["security"] = [{"token": []}]
    body = _body(method, path)
    if body is not None:
        operation["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return operation


def describe(faces: dict[str, Face]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for name, face in faces.items():
        for route in face.routes.values():
            path = _ARG.sub(r"{\1}", route.path)
            for method in route.methods:
                paths.setdefault(path, {})[method.lower()] = _operation(
                    name, method.lower(), route.path, route.need)
    return {"openapi": "3.0.3",
            "info": {"title": "Overcast OpenStack APIs", "version": "1"},
            "components": {"securitySchemes": {"token": {
                "type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
            "paths": paths}
