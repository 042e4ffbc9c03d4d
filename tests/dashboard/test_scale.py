"""The instance list with 1000 instances in a real Chromium: its render time and page weight
are measured and printed (not asserted: the machine's load decides them); the list must show
every instance. Also the pages at a phone's width."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RunningCloud, start_cloud
from tests.dashboard.conftest import PASSWORD, DashCloud, log_in, shot

COUNT = 1000
TIMING = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const all = [nav, ...performance.getEntriesByType("resource")];
  return {server_ms: nav.responseStart - nav.requestStart,
          html_ms: nav.responseEnd - nav.requestStart,
          dom_ready_ms: nav.domContentLoadedEventEnd - nav.startTime,
          load_ms: nav.loadEventEnd - nav.startTime,
          html_bytes: nav.transferSize, html_decoded: nav.decodedBodySize,
          transferred_bytes: all.reduce((sum, e) => sum + e.transferSize, 0),
          resources: all.length};
}"""


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashCloud]:
    cloud = start_cloud(tmp_path_factory.mktemp("big"), fake_vcpus=1024,
                        fake_memory_mib=4_000_000, fake_disk_gib=100_000)
    try:
        cloud.overcast("user", "set-password", "admin", "--password", PASSWORD)
        cloud.overcast("project", "set-quota", "admin", "--instances", str(COUNT),
                       "--vcpus", str(4 * COUNT))
        ec2 = cloud.client()
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, InstanceType="t3.nano", MinCount=COUNT,
                          MaxCount=COUNT)
        _wait_all_running(cloud)
        yield DashCloud(cloud, "")
    finally:
        cloud.stop()


def _wait_all_running(cloud: RunningCloud, timeout: float = 300) -> None:
    ec2 = cloud.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = ec2.describe_instances(Filters=[
            {"Name": "instance-state-name", "Values": ["running"]}], MaxResults=1000)
        if sum(len(r["Instances"]) for r in running["Reservations"]) >= COUNT:
            return
        time.sleep(1)
    raise AssertionError(f"{COUNT} instances not running within {timeout} s")


def _measure(page: Page, url: str) -> dict[str, float]:
    started = time.perf_counter()
    page.goto(url, wait_until="load")
    figures = page.evaluate(TIMING)
    figures["wall_ms"] = (time.perf_counter() - started) * 1000
    return figures


def test_the_list_of_1000_instances(browser: Browser, big: DashCloud) -> None:
    page = log_in(browser, big)
    cold = _measure(page, f"{big.url}/instances")  # static files cached from here on
    print(f"\nfirst load (static files too): {cold['transferred_bytes']} bytes transferred "
          f"in {cold['resources']} responses, load {cold['load_ms']:.0f} ms")
    first = [_measure(page, f"{big.url}/instances") for _ in range(3)]
    expect(page.locator("table.instances tbody tr")).to_have_count(COUNT)
    shot(page, "instances-1000")
    best = min(first, key=lambda f: f["load_ms"])
    print(f"\ninstance list, {COUNT} instances (best of 3 loads): "
          + ", ".join(f"{k}={round(v)}" for k, v in best.items()))
    poll = page.request.get(f"{big.url}/instances/rows")
    etag = poll.headers.get("etag", "")
    started = time.perf_counter()
    again = page.request.get(f"{big.url}/instances/rows", headers={"If-None-Match": etag})
    print(f"unchanged poll: {again.status} in {(time.perf_counter() - started) * 1000:.0f} ms "
          f"(a changed one sends {len(poll.body())} bytes)")
    assert again.status == 304
    page.context.close()


def test_pages_at_a_phone_width(browser: Browser, big: DashCloud) -> None:
    page = log_in(browser, big)
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "phone-overview")
    page.goto(f"{big.url}/instances")
    expect(page.locator("table.instances tbody tr")).to_have_count(COUNT)
    shot(page, "phone-instances", full_page=False)
    page.context.close()
