"""What a launch template may carry, and how a RunInstances call's own parameters are laid
over a template's (the call wins). Both are botocore-style dicts: a template's
LaunchTemplateData and RunInstances' input use the same member names for what this cloud
launches with."""

from __future__ import annotations

from typing import Any

from overcast.errors import invalid

# template fields taken as they are (checked, where they need it, by RunInstances)
PLAIN_FIELDS = frozenset({
    "ImageId", "InstanceType", "KeyName", "UserData", "SecurityGroupIds", "SecurityGroups",
    "DisableApiTermination", "DisableApiStop", "InstanceInitiatedShutdownBehavior",
    "MetadataOptions", "TagSpecifications", "Placement", "NetworkInterfaces", "Monitoring",
    "EbsOptimized",
})
PLACEMENT_FIELDS = frozenset({"AvailabilityZone", "Tenancy"})
INTERFACE_FIELDS = frozenset({"DeviceIndex", "SubnetId", "Groups", "PrivateIpAddress",
                              "DeleteOnTermination", "Description", "AssociatePublicIpAddress"})
TAGGED_TYPES = frozenset({"instance", "volume", "network-interface"})
# instance-level network parameters of RunInstances; they go into a template's interface
_NETWORK_PARAMS = {"SubnetId": "SubnetId", "SecurityGroupIds": "Groups",
                   "PrivateIpAddress": "PrivateIpAddress"}


def _unsupported(field: str, why: str = "") -> Exception:
    return invalid(f"The launch template field {field} is not supported by this cloud"
                   f"{': ' + why if why else ''}.")


def _check_placement(placement: dict[str, Any]) -> None:
    for name, value in placement.items():
        if name not in PLACEMENT_FIELDS:
            raise _unsupported(f"Placement.{name}")
        if name == "Tenancy" and value != "default":
            raise _unsupported("Placement.Tenancy", "only 'default' tenancy")


def _check_interfaces(interfaces: list[dict[str, Any]]) -> None:
    if len(interfaces) > 1:
        raise _unsupported("NetworkInterfaces", "one interface, at device index 0")
    for spec in interfaces:
        for name in spec:
            if name not in INTERFACE_FIELDS:
                raise _unsupported(f"NetworkInterfaces.{name}")
        if spec.get("DeviceIndex", 0) != 0:
            raise _unsupported("NetworkInterfaces.DeviceIndex", "only device index 0")
        if spec.get("DeleteOnTermination") is False:
            raise _unsupported("NetworkInterfaces.DeleteOnTermination",
                               "the primary interface goes with its instance")
        if spec.get("AssociatePublicIpAddress") is False:
            raise _unsupported("NetworkInterfaces.AssociatePublicIpAddress",
                               "every instance gets a public address")


def check_data(data: dict[str, Any]) -> None:
    """Refuse, naming it, any field this cloud would not honour at launch."""
    for name in data:
        if name not in PLAIN_FIELDS:
            raise _unsupported(name)
    _check_placement(data.get("Placement") or {})
    _check_interfaces(data.get("NetworkInterfaces") or [])
    for spec in data.get("TagSpecifications") or []:
        if spec.get("ResourceType") not in TAGGED_TYPES:
            raise _unsupported(f"TagSpecifications.ResourceType ({spec.get('ResourceType')})",
                               "instance, volume or network-interface")
    if (data.get("Monitoring") or {}).get("Enabled"):
        raise _unsupported("Monitoring.Enabled", "there is no detailed monitoring")
    if (data.get("Monitoring") or {}).get("MetricCategoryIds"):
        raise _unsupported("Monitoring.MetricCategoryIds")
    if data.get("EbsOptimized"):
        raise _unsupported("EbsOptimized")


def _merged_tags(template: list[dict[str, Any]], call: list[dict[str, Any]],
                 ) -> list[dict[str, Any]]:
    """Tag specifications per resource type, the call's tags over the template's."""
    by_type: dict[str, dict[str, str]] = {}
    for spec in [*template, *call]:
        tags = by_type.setdefault(spec.get("ResourceType", ""), {})
        tags.update({t.get("Key", ""): t.get("Value", "") for t in spec.get("Tags") or []})
    return [{"ResourceType": rtype, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            for rtype, tags in by_type.items()]


def _merged_interfaces(template: list[dict[str, Any]], params: dict[str, Any],
                       ) -> list[dict[str, Any]]:
    """The template's interface with the call's instance-level subnet, groups and address."""
    spec = {**template[0]}
    for param, member in _NETWORK_PARAMS.items():
        if params.get(param):
            spec[member] = params.pop(param)
    if params.get("SecurityGroups"):
        raise invalid("Security group names cannot be given with a launch template whose "
                      "network interface names its groups; use SecurityGroupIds.",
                      "InvalidParameterCombination")
    return [spec]


def merge(data: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """RunInstances parameters: the call's own over the template's (tags merged by key)."""
    merged = {k: v for k, v in data.items() if k not in ("TagSpecifications",
                                                          "NetworkInterfaces")}
    call = {k: v for k, v in params.items() if k != "LaunchTemplate"}
    if data.get("NetworkInterfaces") and not call.get("NetworkInterfaces"):
        merged["NetworkInterfaces"] = _merged_interfaces(data["NetworkInterfaces"], call)
    if call.get("SecurityGroupIds") or call.get("SecurityGroups"):
        merged.pop("SecurityGroupIds", None)  # the call's groups replace the template's
        merged.pop("SecurityGroups", None)
    if data.get("Placement") and call.get("Placement"):
        call["Placement"] = {**data["Placement"], **call["Placement"]}
    merged.update({k: v for k, v in call.items() if v is not None})
    tags = _merged_tags(data.get("TagSpecifications") or [],
                        params.get("TagSpecifications") or [])
    if tags:
        merged["TagSpecifications"] = tags
    return merged
