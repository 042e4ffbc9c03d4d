"""The service catalog and version documents: where each face lives under the listen
address, as DevStack lays them out."""

from __future__ import annotations

from typing import Any

IDENTITY, COMPUTE, IMAGE, NETWORK = "/identity", "/compute", "/image", "/network"
VOLUME = "/volume"
PROJECT = "$(project_id)s"  # replaced by the token's project, as Keystone does
IDENTITY_VERSION = "v3.14"

SERVICES = (  # type, name, path
    ("identity", "keystone", IDENTITY),
    ("compute", "nova", f"{COMPUTE}/v2.1"),
    ("image", "glance", IMAGE),
    ("network", "neutron", NETWORK),
    ("block-storage", "cinder", f"{VOLUME}/v3/{PROJECT}"),
    ("volumev3", "cinderv3", f"{VOLUME}/v3/{PROJECT}"),
)


def service_catalog(host_url: str, region: str, project_id: str = "") -> list[dict[str, Any]]:
    catalog = []
    for kind, name, path in SERVICES:
        endpoint = {"id": f"{name}-public", "interface": "public", "region": region,
                    "region_id": region, "url": host_url + path.replace(PROJECT, project_id)}
        catalog.append({"id": name, "type": kind, "name": name, "endpoints": [endpoint]})
    return catalog


def link(href: str, rel: str = "self") -> dict[str, str]:
    return {"rel": rel, "href": href}
