"""In a real Chromium: volumes (create, watch them turn available without a reload, attach
to an instance, snapshot, detach, delete) and Elastic IPs (allocate, associate with an
instance, disassociate, release)."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from tests.conftest import wait_for_state
from tests.dashboard.conftest import DashCloud, log_in, shot


def _running_instance(dash: DashCloud, name: str) -> str:
    ec2 = dash.cloud.client()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    found = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}])
    instance_id = found["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [instance_id], "running")
    return instance_id


def _mark(page: Page) -> None:
    page.evaluate("window.__notReloaded = true")


def _not_reloaded(page: Page) -> bool:
    return bool(page.evaluate("window.__notReloaded === true"))


def test_volume_create_attach_snapshot_detach_delete(browser: Browser,
                                                     dash: DashCloud) -> None:
    instance_id = _running_instance(dash, "disk-holder")
    page = log_in(browser, dash)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("nav >> text=Volumes")
    page.fill("#volume-name", "data-1")
    page.fill("#volume-size", "2")
    page.select_option("#volume-type", "gp3")
    page.click("button:has-text('Create volume')")
    row = page.locator("table.volumes tbody tr", has_text="data-1")
    expect(row.locator(".state")).to_have_text("available", timeout=30_000)
    expect(row).to_contain_text("2 GiB")
    expect(row).to_contain_text("gp3")
    volume_id = row.locator("code").inner_text()

    # a volume made elsewhere (the EC2 API) appears and turns available without a reload
    _mark(page)
    zone = dash.cloud.client().describe_availability_zones()["AvailabilityZones"][0]
    made = dash.cloud.client().create_volume(Size=1, AvailabilityZone=zone["ZoneName"])
    expect(page.locator(f"#volume-{made['VolumeId']} .state")).to_have_text(
        "available", timeout=30_000)
    assert _not_reloaded(page)

    row = page.locator(f"#volume-{volume_id}")
    row.locator("select[name=instance_id]").select_option(instance_id)
    row.locator("select[name=device]").select_option("/dev/sdg")
    row.locator("button:has-text('Attach')").click()
    expect(row.locator(".state")).to_have_text("in-use", timeout=30_000)
    expect(row).to_contain_text(f"{instance_id} /dev/sdg (attached)", timeout=30_000)
    shot(page, "volumes")

    row.locator("button:has-text('Snapshot')").click()
    snapshot = page.locator("#snapshots tbody tr", has_text=volume_id)
    expect(snapshot).to_have_count(1)
    snapshot_id = snapshot.locator("code").inner_text()
    _mark(page)
    expect(page.locator(f"#snapshot-{snapshot_id} .state")).to_have_text(
        "completed", timeout=30_000)  # the snapshots list follows too
    assert _not_reloaded(page)

    row.locator("button:has-text('Detach')").click()
    expect(row.locator(".state")).to_have_text("available", timeout=30_000)
    expect(row.locator("button:has-text('Delete')")).to_be_visible()
    row.locator("button:has-text('Delete')").click()
    expect(page.locator(f"#volume-{volume_id}")).to_have_count(0, timeout=30_000)
    page.locator(f"#snapshot-{snapshot_id} button:has-text('Delete')").click()
    expect(page.locator(f"#snapshot-{snapshot_id}")).to_have_count(0)
    page.context.close()


def test_a_refused_volume_says_why(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/volumes")
    page.fill("#volume-size", "2")
    page.select_option("#volume-type", "st1")  # st1 volumes start at 125 GiB
    page.click("button:has-text('Create volume')")
    expect(page.locator(".error")).to_contain_text("too small")
    expect(page.locator("#volume-size")).to_have_value("2")
    page.context.close()


def test_elastic_ip_allocate_associate_disassociate_release(browser: Browser,
                                                            dash: DashCloud) -> None:
    instance_id = _running_instance(dash, "eip-holder")
    page = log_in(browser, dash)
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("nav >> text=Elastic IPs")
    page.click("button:has-text('Allocate an address')")
    row = page.locator("#addresses tbody tr").first
    expect(row).to_contain_text("eipalloc-")
    address = row.locator("strong").inner_text()
    row.locator("select[name=instance_id]").select_option(instance_id)
    row.locator("button:has-text('Associate')").click()
    expect(row.locator(".associated")).to_have_text(instance_id)
    shot(page, "addresses")
    page.goto(f"{dash.url}/instances/{instance_id}")
    expect(page.locator(".facts")).to_contain_text(address)

    page.goto(f"{dash.url}/addresses")
    row = page.locator("#addresses tbody tr", has_text=address)
    row.locator("button:has-text('Disassociate')").click()
    expect(row.locator(".associated")).to_have_text("")
    row.locator("button:has-text('Release')").click()
    expect(page.locator("#addresses tbody tr", has_text=address)).to_have_count(0)
    page.context.close()


WEIGHT = """() => [performance.getEntriesByType("navigation")[0],
                   ...performance.getEntriesByType("resource")]
                  .reduce((sum, e) => sum + e.transferSize, 0)"""
MAX_TRANSFERRED = 300_000  # bytes: a page with its static files, nothing cached


def test_new_pages_are_light_and_fit_a_phone(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/volumes", "/addresses", "/networks", "/images"):
        fresh = page.context.browser.new_context() if page.context.browser else None
        assert fresh is not None
        fresh.add_cookies(page.context.cookies())
        cold = fresh.new_page()
        cold.set_viewport_size({"width": 390, "height": 844})
        cold.goto(f"{dash.url}{path}", wait_until="load")
        weight = cold.evaluate(WEIGHT)
        print(f"\n{path}: {weight} bytes transferred with its static files")
        assert 0 < weight < MAX_TRANSFERRED, path
        width = cold.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide at a phone's 390"
        name = path.strip("/") or "overview"
        shot(cold, f"phone-{name}")
        fresh.close()
    page.context.close()
