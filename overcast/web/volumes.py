"""Volumes and their snapshots: a live list (state, size, type, attachment), create, attach
to an instance and detach, snapshot, delete; the same calls and checks as the EC2 volume
actions."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from overcast.cloud.storage import VolumeRequest
from overcast.cloud.storage.types import SIZES
from overcast.errors import CloudError, invalid
from overcast.lifecycle import ATTACHABLE_INSTANCE
from overcast.web.page import BASE, Page, Routes

ROWS_URL = f"{BASE}/volumes/rows"
DEVICES = [f"/dev/sd{letter}" for letter in "fghijklmnop"]


def local_zones(page: Page) -> list[str]:
    """Zones a volume can be made in: the cloud's own, not its burst targets'."""
    burst = {t.zone for t in page.cloud.burst.targets()}
    return [z for z in page.cloud.catalog.availability_zones() if z not in burst]


def _row_values(page: Page) -> dict[str, Any]:
    found, _ = page.cloud.volumes.describe(page.ctx, [], [], None, None)
    volumes = sorted((t.item for t in found if not t.item.root),
                     key=lambda v: (v.created, v.id), reverse=True)
    instances, _ = page.cloud.instances.describe(page.ctx, [], [])
    attachable: dict[str, list[tuple[str, str]]] = {}  # zone -> (instance ID, name)
    for view in sorted(instances, key=lambda v: v.item.id):
        if view.item.state in ATTACHABLE_INSTANCE:
            attachable.setdefault(view.item.availability_zone, []).append(
                (view.item.id, view.tags.get("Name", "")))
    snapshots, _ = page.cloud.volume_snapshots.describe(page.ctx, [], [], [], None, None)
    return {"volumes": volumes, "names": {t.item.id: t.tags.get("Name", "") for t in found},
            "attachable": attachable, "devices": DEVICES,
            "snapshots": sorted((t.item for t in snapshots), key=lambda s: s.started,
                                reverse=True),
            "can_change": page.allows("AttachVolume")}


def _page(page: Page, status: int = 200, error: str = "", form: Any = None) -> Response:
    rows, _ = page.live("volume_rows.html", ROWS_URL, "volume-rows", **_row_values(page))
    return page.render("volumes.html", status=status, error=error, form=form or {},
                       rows=rows, zones=local_zones(page), types=list(SIZES),
                       can_change=page.allows("CreateVolume"))


def listing(page: Page) -> Response:
    return _page(page)


def rows(page: Page) -> Response:
    return page.live_response("volume_rows.html", ROWS_URL, "volume-rows", **_row_values(page))


def _size(raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise invalid(f"The size '{raw}' is not a whole number of GiB.") from None


def _tags(name: str) -> dict[str, str]:
    return {"Name": name} if name else {}


def create(page: Page) -> Response:
    page.require("CreateVolume")
    form = page.request.form
    try:
        page.cloud.volumes.create(page.ctx, VolumeRequest(
            zone=form.get("zone", ""), size_gib=_size(form.get("size", "")),
            volume_type=form.get("volume_type", "gp2"),
            tags=_tags(form.get("name", "").strip())))
    except CloudError as exc:
        return _page(page, 400, exc.message, form)
    return page.redirect(f"{BASE}/volumes")


def _act(page: Page, action: str, call: Any) -> Response:
    """Do one change to a volume; a refusal is shown on the page, a missing volume is 404."""
    page.require(action)
    try:
        call()
    except CloudError as exc:
        if exc.kind in ("not_found", "forbidden"):
            raise
        return _page(page, 400 if exc.kind == "invalid" else 409, exc.message)
    return page.redirect(f"{BASE}/volumes")


def attach(page: Page) -> Response:
    form = page.request.form
    return _act(page, "AttachVolume", lambda: page.cloud.volume_attachments.attach(
        page.ctx, page.args["volume_id"], form.get("instance_id", ""),
        form.get("device", "")))


def detach(page: Page) -> Response:
    return _act(page, "DetachVolume", lambda: page.cloud.volume_attachments.detach(
        page.ctx, page.args["volume_id"]))


def snapshot(page: Page) -> Response:
    description = page.request.form.get("description", "").strip()
    return _act(page, "CreateSnapshot", lambda: page.cloud.volume_snapshots.create(
        page.ctx, page.args["volume_id"], description))


def delete(page: Page) -> Response:
    return _act(page, "DeleteVolume", lambda: page.cloud.volumes.delete(
        page.ctx, page.args["volume_id"]))


def delete_snapshot(page: Page) -> Response:
    return _act(page, "DeleteSnapshot", lambda: page.cloud.volume_snapshots.delete(
        page.ctx, page.args["snapshot_id"]))


ROUTES: Routes = {
    "volumes": ("/volumes", listing, ("GET",)),
    "volume_rows": ("/volumes/rows", rows, ("GET",)),
    "volume_create": ("/volumes/create", create, ("POST",)),
    "volume_attach": ("/volumes/<volume_id>/attach", attach, ("POST",)),
    "volume_detach": ("/volumes/<volume_id>/detach", detach, ("POST",)),
    "volume_snapshot": ("/volumes/<volume_id>/snapshot", snapshot, ("POST",)),
    "volume_delete": ("/volumes/<volume_id>/delete", delete, ("POST",)),
    "snapshot_delete": ("/snapshots/<snapshot_id>/delete", delete_snapshot, ("POST",)),
}
