"""EC2 Elastic IP actions: AllocateAddress, AssociateAddress, DisassociateAddress,
ReleaseAddress, DescribeAddresses, DescribeAddressesAttribute."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.network import POOL_NAME, AddressView, AssociateRequest, check_allocation_ids
from overcast.errors import InvalidParameter

PTR_ATTRIBUTE = "domain-name"


def _render(tagged: flt.Tagged[AddressView]) -> dict[str, Any]:
    view = tagged.item
    row = view.address
    return {
        "AllocationId": row.id, "PublicIp": row.public_ip, "Domain": row.domain,
        "AssociationId": row.association_id, "InstanceId": row.instance_id,
        "NetworkInterfaceId": row.network_interface_id,
        "NetworkInterfaceOwnerId": view.owner_id if row.network_interface_id else None,
        "PrivateIpAddress": row.private_ip, "PublicIpv4Pool": POOL_NAME,
        "NetworkBorderGroup": view.border_group, "Tags": tag_list(tagged.tags),
    }


@action("AllocateAddress")
def allocate_address(call: Call) -> dict[str, Any]:
    eips = call.cloud.elastic_ips
    eips.check_request(call.get("Address"), call.get("Domain", "vpc"),
                       call.get("PublicIpv4Pool"), call.get("NetworkBorderGroup"))
    if call.get("CustomerOwnedIpv4Pool") or call.get("IpamPoolId"):
        raise InvalidParameter("InvalidParameterValue",
                               "Customer-owned and IPAM pools are not offered.")
    view = eips.allocate(call.ctx, call.get("Address"), tags_for(call, "elastic-ip"),
                         dry_run=bool(call.get("DryRun")))
    return {"AllocationId": view.address.id, "PublicIp": view.address.public_ip,
            "Domain": view.address.domain, "PublicIpv4Pool": POOL_NAME,
            "NetworkBorderGroup": view.border_group}


@action("AssociateAddress")
def associate_address(call: Call) -> dict[str, Any]:
    association_id = call.cloud.eip_associations.associate(call.ctx, AssociateRequest(
        allocation_id=call.get("AllocationId"), public_ip=call.get("PublicIp"),
        instance_id=call.get("InstanceId"), interface_id=call.get("NetworkInterfaceId"),
        private_ip=call.get("PrivateIpAddress"),
        allow_reassociation=call.params.get("AllowReassociation"),
        dry_run=bool(call.get("DryRun"))))
    return {"AssociationId": association_id}


@action("DisassociateAddress")
def disassociate_address(call: Call) -> dict[str, Any]:
    call.cloud.eip_associations.disassociate(call.ctx, call.get("AssociationId"),
                                             call.get("PublicIp"),
                                             dry_run=bool(call.get("DryRun")))
    return {}


@action("ReleaseAddress")
def release_address(call: Call) -> dict[str, Any]:
    if call.get("NetworkBorderGroup") not in (None, call.cloud.settings.region):
        raise InvalidParameter("InvalidParameterValue",
                               f"Invalid network border group "
                               f"'{call.get('NetworkBorderGroup')}'.")
    call.cloud.elastic_ips.release(call.ctx, call.get("AllocationId"), call.get("PublicIp"),
                                   dry_run=bool(call.get("DryRun")))
    return {}


@action("DescribeAddresses")
def describe_addresses(call: Call) -> dict[str, Any]:
    items = call.cloud.elastic_ips.describe(
        call.ctx, call.get("AllocationIds", []), call.get("PublicIps", []),
        flt.parse_filters(call.get("Filters")))
    dry_run_check(call)
    return {"Addresses": [_render(t) for t in items]}


@action("DescribeAddressesAttribute")
def describe_addresses_attribute(call: Call) -> dict[str, Any]:
    """The reverse DNS (PTR) records of addresses: none are set in this cloud."""
    attribute = call.get("Attribute", PTR_ATTRIBUTE)
    if attribute != PTR_ATTRIBUTE:
        raise InvalidParameter("InvalidParameterValue",
                               f"Value ({attribute}) for parameter attribute is invalid.")
    ids = call.get("AllocationIds", [])
    check_allocation_ids(ids)
    max_results = call.get("MaxResults")
    flt.check_max_results(max_results, 1, 1000)
    items = call.cloud.elastic_ips.describe(call.ctx, ids, [], [])
    chunk, token = flt.page(items, lambda t: t.item.address.id, max_results,
                            call.get("NextToken"))
    dry_run_check(call)
    return {"Addresses": [{"AllocationId": t.item.address.id,
                           "PublicIp": t.item.address.public_ip} for t in chunk],
            "NextToken": token}
