"""Cinder's list queries over rendered volumes and snapshots: filters (name, status, zone,
metadata, volume_id), sorting (sort_key/sort_dir or sort=key:dir,...), limit and marker, and
the next link."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from overcast.api.openstack.catalog import link
from overcast.api.openstack.wsgi import Req, bad_request, int_arg, not_found

SORT_ALIASES = {"display_name": "name", "display_description": "description"}
SORT_KEYS = ("created_at", "updated_at", "id", "name", "size", "status",
             "availability_zone", "volume_id", "description")
FILTERS = ("name", "status", "availability_zone", "volume_id", "bootable")
MAX_LIMIT = 1000  # Cinder's osapi_max_limit


def _metadata_filter(text: str) -> dict[str, str]:
    try:
        found = json.loads(text)
    except ValueError:
        try:
            found = ast.literal_eval(text)
        except (ValueError, SyntaxError) as exc:
            raise bad_request(f"Invalid metadata filter: {text[:64]}") from exc
    if not isinstance(found, dict):
        raise bad_request(f"Invalid metadata filter: {text[:64]}")
    return {str(k): str(v) for k, v in found.items()}


def _matches(item: dict[str, Any], query: Any) -> bool:
    for key in FILTERS:
        wanted = query.get(key)
        if wanted is not None and key in item and str(item[key]) != wanted:
            return False
    if query.get("metadata"):
        wanted_meta = _metadata_filter(query["metadata"])
        if any(item.get("metadata", {}).get(k) != v for k, v in wanted_meta.items()):
            return False
    return True


def _sort_spec(query: Any) -> list[tuple[str, bool]]:
    """(key, descending) pairs; Cinder's default is newest first."""
    if query.get("sort"):
        pairs = [part.partition(":")[::2] for part in query["sort"].split(",")]
    else:
        keys = (query.get("sort_key") or "created_at").split(",")
        dirs = (query.get("sort_dir") or "desc").split(",")
        pairs = [(k, dirs[i] if i < len(dirs) else dirs[-1]) for i, k in enumerate(keys)]
    spec = []
    for key, direction in pairs:
        key, direction = key.strip(), (direction or "desc").strip().lower()
        key = SORT_ALIASES.get(key, key)
        if key not in SORT_KEYS:
            raise bad_request(f"Invalid input received: Invalid sort key {key[:32]}.")
        if direction not in ("asc", "desc"):
            raise bad_request(f"Invalid input received: Invalid sort dir {direction[:32]}.")
        spec.append((key, direction == "desc"))
    return spec


def _sorted(items: list[dict[str, Any]], spec: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    found = sorted(items, key=lambda i: i["id"], reverse=spec[0][1])
    for key, descending in reversed(spec):  # stable sorts: the first key decides last
        found.sort(key=_by(key), reverse=descending)
    return found


def _by(key: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda item: (item.get(key) is not None, item.get(key) or "")


def listing(req: Req, kind: str, items: list[dict[str, Any]],
            ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The page of `items` the query asks for, and the next link when there may be more."""
    query = req.query
    found = _sorted([i for i in items if _matches(i, query)], _sort_spec(query))
    marker = query.get("marker")
    if marker:
        ids = [i["id"] for i in found]
        if marker not in ids:
            raise not_found(f"Marker {marker[:64]} could not be found.")
        found = found[ids.index(marker) + 1:]
    offset = int_arg(query.get("offset"), "offset") or 0
    found = found[offset:]
    limit = int_arg(query.get("limit"), "limit")
    page = found[:MAX_LIMIT if limit is None else min(limit, MAX_LIMIT)]
    if limit is None or not page or len(page) < limit:
        return page, []
    # a full page has a next link, as Cinder gives it (one more call may find it empty)
    args = {k: v for k, v in query.items() if k not in ("marker", "offset")}
    args["marker"] = page[-1]["id"]
    return page, [link(f"{req.host_url}{req.request.path}?{urlencode(args)}", "next")]
