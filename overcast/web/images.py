"""Images: the ones the project may launch, and uploading a raw or qcow2 disk as a new private
image (streamed into the image store as the Image API does; the format is checked by probing
the data)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from werkzeug.wrappers import Response

from overcast.cloud.images.images import DescribeRequest
from overcast.cloud.images.uploads import NewImage
from overcast.errors import CloudError, invalid
from overcast.web.page import BASE, Page
from overcast.web.session import projects_of

FORMATS = ("qcow2", "raw")
CHUNK = 1 << 20


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def known_accounts(page: Page) -> dict[str, str]:
    """Account ID -> name of the projects the visitor holds a role on (what the share form
    offers; any other project's account ID may be typed)."""
    assert page.visitor is not None
    found = {}
    for project_id, name in projects_of(page.cloud, page.visitor):
        if project_id != page.ctx.project_id:
            found[page.cloud.identity.roles.project(project_id).account_id] = name
    return found


def show(page: Page, status: int = 200, error: str = "") -> Response:
    views = page.cloud.images.describe(page.ctx, DescribeRequest())
    views.sort(key=lambda v: (v.item.project_id is not None, v.item.name))
    return page.render("images.html", status=status, views=views, error=error,
                       formats=FORMATS, project_id=page.ctx.project_id,
                       accounts=known_accounts(page),
                       can_upload=page.allows("RegisterImage"),
                       can_share=page.allows("ModifyImageAttribute"))


def listing(page: Page) -> Response:
    if page.request.method == "GET":
        return show(page)
    page.require("RegisterImage")
    form, upload = page.request.form, page.request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise invalid("Choose a disk image file to upload.")
        disk_format = form.get("disk_format", "")
        if disk_format not in FORMATS:
            raise invalid(f"The disk format must be one of {', '.join(FORMATS)}.")
        made = page.cloud.image_uploads.create(page.ctx, NewImage(
            name=form.get("name", "").strip() or upload.filename, disk_format=disk_format,
            container_format="bare", visibility="private"))
        try:
            page.cloud.image_uploads.upload(page.ctx, made.image.id, _chunks(upload.stream))
        except CloudError:
            page.cloud.image_uploads.delete(page.ctx, made.image.id)
            raise
    except CloudError as exc:
        return show(page, 400, exc.message)
    return page.redirect(f"{BASE}/images")
