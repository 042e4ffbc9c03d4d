"""Elastic IPs: allocate one from the cloud's pool, associate it with an instance (it becomes
the instance's public IP), disassociate, release; the EC2 address actions' own checks."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.cloud.network import AddressView, AssociateRequest
from overcast.errors import CloudError, Conflict
from overcast.lifecycle import State
from overcast.web.page import BASE, Page, Routes

GONE = (State.SHUTTING_DOWN, State.TERMINATED)


def _page(page: Page, status: int = 200, error: str = "") -> Response:
    found = page.cloud.elastic_ips.describe(page.ctx, [], [], [])
    instances, _ = page.cloud.instances.describe(page.ctx, [], [])
    targets = sorted((v.item.id, v.tags.get("Name", "")) for v in instances
                     if v.item.state not in GONE)
    return page.render("addresses.html", status=status, error=error,
                       addresses=[t.item.address for t in found], targets=targets,
                       limit=page.cloud.elastic_ips.project_limit(page.ctx),
                       can_change=page.allows("AllocateAddress"))


def listing(page: Page) -> Response:
    return _page(page)


def _address(page: Page) -> AddressView:
    """The project's address named in the URL (InvalidAllocationID.NotFound: 404)."""
    return page.cloud.elastic_ips.describe(page.ctx, [page.args["allocation_id"]], [], [])[0]\
        .item


def _act(page: Page, action: str, call: Any) -> Response:
    page.require(action)
    try:
        call()
    except CloudError as exc:
        if exc.kind in ("not_found", "forbidden"):
            raise
        return _page(page, 400 if exc.kind == "invalid" else 409, exc.message)
    return page.redirect(f"{BASE}/addresses")


def allocate(page: Page) -> Response:
    return _act(page, "AllocateAddress", lambda: page.cloud.elastic_ips.allocate(page.ctx))


def associate(page: Page) -> Response:
    allocation_id = _address(page).address.id
    request = AssociateRequest(allocation_id=allocation_id,
                               instance_id=page.request.form.get("instance_id", "") or None)
    return _act(page, "AssociateAddress",
                lambda: page.cloud.eip_associations.associate(page.ctx, request))


def _disassociate(page: Page, association_id: str | None) -> None:
    if association_id is None:
        raise Conflict("InvalidAssociationID.NotFound", "The address is not associated.")
    page.cloud.eip_associations.disassociate(page.ctx, association_id, None)


def disassociate(page: Page) -> Response:
    association_id = _address(page).address.association_id
    return _act(page, "DisassociateAddress", lambda: _disassociate(page, association_id))


def release(page: Page) -> Response:
    allocation_id = _address(page).address.id
    return _act(page, "ReleaseAddress",
                lambda: page.cloud.elastic_ips.release(page.ctx, allocation_id, None))


ROUTES: Routes = {
    "addresses": ("/addresses", listing, ("GET",)),
    "address_allocate": ("/addresses/allocate", allocate, ("POST",)),
    "address_associate": ("/addresses/<allocation_id>/associate", associate, ("POST",)),
    "address_disassociate": ("/addresses/<allocation_id>/disassociate", disassociate,
                             ("POST",)),
    "address_release": ("/addresses/<allocation_id>/release", release, ("POST",)),
}
