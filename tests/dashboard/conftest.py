"""A real `overcast up` on the fake driver and a real headless Chromium (Debian's, driven by
Playwright) for the dashboard's browser tests; screenshots go to screenshots-out/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import RunningCloud, start_cloud

CHROMIUM = os.environ.get("OVERCAST_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SHOTS = Path(__file__).resolve().parent / "screenshots-out"
PASSWORD = "dashboard-pw-1"


@dataclass
class DashCloud:
    cloud: RunningCloud
    other_instance: str  # an instance of another project

    @property
    def url(self) -> str:
        return f"{self.cloud.endpoint}/dashboard"


@pytest.fixture(scope="module")
def dash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashCloud]:
    # a boot takes a second: the list shows pending before running
    cloud = start_cloud(tmp_path_factory.mktemp("dash"), fake_boot_delay=1.0)
    try:
        cloud.overcast("user", "set-password", "admin", "--password", PASSWORD)
        cloud.overcast("user", "create", "viewer", "--project", "admin", "--role", "reader",
                       "--password", PASSWORD)
        cloud.overcast("project", "create", "other")
        other = cloud.client(cloud.project_credentials("other"))
        image = other.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        found = other.run_instances(ImageId=image, MinCount=1, MaxCount=1)
        yield DashCloud(cloud, found["Instances"][0]["InstanceId"])
    finally:
        cloud.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/install-deps --test installs it)")
    SHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        found = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield found
        found.close()


def log_in(browser: Browser, dash: DashCloud, user: str = "admin") -> Page:
    """A new browser context (its own cookies) logged in as `user`; the page it is on."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{dash.url}/login")
    page.fill("#user", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{dash.url}/")
    return page


def shot(page: Page, name: str, full_page: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)
