"""Logging in and out, and picking the project to act in."""

from __future__ import annotations

from werkzeug.wrappers import Response

from overcast.errors import Forbidden
from overcast.web import session
from overcast.web.page import BASE, Page


def login_form(page: Page, error: str = "", status: int = 200, user_name: str = "") -> Response:
    token = session.new_login_csrf()
    response = page.render("login.html", status=status, error=error, login_csrf=token,
                           user_name=user_name)
    session.set_cookie(page.request, response, session.LOGIN_COOKIE, token, 600)
    return response


def login(page: Page) -> Response:
    if page.request.method == "GET":
        return page.redirect(BASE + "/") if page.visitor else login_form(page)
    if not session.login_csrf_ok(page.request):
        raise Forbidden("InvalidCsrfToken", "The login form expired: load it again.")
    form = page.request.form
    issued = session.log_in(page.cloud, form.get("user", ""), form.get("password", ""))
    if issued is None:
        return login_form(page, "Wrong user name or password, or no role on any project.",
                          401, form.get("user", ""))
    return _signed_in(page, issued[0], BASE + "/")


def _signed_in(page: Page, token: str, to: str) -> Response:
    response = page.redirect(to)
    session.set_cookie(page.request, response, session.COOKIE, token, session.SESSION_SECONDS)
    session.clear_cookie(page.request, response, session.LOGIN_COOKIE)
    return response


def logout(page: Page) -> Response:
    assert page.visitor is not None
    page.cloud.identity.tokens.revoke(page.visitor.token)
    response = page.redirect(BASE + "/login")
    session.clear_cookie(page.request, response, session.COOKIE)
    return response


def pick_project(page: Page) -> Response:
    assert page.visitor is not None
    issued = session.switch_project(page.cloud, page.visitor, page.request.form.get("project", ""))
    if issued is None:
        raise Forbidden("UnauthorizedOperation", "You hold no role on that project.")
    return _signed_in(page, issued[0], BASE + "/")
