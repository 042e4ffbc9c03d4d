"""Networks: each VPC of the project with its subnets, route tables (routes, associations)
and internet gateways; creating a VPC and a subnet, with CreateVpc's and CreateSubnet's
checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Response

from overcast.cloud.network import GatewayView, SubnetView, TableView, VpcView
from overcast.errors import CloudError
from overcast.web.page import BASE, Page, Routes
from overcast.web.volumes import local_zones


@dataclass
class VpcPanel:
    """One VPC and what belongs to it, as the page shows it."""

    view: VpcView
    name: str
    subnets: list[tuple[SubnetView, str, str]] = field(default_factory=list)  # +name, table
    tables: list[TableView] = field(default_factory=list)
    gateways: list[GatewayView] = field(default_factory=list)


def _panels(page: Page, vpc_ids: list[str]) -> list[VpcPanel]:
    ctx = page.ctx
    vpcs, _ = page.cloud.vpcs.describe_vpcs(ctx, vpc_ids, [], None, None)
    panels = {t.item.vpc.id: VpcPanel(t.item, t.tags.get("Name", "")) for t in vpcs}
    tables, _ = page.cloud.route_tables.describe(ctx, [], [], None, None)
    table_of: dict[str, str] = {}  # subnet ID (or VPC ID: its main table) -> table ID
    for t in tables:
        if t.item.table.vpc_id in panels:
            panels[t.item.table.vpc_id].tables.append(t.item)
        for a in t.item.associations:
            table_of[a.subnet_id or a.vpc_id] = t.item.table.id
    subnets, _ = page.cloud.vpcs.describe_subnets(ctx, [], [], None, None)
    for s in sorted(subnets, key=lambda s: s.item.subnet.cidr_block):
        subnet = s.item.subnet
        if subnet.vpc_id in panels:
            table = table_of.get(subnet.id) or table_of.get(subnet.vpc_id, "")
            panels[subnet.vpc_id].subnets.append((s.item, s.tags.get("Name", ""), table))
    gateways, _ = page.cloud.internet_gateways.describe(ctx, [], [], None, None)
    for g in gateways:
        if g.item.vpc_id in panels:
            panels[g.item.vpc_id].gateways.append(g.item)
    return sorted(panels.values(), key=lambda p: (not p.view.vpc.is_default, p.view.vpc.id))


def _page(page: Page, status: int = 200, error: str = "", form: Any = None) -> Response:
    panels = _panels(page, [])
    gateways, _ = page.cloud.internet_gateways.describe(page.ctx, [], [], None, None)
    return page.render("networks.html", status=status, error=error, form=form or {},
                       panels=panels, detached=[g.item for g in gateways if not g.item.vpc_id],
                       zones=local_zones(page), one=False,
                       can_change=page.allows("CreateVpc"))


def listing(page: Page) -> Response:
    return _page(page)


def detail(page: Page) -> Response:
    panels = _panels(page, [page.args["vpc_id"]])  # InvalidVpcID.NotFound: 404
    return page.render("networks.html", error="", form={}, panels=panels, detached=[],
                       zones=[], one=True, can_change=False)


def create_vpc(page: Page) -> Response:
    page.require("CreateVpc")
    form = page.request.form
    try:
        vpc = page.cloud.vpc_changes.create_vpc(page.ctx, form.get("cidr", "").strip())
    except CloudError as exc:
        return _page(page, 400, exc.message, form)
    return page.redirect(f"{BASE}/networks#{vpc.id}")


def create_subnet(page: Page) -> Response:
    page.require("CreateSubnet")
    form = page.request.form
    try:
        subnet = page.cloud.vpc_changes.create_subnet(
            page.ctx, form.get("vpc_id", ""), form.get("cidr", "").strip(),
            form.get("zone") or None)
    except CloudError as exc:
        if exc.kind == "not_found":
            raise
        return _page(page, 400, exc.message, form)
    return page.redirect(f"{BASE}/networks#{subnet.vpc_id}")


ROUTES: Routes = {
    "networks": ("/networks", listing, ("GET",)),
    "vpc_create": ("/networks/vpcs", create_vpc, ("POST",)),
    "subnet_create": ("/networks/subnets", create_subnet, ("POST",)),
    "vpc": ("/networks/<vpc_id>", detail, ("GET",)),
}
