"""Who is looking at the dashboard: a Keystone token in a cookie (HttpOnly, SameSite=Strict,
Secure over HTTPS) scoped to the project picked, and the CSRF token every form and htmx post
carries, derived from it. Logging in checks the user's password through the identity service
and issues a token as Keystone's password method does; picking another project issues a new
one (the user must hold a role there) and revokes the old; logging out revokes it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from werkzeug.wrappers import Request, Response

from overcast.cloud.service import Cloud
from overcast.identity.context import Context
from overcast.identity.logins import Logins
from overcast.identity.tokens import TOKEN_LIFETIME, Scope

COOKIE = "overcast_dashboard"
LOGIN_COOKIE = "overcast_login"  # the login form's own CSRF token (double submit)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
PATH = "/dashboard"


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"overcast-dashboard-csrf", hashlib.sha256).hexdigest()


def masked(csrf: str) -> str:
    """The CSRF token behind a new random pad each time it is rendered (pad, then token XOR
    pad, in hex): compressed pages then leak nothing of it (BREACH)."""
    raw = bytes.fromhex(csrf)
    pad = secrets.token_bytes(len(raw))
    return (pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))).hex()


def unmasked(sent: str) -> str:
    try:
        raw = bytes.fromhex(sent)
    except ValueError:
        return ""
    half = len(raw) // 2
    return bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True)).hex()


@dataclass(frozen=True)
class Visitor:
    """A logged-in user acting in one project."""

    token: str
    scope: Scope

    @property
    def ctx(self) -> Context:
        return self.scope.context()

    @property
    def csrf(self) -> str:
        """The CSRF token to render (masked afresh each time)."""
        return masked(csrf_for(self.token))

    @property
    def user_name(self) -> str:
        return self.scope.user.name

    @property
    def project_name(self) -> str:
        return self.scope.project.name

    @property
    def project_id(self) -> str:
        return self.scope.project.id


def visitor_of(cloud: Cloud, request: Request) -> Visitor | None:
    token = request.cookies.get(COOKIE)
    scope = cloud.identity.tokens.validate(token)
    if token is None or scope is None or "password" not in scope.methods:
        return None
    return Visitor(token, scope)


def csrf_ok(request: Request, visitor: Visitor) -> bool:
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    return hmac.compare_digest(unmasked(sent).encode(), csrf_for(visitor.token).encode())


def login_csrf_ok(request: Request) -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = request.form.get(CSRF_FIELD, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), sent.encode())


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path=PATH, httponly=True,
                        samesite="Strict", secure=request.scheme == "https")


def clear_cookie(request: Request, response: Response, name: str) -> None:
    set_cookie(request, response, name, "", 0)


def log_in(cloud: Cloud, user_name: str, password: str) -> tuple[str, Scope] | None:
    return Logins(cloud.identity.roles, cloud.identity.tokens).log_in(user_name, password)


def switch_project(cloud: Cloud, visitor: Visitor, project_id: str) -> tuple[str, Scope] | None:
    return Logins(cloud.identity.roles, cloud.identity.tokens).switch(
        visitor.scope, visitor.token, project_id)


def projects_of(cloud: Cloud, visitor: Visitor) -> list[tuple[str, str]]:
    """(ID, name) of every project the visitor may switch to."""
    logins = Logins(cloud.identity.roles, cloud.identity.tokens)
    return [(p.id, p.name) for p in logins.projects(visitor.scope)]


SESSION_SECONDS = int(TOKEN_LIFETIME.total_seconds())
