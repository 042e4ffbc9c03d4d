"""What a dashboard handler works with: the request, the cloud's service layer, the visitor,
and how to answer (a whole page, a live fragment with its ETag, a redirect)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.wrappers import Request, Response

from overcast.cloud.service import Cloud
from overcast.errors import Forbidden
from overcast.identity.context import Context
from overcast.identity.policy import ec2_allows
from overcast.web import assets
from overcast.web.session import CSRF_FIELD, Visitor, projects_of

BASE = "/dashboard"
CSRF_PLACEHOLDER = "csrf-placeholder-0c7e"
POLL_SECONDS = 2
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
HTMX_CONFIG = ('{"includeIndicatorStyles": false, "allowEval": false, "allowScriptTags": false, '
               '"responseHandling": [{"code": "204", "swap": false}, '
               '{"code": "304", "swap": false}, {"code": "...", "swap": true}]}')


def make_templates() -> Environment:
    env = Environment(loader=FileSystemLoader(assets.STATIC.parent / "templates"),
                      autoescape=select_autoescape(default=True), trim_blocks=True,
                      lstrip_blocks=True)
    env.globals.update(base=BASE, csrf_field=CSRF_FIELD, htmx_config=HTMX_CONFIG,
                       poll=POLL_SECONDS, htmx_file=assets.HTMX_FILE,
                       static_version=assets.fingerprint, htmx_present=assets.htmx_present)
    return env


def etag_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class Page:
    def __init__(self, cloud: Cloud, request: Request, templates: Environment,
                 visitor: Visitor | None, args: Mapping[str, str]) -> None:
        self.cloud = cloud
        self.request = request
        self.templates = templates
        self.visitor = visitor
        self.args = args

    @property
    def ctx(self) -> Context:
        assert self.visitor is not None
        return self.visitor.ctx

    # role checks: the EC2 face's, by the action a button stands for -------------------------
    def allows(self, action: str) -> bool:
        return self.visitor is not None and ec2_allows(self.ctx, action)

    def require(self, action: str) -> None:
        if not self.allows(action):
            raise Forbidden("UnauthorizedOperation",
                            f"Your role on this project does not allow {action}.")

    # answers --------------------------------------------------------------------------------
    def text(self, name: str, **values: Any) -> str:
        return self.templates.get_template(name).render({**self._common(), **values})

    def render(self, name: str, status: int = 200, **values: Any) -> Response:
        response = Response(self.text(name, **values), status=status,
                            content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response

    def live(self, name: str, url: str, element_id: str, **values: Any) -> tuple[Markup, str]:
        """A fragment that polls `url` for itself, sending its ETag as If-None-Match: the
        server answers 304 (htmx then keeps what it has) until the content changes."""
        inner = self.text(name, **{"csrf": CSRF_PLACEHOLDER, **values})
        etag = etag_of(inner)  # over the content, not the CSRF token's fresh mask
        if self.visitor is not None:
            inner = inner.replace(CSRF_PLACEHOLDER, self.visitor.csrf)
        wrapper = self.templates.get_template("_live.html").render(
            url=url, element_id=element_id, etag=etag, inner=Markup(inner))
        return Markup(wrapper), etag

    def live_response(self, name: str, url: str, element_id: str, **values: Any) -> Response:
        markup, etag = self.live(name, url, element_id, **values)
        if etag in self.request.if_none_match:
            response = Response(status=304)
        else:
            response = Response(str(markup), content_type="text/html; charset=utf-8")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache, private"
        return response

    def redirect(self, to: str) -> Response:
        if self.request.headers.get("HX-Request") and not self.request.headers.get("HX-Boosted"):
            return Response(status=204, headers={"HX-Redirect": to})
        return Response(status=303, headers={"Location": to})

    def back(self, default: str) -> Response:
        """To the page a form names in `next` (only a dashboard path), else `default`."""
        wanted = self.request.form.get("next", "")
        ok = wanted.startswith(BASE + "/") and "//" not in wanted and "\\" not in wanted
        return self.redirect(wanted if ok else default)

    def _common(self) -> dict[str, Any]:
        visitor = self.visitor
        if visitor is None:
            return {"visitor": None}
        return {"visitor": visitor, "csrf": visitor.csrf, "is_admin": visitor.ctx.is_admin,
                "projects": projects_of(self.cloud, visitor), "path": self.request.path,
                "roles": ", ".join(visitor.scope.roles)}


def record_action(page: Page, instance_id: str, action: str) -> None:
    """Record what the visitor asked of an instance, as Nova's instance actions (the recent
    events of the overview; the Compute API's os-instance-actions)."""
    page.cloud.nova_actions.record(page.ctx, instance_id, action, f"req-{uuid.uuid4()}")


# a page module's routes: name -> (path under /dashboard, handler, methods)
Routes = dict[str, tuple[str, Callable[[Page], Response], tuple[str, ...]]]
