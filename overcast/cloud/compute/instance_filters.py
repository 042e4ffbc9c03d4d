"""The DescribeInstances filters AWS documents, for what this cloud has: every name is
accepted; features the cloud does not have (spot, volumes besides the root, IPv6, capacity
reservations...) never match, as on an AWS account that does not use them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from overcast.cloud import filters as flt
from overcast.cloud.compute.records import InstanceRecord
from overcast.db import as_utc
from overcast.ids import primary_interface_id, root_volume_id
from overcast.lifecycle import STATE_CODES, State, ec2_name


def private_dns_name(row: InstanceRecord) -> str:
    return f"ip-{row.private_ip.replace('.', '-')}.ec2.internal" if row.private_ip else ""


def _if_volume(pick: Callable[[Any], str]) -> flt.Extractor:
    """A block-device-mapping.* filter: the root volume, gone with a terminated instance."""
    return lambda t: None if t.item.state == State.TERMINATED else pick(t)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _iso(row: InstanceRecord) -> str:
    return as_utc(row.launch_time).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _const(value: str) -> flt.Extractor:
    return lambda t: value


def _never(_t: Any) -> None:
    return None


def _if_attached(pick: Callable[[Any], object]) -> flt.Extractor:
    """A network-interface.* filter: nothing for instances without an interface (none, or
    terminated: the interface went with the instance)."""
    def extract(t: Any) -> str | list[str] | None:
        if not t.item.subnet_id or not t.item.private_ip or t.item.state == State.TERMINATED:
            return None
        found = pick(t)
        return found if isinstance(found, list) else (None if found is None else str(found))
    return extract


def _group_ids(t: Any) -> list[str]:
    return [gid for gid, _ in t.groups]


def _group_names(t: Any) -> list[str]:
    return [name for _, name in t.groups]


NETWORK_INTERFACE_FILTERS: dict[str, flt.Extractor] = {
    "network-interface.network-interface-id":
        _if_attached(lambda t: primary_interface_id(t.item.id)),
    "network-interface.subnet-id": _if_attached(lambda t: t.item.subnet_id),
    "network-interface.vpc-id": _if_attached(lambda t: t.item.vpc_id),
    "network-interface.availability-zone": _if_attached(lambda t: t.item.availability_zone),
    "network-interface.mac-address": _if_attached(lambda t: t.item.mac_address),
    "network-interface.private-dns-name": _if_attached(lambda t: private_dns_name(t.item)),
    "network-interface.private-ip-address": _if_attached(lambda t: t.item.private_ip),
    "network-interface.addresses.private-ip-address": _if_attached(lambda t: t.item.private_ip),
    "network-interface.addresses.private-dns-name":
        _if_attached(lambda t: private_dns_name(t.item)),
    "network-interface.addresses.primary": _if_attached(lambda t: "true"),
    "network-interface.addresses.association.public-ip":
        _if_attached(lambda t: t.item.public_ip),
    "network-interface.addresses.association.ip-owner-id":
        _if_attached(lambda t: "amazon" if t.item.public_ip else None),
    "network-interface.association.public-ip": _if_attached(lambda t: t.item.public_ip),
    "network-interface.association.ip-owner-id":
        _if_attached(lambda t: "amazon" if t.item.public_ip else None),
    "network-interface.owner-id": _if_attached(lambda t: t.owner_id),
    "network-interface.requester-managed": _if_attached(lambda t: "false"),
    "network-interface.status": _if_attached(lambda t: "in-use"),
    "network-interface.description": _if_attached(lambda t: ""),
    "network-interface.source-dest-check":
        _if_attached(lambda t: _bool(t.item.source_dest_check)),
    "network-interface.attachment.attachment-id":
        _if_attached(lambda t: "eni-attach-" + t.item.id.removeprefix("i-")),
    "network-interface.attachment.instance-id": _if_attached(lambda t: t.item.id),
    "network-interface.attachment.instance-owner-id": _if_attached(lambda t: t.owner_id),
    "network-interface.attachment.attach-time": _if_attached(lambda t: _iso(t.item)),
    "network-interface.attachment.status": _if_attached(lambda t: "attached"),
    "network-interface.attachment.device-index": _if_attached(lambda t: "0"),
    "network-interface.attachment.network-card-index": _if_attached(lambda t: "0"),
    "network-interface.attachment.delete-on-termination": _if_attached(lambda t: "true"),
    "network-interface.group-id": _if_attached(_group_ids),
    "network-interface.group-name": _if_attached(_group_names),
    "network-interface.interface-type": _if_attached(lambda t: "interface"),
    "network-interface.ipv6-native": _if_attached(lambda t: "false"),
    "network-interface.deny-all-igw-traffic": _if_attached(lambda t: "false"),
}

# documented names for features this cloud does not have: accepted, never matching
ABSENT = (
    "affinity", "capacity-reservation-id",
    "capacity-reservation-specification.capacity-reservation-preference",
    "capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id",
    "capacity-reservation-specification.capacity-reservation-target."
    "capacity-reservation-resource-group-arn",
    "host-id", "iam-instance-profile.arn", "iam-instance-profile.id", "instance-lifecycle",
    "ipv6-address", "kernel-id", "ramdisk-id", "outpost-arn", "placement-group-name",
    "placement-partition-number", "platform", "product-code", "product-code.type",
    "spot-instance-request-id", "usage-operation-update-time", "operator.principal",
    "network-interface.addresses.association.allocation-id",
    "network-interface.addresses.association.association-id",
    "network-interface.addresses.association.carrier-ip",
    "network-interface.addresses.association.customer-owned-ip",
    "network-interface.addresses.association.public-dns-name",
    "network-interface.association.allocation-id",
    "network-interface.association.association-id",
    "network-interface.association.carrier-ip",
    "network-interface.association.customer-owned-ip",
    "network-interface.association.public-dns-name", "network-interface.ipv6-address",
    "network-interface.ipv4-prefixes.ipv4-prefix", "network-interface.ipv6-addresses.ipv6-address",
    "network-interface.ipv6-addresses.is-primary-ipv6",
    "network-interface.ipv6-prefixes.ipv6-prefix",
    "network-interface.operator.principal", "network-interface.outpost-arn",
    "network-interface.public-dns-name", "network-interface.requester-id",
    "network-interface.tag-key", "network-interface.tag-value",
    "network-performance-options.bandwidth-weighting", "requester-id",
)

INSTANCE_FILTERS: dict[str, flt.Extractor] = {
    "instance-id": lambda t: t.item.id,
    "instance-state-name": lambda t: ec2_name(t.item.state),
    "instance-state-code": lambda t: str(STATE_CODES[State(t.item.state)]),
    "instance-type": lambda t: t.item.instance_type,
    "image-id": lambda t: t.item.image_id,
    "key-name": lambda t: t.item.key_name,
    "availability-zone": lambda t: t.item.availability_zone,
    "availability-zone-id": lambda t: t.zone_id,
    "placement-availability-zone": lambda t: t.item.availability_zone,
    "reservation-id": lambda t: t.item.reservation_id,
    "private-ip-address": lambda t: t.item.private_ip,
    "ip-address": lambda t: t.item.public_ip,
    "launch-index": lambda t: str(t.item.launch_index),
    "client-token": lambda t: t.item.client_token,
    "architecture": _const("x86_64"),
    "boot-mode": _const("legacy-bios"),
    "current-instance-boot-mode": _const("legacy-bios"),
    "root-device-type": _const("ebs"),
    "root-device-name": lambda t: t.root_device,
    "block-device-mapping.device-name": _if_volume(lambda t: t.root_device),
    "block-device-mapping.volume-id": _if_volume(lambda t: root_volume_id(t.item.id)),
    "block-device-mapping.status": _if_volume(lambda t: "attached"),
    "block-device-mapping.attach-time": _if_volume(lambda t: _iso(t.item)),
    "block-device-mapping.delete-on-termination": _if_volume(lambda t: "true"),
    "virtualization-type": _const("hvm"),
    "tenancy": _const("default"),
    "hypervisor": _const("xen"),
    "monitoring-state": _const("disabled"),
    "platform-details": _const("Linux/UNIX"),
    "usage-operation": _const("RunInstances"),
    "ebs-optimized": _const("false"),
    "ena-support": _const("true"),
    "enclave-options.enabled": _const("false"),
    "hibernation-options.configured": _const("false"),
    "maintenance-options.auto-recovery": _const("default"),
    "operator.managed": _const("false"),
    "network-interface.operator.managed": _const("false"),
    "tpm-support": _never,
    "state-reason-code": lambda t: t.item.state_reason_code,
    "state-reason-message": lambda t: t.item.state_reason_message,
    "reason": lambda t: t.item.transition_reason,
    "private-dns-name": lambda t: private_dns_name(t.item),
    "private-dns-name-options.hostname-type": _const("ip-name"),
    "private-dns-name-options.enable-resource-name-dns-a-record": _const("false"),
    "private-dns-name-options.enable-resource-name-dns-aaaa-record": _const("false"),
    "dns-name": _const(""),
    "launch-time": lambda t: _iso(t.item),
    "owner-id": lambda t: t.owner_id,
    "source-dest-check": lambda t: _bool(t.item.source_dest_check),
    "subnet-id": lambda t: t.item.subnet_id if t.item.private_ip else None,
    "vpc-id": lambda t: t.item.vpc_id if t.item.private_ip else None,
    "instance.group-id": _group_ids,
    "instance.group-name": _group_names,
    "group-id": _group_ids,
    "group-name": _group_names,
    "metadata-options.state": _const("applied"),
    "metadata-options.http-tokens": lambda t: t.item.metadata_http_tokens,
    "metadata-options.http-endpoint": lambda t: t.item.metadata_http_endpoint,
    "metadata-options.http-put-response-hop-limit": lambda t: str(t.item.metadata_hop_limit),
    "metadata-options.instance-metadata-tags": lambda t: t.item.metadata_instance_tags,
    "metadata-options.http-protocol-ipv4": _const("enabled"),
    "metadata-options.http-protocol-ipv6": _const("disabled"),
    **NETWORK_INTERFACE_FILTERS,
    **{name: _never for name in ABSENT},
}
