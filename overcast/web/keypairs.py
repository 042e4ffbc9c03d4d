"""Key pairs: listed, created (the private key shown and offered for download once, never
kept), imported, deleted."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from overcast.web.page import BASE, Page


def _page(page: Page, status: int = 200, error: str = "", created: object = None) -> Response:
    pairs = sorted(page.cloud.keypairs.list(page.ctx), key=lambda k: k.name)
    return page.render("keypairs.html", status=status, pairs=pairs, error=error,
                       created=created, can_change=page.allows("CreateKeyPair"))


def listing(page: Page) -> Response:
    return _page(page)


def create(page: Page) -> Response:
    page.require("CreateKeyPair")
    form = page.request.form
    made = page.cloud.keypairs.create(page.ctx, form.get("name", "").strip(),
                                      form.get("key_type", "rsa"))
    encoded = base64.b64encode(made.material.encode()).decode()
    created = {"name": made.pair.name, "material": made.material,
               "href": f"data:application/x-pem-file;base64,{encoded}"}
    return _page(page, created=created)


def import_key(page: Page) -> Response:
    page.require("ImportKeyPair")
    form = page.request.form
    page.cloud.keypairs.import_key(page.ctx, form.get("name", "").strip(),
                                   form.get("public_key", "").strip().encode())
    return page.redirect(f"{BASE}/keypairs")


def delete(page: Page) -> Response:
    page.require("DeleteKeyPair")
    page.cloud.keypairs.delete(page.ctx, page.args["name"], None)
    return page.redirect(f"{BASE}/keypairs")
