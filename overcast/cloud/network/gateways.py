"""Internet gateways: Create/Delete/Describe/Attach/DetachInternetGateway, one per VPC, as EC2
checks them. A default VPC is made with its own (route_rows.make_main_table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from overcast.cloud import filters as flt
from overcast.cloud import tags as tagsvc
from overcast.cloud.network import route_rows
from overcast.db import Database, utcnow
from overcast.db.models import Tag
from overcast.db.models_routes import InternetGateway
from overcast.errors import Conflict, DryRunOk, NotFound
from overcast.identity.context import Context
from overcast.ids import new_id

ATTACHED = "available"  # EC2's word for an attached internet gateway's attachment


@dataclass(frozen=True)
class GatewayView:
    gateway_id: str
    vpc_id: str | None
    owner_id: str


GATEWAY_FILTERS: dict[str, flt.Extractor] = {
    "internet-gateway-id": lambda t: t.item.gateway_id,
    "attachment.vpc-id": lambda t: t.item.vpc_id,
    "attachment.state": lambda t: ATTACHED if t.item.vpc_id else None,
    "owner-id": lambda t: t.item.owner_id,
}


def _already(gateway_id: str, vpc_id: str) -> Conflict:
    return Conflict("Resource.AlreadyAssociated",
                    f"resource {gateway_id} is already attached to network {vpc_id}")


class InternetGateways:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, ctx: Context, tags: dict[str, str], dry_run: bool = False) -> GatewayView:
        tagsvc.validate(tags)
        if dry_run:
            raise DryRunOk()
        with self.db.session() as s:
            row = InternetGateway(id=new_id("igw"), project_id=ctx.project_id, vpc_id=None,
                                  created_at=utcnow())
            s.add(row)
            s.flush()
            tagsvc.add(s, ctx.project_id, row.id, tags, new=True)
            return GatewayView(row.id, None, ctx.account_id)

    def delete(self, ctx: Context, gateway_id: str) -> None:
        with self.db.session() as s:
            row = route_rows.gateway(s, ctx, gateway_id)
            if row.vpc_id is not None:
                raise Conflict("DependencyViolation", f"The internetGateway '{gateway_id}' "
                               "has dependencies and cannot be deleted.")
            s.execute(delete(Tag).where(Tag.resource_id == row.id))
            s.delete(row)

    def attach(self, ctx: Context, gateway_id: str, vpc_id: str) -> None:
        with self.db.session() as s:
            row = route_rows.gateway(s, ctx, gateway_id)
            vpc = route_rows.vpc(s, ctx, vpc_id)
            if row.vpc_id is not None:
                raise _already(row.id, row.vpc_id)
            other = s.scalar(select(InternetGateway.id).where(InternetGateway.vpc_id == vpc.id))
            if other is not None:
                raise _already(other, vpc.id)
            row.vpc_id = vpc.id
            try:
                s.flush()  # the unique column decides between two racing attaches
            except IntegrityError:
                raise _already(row.id, vpc.id) from None

    def detach(self, ctx: Context, gateway_id: str, vpc_id: str) -> None:
        with self.db.session() as s:
            row = route_rows.gateway(s, ctx, gateway_id)
            vpc = route_rows.vpc(s, ctx, vpc_id)
            if row.vpc_id != vpc.id:
                raise NotFound("Gateway.NotAttached", f"resource {row.id} is not attached to "
                               f"network {vpc.id}")
            row.vpc_id = None

    def describe(self, ctx: Context, ids: Sequence[str], filters: Sequence[flt.Filter],
                 max_results: int | None,
                 token: str | None) -> tuple[list[flt.Tagged[GatewayView]], str | None]:
        for gateway_id in ids:
            route_rows.check_id(gateway_id, "igw", "InvalidInternetGatewayID")
        flt.check_filters(filters, GATEWAY_FILTERS)
        flt.check_max_results(max_results, 5, 1000)
        with self.db.read() as s:
            rows = list(s.scalars(select(InternetGateway).where(
                InternetGateway.project_id == ctx.project_id)))
            tags = tagsvc.for_resources(s, ctx.project_id, [r.id for r in rows])
        missing = [i for i in dict.fromkeys(ids) if i not in {r.id for r in rows}]
        if missing:
            raise NotFound("InvalidInternetGatewayID.NotFound",
                           f"The internetGateway ID '{', '.join(missing)}' does not exist")
        items = [flt.Tagged(GatewayView(r.id, r.vpc_id, ctx.account_id), tags.get(r.id, {}))
                 for r in rows if not ids or r.id in ids]
        found = [t for t in items if flt.matches(t, filters, GATEWAY_FILTERS)]
        return flt.page(found, lambda t: t.item.gateway_id, max_results, token)

    @staticmethod
    def exists(s: Session, ctx: Context, gateway_id: str) -> bool:
        """For tags: is this the project's gateway."""
        return s.scalar(select(InternetGateway.id).where(
            InternetGateway.id == gateway_id,
            InternetGateway.project_id == ctx.project_id)) is not None
