"""In a real Chromium: log in, launch an instance, watch it turn running without a reload,
read its console as it grows, stop it and terminate it."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import DashCloud, log_in, shot


def _mark(page: Page) -> None:
    """A value that lives as long as the document: gone after any reload or navigation."""
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_launch_watch_console_stop_terminate(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    shot(page, "overview")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("text=Instances")
    page.click("text=Launch instances")
    page.fill("#name", "web-1")
    page.select_option("#instance_type", "t3.small")
    page.fill("#user_data", "#!/bin/sh\necho hi\n")
    shot(page, "launch")
    page.click("button:has-text('Launch')")
    page.wait_for_url(f"{dash.url}/instances/i-*")
    instance_id = page.url.rsplit("/", 1)[1]
    page.goto(f"{dash.url}/instances")
    row = page.locator(f"#row-{instance_id}")
    expect(row.locator(".state")).to_have_text("pending")
    _mark(page)
    expect(row.locator(".state")).to_have_text("running", timeout=30_000)
    assert _not_reloaded(page)
    expect(row).to_contain_text("web-1")
    shot(page, "instances")

    row.locator("a").click()
    expect(page.locator("#instance-state")).to_have_text("running")
    expect(page.locator("#console pre")).to_contain_text("booted")
    expect(page.locator("#ssh-command")).to_contain_text("ssh -i")
    _mark(page)
    page.click("button:has-text('Reboot')")
    expect(page.locator("#console pre")).to_contain_text("rebooted", timeout=30_000)
    shot(page, "instance")
    page.click("button:has-text('Stop')")
    expect(page.locator("#instance-state")).to_have_text("stopped", timeout=30_000)
    page.click("button:has-text('Terminate')")
    expect(page.locator("#instance-state")).to_have_text("terminated", timeout=30_000)
    expect(page.locator("button:has-text('Start')")).to_have_count(0)
    page.context.close()


def test_search_narrows_the_list(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/instances?q=no-such-instance-anywhere")
    expect(page.locator("table.instances tbody")).to_contain_text("No instances match")
    page.context.close()


def test_a_refused_launch_says_why(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/instances/launch")
    page.fill("#user_data", "x" * 17000)
    page.click("button:has-text('Launch')")
    expect(page.locator(".error")).to_contain_text("16")
    page.context.close()
