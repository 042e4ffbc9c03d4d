"""The dashboard as a WSGI app under /dashboard: routes, the login wall, CSRF checks on every
POST, static files, and errors as pages with the status the service layer's error means."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from overcast.cloud.service import Cloud
from overcast.errors import CloudError
from overcast.web import (
    addresses,
    assets,
    auth,
    groups,
    image_sharing,
    images,
    instances,
    keypairs,
    networks,
    overview,
    session,
    volumes,
)
from overcast.web.page import BASE, SECURITY_HEADERS, Page, make_templates

Handler = Callable[[Page], Response]
MIN_COMPRESSED = 1400  # bytes: below about one packet gzip saves nothing
OPEN = {"login", "static"}  # what answers without a session
STATUS = {"not_found": 404, "forbidden": 403, "auth": 401, "conflict": 409, "quota": 409,
          "capacity": 409, "invalid": 400}

ROUTES: dict[str, tuple[str, Handler, tuple[str, ...]]] = {
    "login": ("/login", auth.login, ("GET", "POST")),
    "logout": ("/logout", auth.logout, ("POST",)),
    "project": ("/project", auth.pick_project, ("POST",)),
    "overview": ("/", overview.show, ("GET",)),
    "instances": ("/instances", instances.listing, ("GET",)),
    "instance_rows": ("/instances/rows", instances.rows, ("GET",)),
    "launch": ("/instances/launch", instances.launch, ("GET", "POST")),
    "instance": ("/instances/<instance_id>", instances.detail, ("GET",)),
    "instance_summary": ("/instances/<instance_id>/summary", instances.summary, ("GET",)),
    "console": ("/instances/<instance_id>/console", instances.console, ("GET",)),
    "instance_action": ("/instances/<instance_id>/<verb>", instances.act, ("POST",)),
    "images": ("/images", images.listing, ("GET", "POST")),
    "keypairs": ("/keypairs", keypairs.listing, ("GET",)),
    "keypair_create": ("/keypairs/create", keypairs.create, ("POST",)),
    "keypair_import": ("/keypairs/import", keypairs.import_key, ("POST",)),
    "keypair_delete": ("/keypairs/<name>/delete", keypairs.delete, ("POST",)),
    "groups": ("/security-groups", groups.listing, ("GET",)),
    "group": ("/security-groups/<group_id>", groups.detail, ("GET",)),
    "rule_add": ("/security-groups/<group_id>/rules", groups.add_rule, ("POST",)),
    "rule_delete": ("/security-groups/<group_id>/rules/<rule_id>/delete", groups.delete_rule,
                    ("POST",)),
    **volumes.ROUTES, **addresses.ROUTES, **networks.ROUTES, **image_sharing.ROUTES,
}


def _static(page: Page) -> Response:
    path = assets.static_path(page.args["name"])
    if path is None:
        return Response("No such file.\n", status=404, content_type="text/plain")
    response = Response(path.read_bytes(), content_type=assets.TYPES[path.suffix])
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def compress(request: Request, response: Response) -> None:
    """gzip text answers for clients that take it (a list of 1000 instances shrinks tenfold);
    pages carry their CSRF token masked afresh, so compression leaks nothing of it."""
    if response.status_code != 200 or response.direct_passthrough or \
            "gzip" not in request.accept_encodings or \
            not (response.mimetype or "").startswith("text/"):
        return
    body = response.get_data()
    if len(body) < MIN_COMPRESSED:
        return
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")


class Dashboard:
    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud
        self.templates = make_templates()
        rules = [Rule(BASE + path, endpoint=name, methods=list(methods))
                 for name, (path, _, methods) in ROUTES.items()]
        rules.append(Rule(BASE + "/static/<path:name>", endpoint="static", methods=["GET"]))
        rules.append(Rule(BASE, endpoint="root", methods=["GET"]))
        self.map = Map(rules, strict_slashes=False)
        self.handlers: dict[str, Handler] = {n: h for n, (_, h, _) in ROUTES.items()}
        self.handlers["static"] = _static
        self.handlers["root"] = lambda page: page.redirect(BASE + "/")

    def route_label(self, environ: dict[str, Any]) -> str:
        """The method and route template of a request, for the request log and metrics."""
        method = environ.get("REQUEST_METHOD", "")
        try:
            rule, _ = self.map.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:
            return f"{method} /dashboard unmatched"
        return f"{method} {rule.rule}"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        response.headers.update(SECURITY_HEADERS)
        compress(request, response)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        page = Page(self.cloud, request, self.templates, None, {})
        try:
            endpoint, args = self.map.bind_to_environ(request.environ).match()
            page.args = args
            if endpoint not in OPEN:
                page.visitor = session.visitor_of(self.cloud, request)
                if page.visitor is None:
                    return page.redirect(BASE + "/login")
                if request.method == "POST" and not session.csrf_ok(request, page.visitor):
                    return self.error(page, 403, "The form's CSRF token is missing or wrong: "
                                                 "load the page again.")
            return self.handlers[endpoint](page)
        except CloudError as exc:
            return self.error(page, STATUS.get(exc.kind, 400), exc.message)
        except HTTPException as exc:
            return self.error(page, exc.code or 500, exc.description or exc.name)

    @staticmethod
    def error(page: Page, status: int, message: str) -> Response:
        return page.render("error.html", status=status, status_code=status, message=message)
