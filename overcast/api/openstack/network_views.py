"""How Neutron writes networks (the project's VPCs), subnets, ports (one per instance) and
security groups with their rules (the same groups the EC2 face shows)."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from overcast.api.openstack.wsgi import iso
from overcast.cloud.compute import InstanceRecord
from overcast.cloud.network import GroupView, RuleRecord, SubnetView, VpcView
from overcast.lifecycle import State

_NAMESPACE = uuid.UUID("5f1d3c2a-8d4e-4b7a-9a51-0c3e7d2b1f60")
DEFAULT_NETWORK_NAME = "default"


def _common(resource_id: str, project_id: str, created: Any) -> dict[str, Any]:
    stamp = iso(created)
    return {"id": resource_id, "tenant_id": project_id, "project_id": project_id,
            "description": "", "tags": [], "created_at": stamp, "updated_at": stamp,
            "revision_number": 0}


def network_name(view: VpcView, tags: dict[str, str]) -> str:
    return tags.get("Name") or (DEFAULT_NETWORK_NAME if view.vpc.is_default else view.vpc.id)


def network(view: VpcView, tags: dict[str, str], subnet_ids: list[str]) -> dict[str, Any]:
    vpc = view.vpc
    return {**_common(vpc.id, vpc.project_id, vpc.created_at), "name": network_name(view, tags),
            "status": "ACTIVE", "admin_state_up": True, "shared": False,
            "subnets": subnet_ids, "mtu": 1500, "router:external": False,
            "port_security_enabled": True, "availability_zones": [],
            "availability_zone_hints": [], "is_default": vpc.is_default,
            "ipv4_address_scope": None, "ipv6_address_scope": None, "l2_adjacency": True}


def subnet(view: SubnetView, tags: dict[str, str]) -> dict[str, Any]:
    row = view.subnet
    net = ipaddress.ip_network(row.cidr_block)
    return {**_common(row.id, row.project_id, row.created_at),
            "name": tags.get("Name") or row.availability_zone, "network_id": row.vpc_id,
            "cidr": row.cidr_block, "ip_version": net.version, "gateway_ip": str(net[1]),
            "enable_dhcp": True,
            "allocation_pools": [{"start": str(net[4]), "end": str(net[-2])}],
            "dns_nameservers": [], "host_routes": [], "ipv6_ra_mode": None,
            "ipv6_address_mode": None, "subnetpool_id": None, "service_types": [],
            "segment_id": None}


def port_id(instance_uuid: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"port:{instance_uuid}"))


def port(row: InstanceRecord, group_ids: list[str]) -> dict[str, Any]:
    fixed = [{"subnet_id": row.subnet_id, "ip_address": row.private_ip}] \
        if row.private_ip else []
    return {**_common(port_id(row.uuid), row.project_id, row.launch_time), "name": "",
            "network_id": row.vpc_id, "mac_address": row.mac_address, "admin_state_up": True,
            "status": "ACTIVE" if row.state == State.RUNNING else "DOWN",
            "device_id": row.uuid, "device_owner": f"compute:{row.availability_zone}",
            "fixed_ips": fixed, "security_groups": group_ids, "allowed_address_pairs": [],
            "extra_dhcp_opts": [], "binding:vnic_type": "normal",
            "port_security_enabled": True}


def _port_range(rule: RuleRecord) -> tuple[int | None, int | None]:
    if rule.protocol == "-1":
        return None, None
    low = None if rule.from_port is None or rule.from_port < 0 else rule.from_port
    high = None if rule.to_port is None or rule.to_port < 0 else rule.to_port
    if rule.protocol in ("tcp", "udp") and (low, high) == (0, 65535):
        return None, None
    return low, high


def rule(row: RuleRecord) -> dict[str, Any]:
    low, high = _port_range(row)
    prefix = row.cidr_ipv4 or row.cidr_ipv6
    return {**_common(row.id, row.project_id, row.created_at),
            "description": row.description or "", "security_group_id": row.group_id,
            "direction": "egress" if row.is_egress else "ingress",
            "ethertype": "IPv6" if row.cidr_ipv6 else "IPv4",
            "protocol": None if row.protocol == "-1" else row.protocol,
            "port_range_min": low, "port_range_max": high, "remote_ip_prefix": prefix,
            "normalized_cidr": prefix, "remote_group_id": row.source_group_id,
            "remote_address_group_id": None, "belongs_to_source": False}


def security_group(view: GroupView) -> dict[str, Any]:
    group = view.group
    return {**_common(group.id, group.project_id, group.created_at), "name": group.name,
            "description": group.description or "", "stateful": True, "shared": False,
            "security_group_rules": [rule(r) for r in [*view.ingress, *view.egress]]}
