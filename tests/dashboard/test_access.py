"""The dashboard's walls, through a real browser session: a reader sees but has no buttons
and its forged posts are refused, another project's IDs are not found, a post without the
CSRF token is refused, and logging out ends the session."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import DashCloud, log_in, shot


def _csrf(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def _launch_one(page: Page, dash: DashCloud) -> str:
    page.goto(f"{dash.url}/instances/launch")
    page.click("button:has-text('Launch')")
    page.wait_for_url(f"{dash.url}/instances/i-*")
    return page.url.rsplit("/", 1)[1]


def test_a_reader_sees_no_buttons_and_its_forged_posts_are_refused(
        browser: Browser, dash: DashCloud) -> None:
    admin = log_in(browser, dash)
    instance_id = _launch_one(admin, dash)
    expect(admin.locator("#instance-state")).to_have_text("running", timeout=30_000)
    admin.context.close()

    page = log_in(browser, dash, "viewer")
    page.goto(f"{dash.url}/instances")
    expect(page.locator(f"#row-{instance_id}")).to_be_visible()
    expect(page.locator("text=Launch instances")).to_have_count(0)
    page.goto(f"{dash.url}/instances/{instance_id}")
    expect(page.locator("#instance-state")).to_have_text("running")
    expect(page.locator(".buttons button")).to_have_count(0)
    shot(page, "instance-reader")
    token = _csrf(page)
    forged = page.request.post(f"{dash.url}/instances/{instance_id}/stop",
                               form={"csrf_token": token}, max_redirects=0)
    assert forged.status == 403
    launch = page.request.post(f"{dash.url}/instances/launch", form={"csrf_token": token},
                               max_redirects=0)
    assert launch.status == 403
    page.goto(f"{dash.url}/instances/{instance_id}")
    expect(page.locator("#instance-state")).to_have_text("running")
    page.context.close()


def test_another_projects_instance_is_not_found(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    for path in (f"/instances/{dash.other_instance}",
                 f"/instances/{dash.other_instance}/console"):
        response = page.goto(f"{dash.url}{path}")
        assert response is not None and response.status == 404, path
    shot(page, "not-found")
    refused = page.request.post(f"{dash.url}/instances/{dash.other_instance}/terminate",
                                form={"csrf_token": _csrf(page)}, max_redirects=0)
    assert refused.status == 404
    page.context.close()


def test_a_post_without_the_csrf_token_is_refused(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    instance_id = _launch_one(page, dash)
    expect(page.locator("#instance-state")).to_have_text("running", timeout=30_000)
    for form in ({}, {"csrf_token": "0" * 64}):
        refused = page.request.post(f"{dash.url}/instances/{instance_id}/terminate",
                                    form=form, max_redirects=0)
        assert refused.status == 403
    page.reload()
    expect(page.locator("#instance-state")).to_have_text("running")
    page.context.close()


def test_cookie_flags_and_logout(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    cookie = next(c for c in page.context.cookies() if c["name"] == "overcast_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    page.click("text=Log out")
    page.wait_for_url(f"{dash.url}/login")
    page.context.add_cookies([cookie])  # the old token was revoked
    page.goto(f"{dash.url}/instances")
    assert page.url == f"{dash.url}/login"
    shot(page, "login")
    page.fill("#user", "admin")
    page.fill("#password", "wrong-password")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("Wrong user name or password")
    page.context.close()


def test_picking_another_project(browser: Browser, dash: DashCloud) -> None:
    dash.cloud.overcast("role", "add", "--user", "admin", "--project", "other", "member")
    page = log_in(browser, dash)
    page.select_option("#project-picker", label="other")
    expect(page.locator("h1")).to_contain_text("project other")
    page.goto(f"{dash.url}/instances/{dash.other_instance}")
    expect(page.locator("h1")).to_contain_text(dash.other_instance)
    page.context.close()
