"""The walls of the volumes, Elastic IPs, networks and images pages: a reader sees what the
project has but no button, and its forged posts are refused; another project's volumes,
snapshots, addresses, VPCs, images and instances named in a URL or a form are not found;
a post without the CSRF token is refused."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.dashboard.conftest import DashCloud, log_in, shot


@dataclass(frozen=True)
class Owned:
    volume: str
    snapshot: str
    allocation: str
    vpc: str
    image: str


def _wait_volume(ec2, volume_id: str, state: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"] != state:
        assert time.monotonic() < deadline, f"{volume_id} not {state} in {timeout} s"
        time.sleep(0.2)


def _make_things(ec2) -> Owned:
    """A volume with a snapshot, an Elastic IP, a VPC, and the image the project may launch
    first (for the other project: one made from its instance)."""
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    volume = ec2.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    _wait_volume(ec2, volume, "available")
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    vpc = ec2.create_vpc(CidrBlock="10.5.0.0/16")["Vpc"]["VpcId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    return Owned(volume, snapshot, allocation, vpc, image)


@pytest.fixture(scope="module")
def mine(dash: DashCloud) -> Owned:
    return _make_things(dash.cloud.client())


@pytest.fixture(scope="module")
def theirs(dash: DashCloud) -> Owned:
    other = dash.cloud.client(dash.cloud.project_credentials("other"))
    made = _make_things(other)
    image = other.create_image(InstanceId=dash.other_instance, Name="others-own")["ImageId"]
    return Owned(made.volume, made.snapshot, made.allocation, made.vpc, image)


def _csrf(page: Page) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value") or ""


def _post(page: Page, path: str, form: dict[str, str]) -> int:
    return page.request.post(path, form=form, max_redirects=0).status


def test_a_reader_sees_no_buttons_and_its_forged_posts_are_refused(
        browser: Browser, dash: DashCloud, mine: Owned) -> None:
    page = log_in(browser, dash, "viewer")
    checks = {"/volumes": f"#volume-{mine.volume}", "/addresses": f"#address-{mine.allocation}",
              "/networks": f"#{mine.vpc}", "/images": f"#image-{mine.image}"}
    for path, shown in checks.items():
        page.goto(f"{dash.url}{path}")
        expect(page.locator(shown)).to_be_visible()
        expect(page.locator("main button")).to_have_count(0)
        expect(page.locator("main form")).to_have_count(0)
    page.goto(f"{dash.url}/volumes")
    expect(page.locator(f"#snapshot-{mine.snapshot}")).to_be_visible()
    shot(page, "volumes-reader")
    token = _csrf(page)
    forged = {
        "/volumes/create": {"size": "1", "zone": "overcast-1a", "volume_type": "gp2"},
        f"/volumes/{mine.volume}/delete": {},
        f"/volumes/{mine.volume}/snapshot": {},
        f"/volumes/{mine.volume}/attach": {"instance_id": dash.other_instance,
                                           "device": "/dev/sdf"},
        f"/snapshots/{mine.snapshot}/delete": {},
        "/addresses/allocate": {},
        f"/addresses/{mine.allocation}/release": {},
        "/networks/vpcs": {"cidr": "10.6.0.0/16"},
        "/networks/subnets": {"vpc_id": mine.vpc, "cidr": "10.5.1.0/24"},
        f"/images/{mine.image}/share": {"account": "123456789012"},
        f"/images/{mine.image}/visibility": {"public": "false"},
    }
    for path, form in forged.items():
        assert _post(page, f"{dash.url}{path}", {"csrf_token": token, **form}) == 403, path
    ec2 = dash.cloud.client()
    assert ec2.describe_volumes(VolumeIds=[mine.volume])["Volumes"]
    assert ec2.describe_addresses(AllocationIds=[mine.allocation])["Addresses"]
    assert len(ec2.describe_vpcs()["Vpcs"]) == 2
    page.context.close()


def test_another_projects_ids_are_not_found(browser: Browser, dash: DashCloud,
                                            mine: Owned, theirs: Owned) -> None:
    page = log_in(browser, dash)
    response = page.goto(f"{dash.url}/networks/{theirs.vpc}")
    assert response is not None and response.status == 404
    shot(page, "not-found-vpc")
    token = _csrf(page)
    refused = {
        f"/volumes/{theirs.volume}/delete": {},
        f"/volumes/{theirs.volume}/snapshot": {},
        f"/volumes/{theirs.volume}/detach": {},
        f"/volumes/{theirs.volume}/attach": {"instance_id": dash.other_instance,
                                             "device": "/dev/sdf"},
        f"/volumes/{mine.volume}/attach": {"instance_id": dash.other_instance,
                                           "device": "/dev/sdf"},
        f"/snapshots/{theirs.snapshot}/delete": {},
        f"/addresses/{theirs.allocation}/release": {},
        f"/addresses/{theirs.allocation}/disassociate": {},
        f"/addresses/{theirs.allocation}/associate": {"instance_id": dash.other_instance},
        f"/addresses/{mine.allocation}/associate": {"instance_id": dash.other_instance},
        "/networks/subnets": {"vpc_id": theirs.vpc, "cidr": "10.5.1.0/24"},
        f"/images/{theirs.image}/share": {"account": "123456789012"},
        f"/images/{theirs.image}/visibility": {"public": "true"},
    }
    for path, form in refused.items():
        assert _post(page, f"{dash.url}{path}", {"csrf_token": token, **form}) == 404, path
    other = dash.cloud.client(dash.cloud.project_credentials("other"))
    assert other.describe_volumes(VolumeIds=[theirs.volume])["Volumes"][0]["State"] \
        == "available"
    assert other.describe_addresses(AllocationIds=[theirs.allocation])["Addresses"]
    page.context.close()


def test_posts_without_the_csrf_token_are_refused(browser: Browser, dash: DashCloud,
                                                  mine: Owned) -> None:
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/volumes")
    paths = ["/volumes/create", f"/volumes/{mine.volume}/delete", "/addresses/allocate",
             f"/addresses/{mine.allocation}/release", "/networks/vpcs",
             f"/images/{mine.image}/visibility"]
    for path in paths:
        for form in ({}, {"csrf_token": "0" * 64}):
            assert _post(page, f"{dash.url}{path}", {**form, "cidr": "10.7.0.0/16",
                                                      "size": "1"}) == 403, path
    ec2 = dash.cloud.client()
    assert ec2.describe_volumes(VolumeIds=[mine.volume])["Volumes"]
    assert len(ec2.describe_addresses()["Addresses"]) == 1
    page.context.close()
