"""DescribeVpcAttribute and ModifyVpcAttribute: DNS support, DNS hostnames and network address
usage metrics, stored on the VPC (DNS hostnames on in default VPCs only, as AWS sets them)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from overcast.db import Database
from overcast.db.models_network import Vpc
from overcast.errors import InvalidParameter, NotFound
from overcast.identity.context import Context
from overcast.ids import is_well_formed

# the API's attribute name -> the column holding it
ATTRIBUTES = {
    "enableDnsSupport": "enable_dns_support",
    "enableDnsHostnames": "enable_dns_hostnames",
    "enableNetworkAddressUsageMetrics": "enable_network_address_usage_metrics",
}


def _check_attribute(name: str) -> str:
    column = ATTRIBUTES.get(name)
    if column is None:
        raise InvalidParameter("InvalidParameterValue", f"Value ({name[:64]}) for parameter "
                               f"attribute is invalid. Use one of {', '.join(ATTRIBUTES)}.")
    return column


class VpcAttributes:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _vpc(s: Session, ctx: Context, vpc_id: str) -> Vpc:
        if not is_well_formed(vpc_id, "vpc"):
            raise InvalidParameter("InvalidVpcID.Malformed",
                                   f'Invalid id: "{vpc_id[:64]}" (expecting "vpc-...")')
        vpc = s.scalar(select(Vpc).where(Vpc.id == vpc_id, Vpc.project_id == ctx.project_id))
        if vpc is None:
            raise NotFound("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
        return vpc

    def get(self, ctx: Context, vpc_id: str, attribute: str) -> bool:
        column = _check_attribute(attribute)
        with self.db.read() as s:
            return bool(getattr(self._vpc(s, ctx, vpc_id), column))

    def modify(self, ctx: Context, vpc_id: str, changes: dict[str, bool]) -> None:
        """Set one attribute (EC2 takes one a request)."""
        if len(changes) != 1:
            raise InvalidParameter("InvalidParameterCombination" if changes else
                                   "MissingParameter", "Specify exactly one attribute: "
                                   f"{', '.join(ATTRIBUTES)}.")
        [(attribute, value)] = changes.items()
        column = _check_attribute(attribute)
        with self.db.session() as s:
            vpc = self._vpc(s, ctx, vpc_id)
            if attribute == "enableDnsHostnames" and value and not vpc.enable_dns_support:
                raise InvalidParameter("InvalidParameterValue", "DNS hostnames cannot be "
                                       "enabled while DNS support is disabled.")
            setattr(vpc, column, value)
