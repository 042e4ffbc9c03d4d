"""How Neutron writes the external network (the cloud's public pool, where Elastic IPs come
from) and floating IPs (the project's Elastic IPs)."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from overcast.api.openstack.wsgi import iso
from overcast.cloud.network import AddressView

_NAMESPACE = uuid.UUID("0b3d6f0e-51a4-4c55-8f0e-4f8a3c1e9d27")
EXTERNAL_NETWORK_NAME = "public"


def external_network_id(pool: ipaddress.IPv4Network) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"external:{pool}"))


def floating_ip_id(allocation_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"floatingip:{allocation_id}"))


def external_network(pool: ipaddress.IPv4Network, project_id: str) -> dict[str, Any]:
    """The public network every project sees: floating IPs are made on it."""
    return {"id": external_network_id(pool), "name": EXTERNAL_NETWORK_NAME,
            "tenant_id": project_id, "project_id": project_id,
            "description": f"The cloud's public addresses ({pool})", "tags": [],
            "created_at": None, "updated_at": None, "revision_number": 0,
            "status": "ACTIVE", "admin_state_up": True, "shared": False, "subnets": [],
            "mtu": 1500, "router:external": True, "port_security_enabled": False,
            "availability_zones": [], "availability_zone_hints": [], "is_default": True,
            "ipv4_address_scope": None, "ipv6_address_scope": None, "l2_adjacency": True}


def floating_ip(view: AddressView, network_id: str, port_id: str | None) -> dict[str, Any]:
    row = view.address
    stamp = iso(row.created_at)
    return {"id": floating_ip_id(row.id), "tenant_id": row.project_id,
            "project_id": row.project_id, "floating_ip_address": row.public_ip,
            "floating_network_id": network_id, "router_id": None, "port_id": port_id,
            "fixed_ip_address": row.private_ip if port_id else None,
            "status": "ACTIVE" if port_id else "DOWN", "description": "", "tags": [],
            "created_at": stamp, "updated_at": stamp, "revision_number": 0,
            "dns_domain": "", "dns_name": "", "port_details": None, "qos_policy_id": None,
            "port_forwardings": []}
