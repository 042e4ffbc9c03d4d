"""EC2 NAT gateway actions: Create/Delete/DescribeNatGateways."""

from __future__ import annotations

from typing import Any

from overcast.api.ec2.dispatch import Call, action, dry_run_check, required, tag_list, tags_for
from overcast.cloud import filters as flt
from overcast.cloud.network.nat_gateways import NatView


def _render(tagged: flt.Tagged[NatView], state: str | None = None) -> dict[str, Any]:
    nat = tagged.item.nat
    addresses = [{"AllocationId": nat.allocation_id, "NetworkInterfaceId":
                  nat.network_interface_id, "PrivateIp": nat.private_ip,
                  "PublicIp": nat.public_ip, "AssociationId": tagged.item.association_id,
                  "IsPrimary": True,
                  "Status": "succeeded" if nat.state != "deleted" else "disassociated"}]
    return {"NatGatewayId": nat.id, "VpcId": nat.vpc_id, "SubnetId": nat.subnet_id,
            "State": state or nat.state, "ConnectivityType": "public",
            "CreateTime": nat.created_at, "DeleteTime": nat.deleted_at,
            "NatGatewayAddresses": addresses, "Tags": tag_list(tagged.tags)}


@action("CreateNatGateway")
def create_nat_gateway(call: Call) -> dict[str, Any]:
    tags = tags_for(call, "natgateway")
    view = call.cloud.nat_gateways.create(
        call.ctx, required(call, "SubnetId"), call.get("AllocationId"),
        call.get("ConnectivityType") or "public", tags, dry_run=bool(call.get("DryRun")))
    # as AWS answers: pending, then available (here at once) in DescribeNatGateways
    return {"NatGateway": _render(flt.Tagged(view, tags), "pending"),
            "ClientToken": call.get("ClientToken")}


@action("DeleteNatGateway")
def delete_nat_gateway(call: Call) -> dict[str, Any]:
    nat_id = required(call, "NatGatewayId")
    return {"NatGatewayId": call.cloud.nat_gateways.delete(call.ctx, nat_id,
                                                           dry_run=bool(call.get("DryRun")))}


@action("DescribeNatGateways")
def describe_nat_gateways(call: Call) -> dict[str, Any]:
    items, token = call.cloud.nat_gateways.describe(
        call.ctx, call.get("NatGatewayIds", []),
        flt.parse_filters(call.get("Filter") or call.get("Filters")),
        call.get("MaxResults"), call.get("NextToken"))
    dry_run_check(call)
    return {"NatGateways": [_render(t) for t in items], "NextToken": token}
