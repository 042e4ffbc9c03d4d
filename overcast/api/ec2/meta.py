"""EC2 actions about the cloud itself: regions, zones, instance types, account attributes and
tags. Importing this module also registers the image actions (overcast.api.ec2.images)."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2 import images as _images  # noqa: F401 - registers the image actions
from overcast.api.ec2.dispatch import Call, action, dry_run_check
from overcast.cloud import filters as flt
from overcast.cloud.compute import InstanceTypeRecord
from overcast.errors import InvalidParameter

ZONE_FILTERS: dict[str, flt.Extractor] = {
    "zone-name": lambda t: t.item, "state": lambda t: "available",
    "region-name": lambda t: t.tags["region"], "zone-type": lambda t: "availability-zone",
    "zone-id": lambda t: t.tags["zone-id"], "opt-in-status": lambda t: "opt-in-not-required",
}
REGION_FILTERS: dict[str, flt.Extractor] = {
    "region-name": lambda t: t.item, "endpoint": lambda t: t.tags["endpoint"],
    "opt-in-status": lambda t: "opt-in-not-required",
}
TYPE_FILTERS: dict[str, flt.Extractor] = {
    "instance-type": lambda t: t.item.name,
    "vcpu-info.default-vcpus": lambda t: str(t.item.vcpus),
    "memory-info.size-in-mib": lambda t: str(t.item.memory_mib),
    "current-generation": lambda t: "true",
    "processor-info.supported-architecture": lambda t: "x86_64",
    "supported-virtualization-type": lambda t: "hvm",
    "supported-root-device-type": lambda t: "ebs",
}


@action("DescribeRegions")
def describe_regions(call: Call) -> dict[str, Any]:
    region = call.cloud.settings.region
    names = call.get("RegionNames", [])
    unknown = [n for n in names if n != region]
    if unknown:
        raise InvalidParameter("InvalidParameterValue", f"Invalid region: {unknown[0]}")
    item = flt.Tagged(region, {"endpoint": call.host})
    filters = flt.parse_filters(call.get("Filters"))
    found = flt.apply([item], filters, REGION_FILTERS)
    dry_run_check(call)
    return {"Regions": [{"RegionName": region, "Endpoint": call.host,
                         "OptInStatus": "opt-in-not-required"} for _ in found]}


@action("DescribeAvailabilityZones")
def describe_availability_zones(call: Call) -> dict[str, Any]:
    region = call.cloud.settings.region
    zones = call.cloud.catalog.availability_zones()
    hidden = call.cloud.burst.hidden_zones(call.ctx.project_id)  # others' burst targets
    items = [flt.Tagged(z, {"region": region, "zone-id": f"{region}-az{i + 1}"})
             for i, z in enumerate(zones) if z not in hidden]
    names, ids = call.get("ZoneNames", []), call.get("ZoneIds", [])
    for wanted, key in ((names, lambda t: t.item), (ids, lambda t: t.tags["zone-id"])):
        unknown = set(wanted) - {key(t) for t in items}
        if unknown:
            raise InvalidParameter("InvalidParameterValue",
                                   f"The zone '{sorted(unknown)[0]}' does not exist.")
        if wanted:
            items = [t for t in items if key(t) in wanted]
    items = flt.apply(items, flt.parse_filters(call.get("Filters")), ZONE_FILTERS)
    dry_run_check(call)
    return {"AvailabilityZones": [
        {"ZoneName": t.item, "ZoneId": t.tags["zone-id"], "State": "available",
         "RegionName": region, "ZoneType": "availability-zone", "GroupName": region,
         "NetworkBorderGroup": region, "OptInStatus": "opt-in-not-required", "Messages": []}
        for t in items]}


def _render_type(itype: InstanceTypeRecord) -> dict[str, Any]:
    return {
        "InstanceType": itype.name, "CurrentGeneration": True, "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand"], "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"], "BareMetal": False, "Hypervisor": "nitro",
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "VCpuInfo": {"DefaultVCpus": itype.vcpus, "DefaultCores": itype.vcpus,
                     "DefaultThreadsPerCore": 1},
        "MemoryInfo": {"SizeInMiB": itype.memory_mib}, "InstanceStorageSupported": False,
        "EbsInfo": {"EbsOptimizedSupport": "default", "EncryptionSupport": "supported"},
        "NetworkInfo": {"NetworkPerformance": "Up to 5 Gigabit", "MaximumNetworkInterfaces": 2,
                        "Ipv4AddressesPerInterface": 4, "Ipv6Supported": False},
        "SupportedBootModes": ["legacy-bios", "uefi"],
    }


@action("DescribeInstanceTypes")
def describe_instance_types(call: Call) -> dict[str, Any]:
    types = call.cloud.catalog.instance_types()
    wanted = call.get("InstanceTypes", [])
    unknown = [n for n in wanted if n not in types]
    if unknown:
        raise InvalidParameter("InvalidInstanceType",
                               f"The following supplied instance types do not exist: "
                               f"[{', '.join(unknown)}]")
    items = [flt.Tagged(t, {}) for n, t in types.items() if not wanted or n in wanted]
    items = flt.apply(items, flt.parse_filters(call.get("Filters")), TYPE_FILTERS)
    max_results = call.get("MaxResults")
    flt.check_max_results(max_results, 5, 100)
    chunk, token = flt.page(items, lambda t: t.item.name, max_results, call.get("NextToken"))
    dry_run_check(call)
    return {"InstanceTypes": [_render_type(t.item) for t in chunk], "NextToken": token}


@action("DescribeAccountAttributes")
def describe_account_attributes(call: Call) -> dict[str, Any]:
    settings = call.cloud.settings
    values = {
        "supported-platforms": ["VPC"], "default-vpc": [call.cloud.vpcs.default_vpc_id(call.ctx)],
        "max-instances": [str(settings.default_max_instances)],
        "vpc-max-security-groups-per-interface": ["5"],
        "max-elastic-ips": [str(call.cloud.elastic_ips.project_limit(call.ctx))],
        "vpc-max-elastic-ips": [str(call.cloud.elastic_ips.project_limit(call.ctx))],
    }
    wanted = call.get("AttributeNames", []) or list(values)
    unknown = [n for n in wanted if n not in values]
    if unknown:
        raise InvalidParameter("InvalidParameterValue",
                               f"Value ({unknown[0]}) for parameter attributeName is invalid.")
    dry_run_check(call)
    return {"AccountAttributes": [
        {"AttributeName": n, "AttributeValues": [{"AttributeValue": v} for v in values[n]]}
        for n in wanted]}


@action("CreateTags")
def create_tags(call: Call) -> dict[str, Any]:
    tags = {t.get("Key", ""): t.get("Value", "") for t in call.get("Tags", [])}
    if not tags:
        raise InvalidParameter("MissingParameter", "The request must contain the parameter Tag")
    if call.get("DryRun"):
        call.cloud.tags.check(call.ctx, call.get("Resources", []))
        dry_run_check(call)
    call.cloud.tags.create(call.ctx, call.get("Resources", []), tags)
    return {}


@action("DeleteTags")
def delete_tags(call: Call) -> dict[str, Any]:
    tags = [(t.get("Key", ""), t.get("Value")) for t in call.get("Tags", [])]
    if call.get("DryRun"):
        call.cloud.tags.check(call.ctx, call.get("Resources", []))
        dry_run_check(call)
    call.cloud.tags.delete(call.ctx, call.get("Resources", []), tags)
    return {}


@action("DescribeTags")
def describe_tags(call: Call) -> dict[str, Any]:
    max_results = call.get("MaxResults")
    if max_results is not None and max_results > 1000:
        max_results = 1000  # EC2 answers with at most 1000 tags rather than refusing more
    tags, token = call.cloud.tags.describe(call.ctx, flt.parse_filters(call.get("Filters")),
                                           max_results, call.get("NextToken"))
    dry_run_check(call)
    return {"Tags": [{"Key": t.key, "Value": t.value, "ResourceId": t.resource_id,
                      "ResourceType": t.resource_type} for t in tags], "NextToken": token}
