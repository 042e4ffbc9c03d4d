"""Sharing an image the project owns: a launch permission for another project's account
(as ModifyImageAttribute gives one) and taking it back; making it public or private again,
which only a cloud admin may (the image service refuses anyone else, as Glance does)."""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.wrappers import Response

from overcast.cloud.images import PermissionChange
from overcast.errors import CloudError
from overcast.web.images import show
from overcast.web.page import BASE, Page, Routes


def _owned_image_id(page: Page) -> str:
    """The image in the URL, which the project must own (not visible: 404; another's: 403)."""
    return page.cloud.images.check_owned(page.ctx, page.args["image_id"]).id


def _act(page: Page, change: Callable[[str], object]) -> Response:
    """Change an image the project owns; a refused value is shown on the images page."""
    page.require("ModifyImageAttribute")
    image_id = _owned_image_id(page)
    try:
        change(image_id)
    except CloudError as exc:
        if exc.kind in ("not_found", "forbidden"):
            raise
        return show(page, 400, exc.message)
    return page.redirect(f"{BASE}/images#image-{image_id}")


def _account(page: Page) -> str:
    return page.request.form.get("account", "").strip()


def share(page: Page) -> Response:
    return _act(page, lambda image_id: page.cloud.images.change_permissions(
        page.ctx, image_id, PermissionChange(add_accounts=(_account(page),))))


def unshare(page: Page) -> Response:
    return _act(page, lambda image_id: page.cloud.images.change_permissions(
        page.ctx, image_id, PermissionChange(remove_accounts=(_account(page),))))


def visibility(page: Page) -> Response:
    public = page.request.form.get("public") == "true"
    return _act(page, lambda image_id: page.cloud.image_uploads.update(
        page.ctx, image_id, {"visibility": "public" if public else "private"}))


ROUTES: Routes = {
    "image_share": ("/images/<image_id>/share", share, ("POST",)),
    "image_unshare": ("/images/<image_id>/unshare", unshare, ("POST",)),
    "image_visibility": ("/images/<image_id>/visibility", visibility, ("POST",)),
}
