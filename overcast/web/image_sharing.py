"""Sharing an image the project owns: a launch permission for another project's account
(as ModifyImageAttribute gives one) and taking it back; making it public or private again,
which only a cloud admin may (the image service refuses anyone else, as Glance does)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from overcast.cloud.images import PermissionChange
from overcast.web.page import BASE, Page, Routes
from overcast.web.session import projects_of


def known_accounts(page: Page) -> dict[str, str]:
    """Account ID -> name of the projects the visitor holds a role on (what the share form
    offers; any other project's account ID may be typed)."""
    assert page.visitor is not None
    found = {}
    for project_id, name in projects_of(page.cloud, page.visitor):
        if project_id != page.ctx.project_id:
            found[page.cloud.identity.roles.project(project_id).account_id] = name
    return found


def _owned_image_id(page: Page) -> str:
    """The image in the URL, which the project must own (not visible: 404; another's: 403)."""
    return page.cloud.images.check_owned(page.ctx, page.args["image_id"]).id


def share(page: Page) -> Response:
    page.require("ModifyImageAttribute")
    image_id = _owned_image_id(page)
    account = page.request.form.get("account", "").strip()
    page.cloud.images.change_permissions(page.ctx, image_id,
                                         PermissionChange(add_accounts=(account,)))
    return page.redirect(f"{BASE}/images#image-{image_id}")


def unshare(page: Page) -> Response:
    page.require("ModifyImageAttribute")
    image_id = _owned_image_id(page)
    account = page.request.form.get("account", "").strip()
    page.cloud.images.change_permissions(page.ctx, image_id,
                                         PermissionChange(remove_accounts=(account,)))
    return page.redirect(f"{BASE}/images#image-{image_id}")


def visibility(page: Page) -> Response:
    page.require("ModifyImageAttribute")
    image_id = _owned_image_id(page)
    public = page.request.form.get("public") == "true"
    page.cloud.image_uploads.update(page.ctx, image_id,
                                    {"visibility": "public" if public else "private"})
    return page.redirect(f"{BASE}/images#image-{image_id}")


ROUTES: Routes = {
    "image_share": ("/images/<image_id>/share", share, ("POST",)),
    "image_unshare": ("/images/<image_id>/unshare", unshare, ("POST",)),
    "image_visibility": ("/images/<image_id>/visibility", visibility, ("POST",)),
}
