"""In a real Chromium: the networks page (the default VPC with its subnets, route tables and
internet gateway; a new VPC and subnet), sharing an image with another project and making
it public, and the overview's volume and address bars, recent events and burst targets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
from playwright.sync_api import Browser, Page, expect

from tests.conftest import wait_for_state
from tests.dashboard.conftest import DashCloud, log_in, shot


def test_networks_show_the_default_vpc_and_make_a_new_one(browser: Browser,
                                                          dash: DashCloud) -> None:
    page = log_in(browser, dash)
    page.click("nav >> text=Networks")
    default = page.locator("section.vpc", has_text="default VPC")
    expect(default).to_have_count(1)
    expect(default.locator("table.subnets tbody tr").first).to_contain_text("(default)")
    expect(default.locator("table.routes")).to_contain_text("local")
    expect(default.locator("table.routes")).to_contain_text("0.0.0.0/0")
    expect(default).to_contain_text("igw-")

    page.fill("#vpc-cidr", "10.9.0.0/16")
    page.click("button:has-text('Create VPC')")
    made = page.locator("section.vpc", has_text="10.9.0.0/16")
    expect(made).to_have_count(1)
    vpc_id = made.get_attribute("id") or ""
    expect(made.locator("table.routes")).to_contain_text("(main)")
    page.select_option("#subnet-vpc", vpc_id)
    page.fill("#subnet-cidr", "10.9.1.0/24")
    page.click("button:has-text('Create subnet')")
    expect(page.locator(f"#{vpc_id} table.subnets")).to_contain_text("10.9.1.0/24")
    shot(page, "networks")

    page.select_option("#subnet-vpc", vpc_id)
    page.fill("#subnet-cidr", "10.10.1.0/24")  # outside the VPC's block
    page.click("button:has-text('Create subnet')")
    expect(page.locator(".error")).to_contain_text("10.10.1.0/24")
    page.goto(f"{dash.url}/networks/{vpc_id}")
    expect(page.locator("h1")).to_contain_text(vpc_id)
    expect(page.locator("section.vpc")).to_have_count(1)
    page.context.close()


def _upload(page: Page, dash: DashCloud, name: str, tmp_path: Path) -> str:
    disk = tmp_path / f"{name}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "16M"], check=True)
    page.goto(f"{dash.url}/images")
    page.fill("#image-name", name)
    page.select_option("#disk_format", "qcow2")
    page.set_input_files("#image-file", str(disk))
    page.click("button:has-text('Upload')")
    row = page.locator("#images tbody tr", has_text=name)
    expect(row).to_contain_text("available")
    return (row.get_attribute("id") or "").removeprefix("image-")


def _visible_to_other(dash: DashCloud, image_id: str) -> bool:
    other = dash.cloud.client(dash.cloud.project_credentials("other"))
    return any(i["ImageId"] == image_id for i in other.describe_images()["Images"])


def test_share_an_image_with_a_project_and_make_it_public(browser: Browser, dash: DashCloud,
                                                          tmp_path: Path) -> None:
    sts_account = _account_of(dash, "other")
    page = log_in(browser, dash)
    page.on("dialog", lambda dialog: dialog.accept())
    image_id = _upload(page, dash, "to-share", tmp_path)
    assert not _visible_to_other(dash, image_id)
    row = page.locator(f"#image-{image_id}")
    row.locator("input[name=account]").fill(sts_account)
    row.locator("button:has-text('Share')").click()
    expect(row.locator("ul.shared")).to_contain_text(sts_account)
    assert _visible_to_other(dash, image_id)
    shot(page, "images-shared")
    row.locator("button:has-text('Unshare')").click()
    expect(row.locator("ul.shared li")).to_have_count(0)
    assert not _visible_to_other(dash, image_id)

    row.locator("button:has-text('Make public')").click()
    expect(row.locator(".visibility")).to_contain_text("public")
    assert _visible_to_other(dash, image_id)
    row.locator("button:has-text('Make private')").click()
    expect(row.locator(".visibility")).to_have_text("this project")
    assert not _visible_to_other(dash, image_id)

    row.locator("input[name=account]").fill("12345")  # not an account ID: the form refuses
    row.locator("button:has-text('Share')").click()
    expect(row.locator("ul.shared li")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    refused = page.request.post(f"{dash.url}/images/{image_id}/share", max_redirects=0,
                                form={"csrf_token": token, "account": "12345"})
    assert refused.status == 400 and "Invalid attribute item value" in refused.text()
    page.context.close()


def test_a_member_shares_but_cannot_make_public(browser: Browser, dash: DashCloud,
                                                tmp_path: Path) -> None:
    dash.cloud.overcast("user", "create", "builder", "--project", "admin", "--role", "member",
                        "--password", "dashboard-pw-1")
    page = log_in(browser, dash, "builder")
    image_id = _upload(page, dash, "members-own", tmp_path)
    row = page.locator(f"#image-{image_id}")
    expect(row.locator("button:has-text('Share')")).to_have_count(1)
    expect(row.locator("button:has-text('Make public')")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value") or ""
    forged = page.request.post(f"{dash.url}/images/{image_id}/visibility",
                               form={"csrf_token": token, "public": "true"}, max_redirects=0)
    assert forged.status == 403
    assert not _visible_to_other(dash, image_id)
    page.context.close()


def _account_of(dash: DashCloud, project: str) -> str:
    creds = dash.cloud.project_credentials(project)
    sts = boto3.client("sts", endpoint_url=dash.cloud.endpoint,
                       region_name=creds["AWS_DEFAULT_REGION"],
                       aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"])
    return str(sts.get_caller_identity()["Account"])


def test_overview_bars_events_and_burst_targets(browser: Browser, dash: DashCloud) -> None:
    ec2 = dash.cloud.client()
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    ec2.create_volume(Size=3, AvailabilityZone=zone)
    ec2.allocate_address(Domain="vpc")
    dash.cloud.overcast("burst", "add", "far", "--endpoint", "http://127.0.0.1:9",
                        "--region", "us-east-1", "--access-key", "AKIDFAR",
                        "--secret-key", "not-used")
    dash.cloud.overcast("burst", "allow", "--project", "admin", "far")
    dash.cloud.overcast("burst", "map-image", "far", image, "ami-12345678")
    burst_zone = next(z["ZoneName"] for z in ec2.describe_availability_zones()[
        "AvailabilityZones"] if "far" in z["ZoneName"])
    far = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                            Placement={"AvailabilityZone": burst_zone})
    far_id = far["Instances"][0]["InstanceId"]

    page = log_in(browser, dash)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{dash.url}/instances/launch")
    page.fill("#name", "evented")
    page.click("button:has-text('Launch')")
    page.wait_for_url(f"{dash.url}/instances/i-*")
    instance_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#instance-state")).to_have_text("running", timeout=30_000)
    page.click("button:has-text('Stop')")
    wait_for_state(ec2, [instance_id], "stopped")

    page.goto(f"{dash.url}/")
    bars = page.locator("dl.bars")
    expect(bars).to_contain_text("Volumes")
    expect(bars.locator("dt:has-text('Volume storage') + dd")).to_contain_text("3 of")
    expect(bars.locator("dt:has-text('Elastic IPs') + dd")).to_contain_text("1 of")
    events = page.locator("#events tbody tr", has_text=instance_id)
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("stop")
    expect(events.last).to_contain_text("create")
    burst = page.locator("#burst-targets")
    expect(burst).to_contain_text("far")
    expect(burst.locator("table.burst")).to_contain_text(far_id)
    expect(page.locator("section", has_text="Hosts")).not_to_contain_text("burst-far")
    shot(page, "overview-full")
    page.context.close()

    reader = log_in(browser, dash, "viewer")  # not a cloud admin: its project's part only
    burst = reader.locator("#burst-targets")
    expect(burst.locator("table.burst")).to_contain_text(far_id)
    expect(burst.locator("h3")).not_to_contain_text("instance")  # the cloud-wide count
    expect(reader.locator("h2", has_text="Hosts")).to_have_count(0)
    expect(reader.locator("#events")).to_contain_text(instance_id)
    reader.context.close()
