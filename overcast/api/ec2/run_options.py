"""RunInstances parameters beyond image, type and count: where the instance goes on the
network, and its protection, shutdown and metadata options."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import Call
from overcast.cloud.compute import InstanceOptions, MetadataOptions, NetworkRequest
from overcast.errors import NotFound, invalid


def metadata_request(raw: dict[str, Any] | None) -> MetadataOptions:
    raw = raw or {}
    found = MetadataOptions(http_tokens=raw.get("HttpTokens"),
                            http_endpoint=raw.get("HttpEndpoint"),
                            hop_limit=raw.get("HttpPutResponseHopLimit"),
                            instance_tags=raw.get("InstanceMetadataTags"))
    found.check()
    protocol_ipv6 = raw.get("HttpProtocolIpv6")
    if protocol_ipv6 not in (None, "disabled", "enabled"):
        raise invalid(f"Value ({protocol_ipv6}) for parameter HttpProtocolIpv6 is invalid.")
    return found


def instance_options(call: Call) -> InstanceOptions:
    return InstanceOptions(
        disable_api_termination=bool(call.get("DisableApiTermination")),
        disable_api_stop=bool(call.get("DisableApiStop")),
        shutdown_behavior=call.get("InstanceInitiatedShutdownBehavior", "stop"),
        metadata=metadata_request(call.get("MetadataOptions")))


def _primary_interface(call: Call) -> dict[str, Any] | None:
    interfaces = call.get("NetworkInterfaces", [])
    if not interfaces:
        return None
    if len(interfaces) > 1 or interfaces[0].get("DeviceIndex", 0) != 0:
        raise invalid("Only one network interface, at device index 0, is supported.")
    spec = interfaces[0]
    if spec.get("NetworkInterfaceId"):
        raise NotFound("InvalidNetworkInterfaceID.NotFound",
                       f"The networkInterface ID '{spec['NetworkInterfaceId']}' does not "
                       "exist")
    for name in ("SubnetId", "SecurityGroupIds", "SecurityGroups", "PrivateIpAddress"):
        if call.params.get(name):
            lowered = name[0].lower() + name[1:]
            raise invalid(f"Network interfaces and an instance-level {lowered} may not be "
                          "specified on the same request", "InvalidParameterCombination")
    return spec


def network_request(call: Call) -> NetworkRequest:
    interface = _primary_interface(call)
    if interface is not None:
        return NetworkRequest(subnet_id=interface.get("SubnetId"),
                              security_group_ids=tuple(interface.get("Groups") or ()),
                              private_ip=interface.get("PrivateIpAddress"))
    return NetworkRequest(subnet_id=call.get("SubnetId"),
                          security_group_ids=tuple(call.get("SecurityGroupIds", [])),
                          security_group_names=tuple(call.get("SecurityGroups", [])),
                          private_ip=call.get("PrivateIpAddress"))
