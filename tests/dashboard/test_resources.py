"""In a real Chromium: upload a small image and launch from it, create and import key pairs,
add a security group rule."""

from __future__ import annotations

import subprocess
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.dashboard.conftest import DashCloud, log_in, shot


def test_upload_an_image_and_launch_from_it(browser: Browser, dash: DashCloud,
                                            tmp_path: Path) -> None:
    disk = tmp_path / "tiny.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(disk), "64M"], check=True)
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/images")
    page.fill("#image-name", "tiny-upload")
    page.select_option("#disk_format", "qcow2")
    page.set_input_files("#image-file", str(disk))
    page.click("button:has-text('Upload')")
    row = page.locator("tr", has_text="tiny-upload")
    expect(row).to_contain_text("available")
    shot(page, "images")
    image_id = row.locator("code").inner_text()

    page.goto(f"{dash.url}/instances/launch")
    page.select_option("#image_id", image_id)
    page.fill("#name", "from-upload")
    page.click("button:has-text('Launch')")
    expect(page.locator("#instance-state")).to_have_text("running", timeout=30_000)
    expect(page.locator(".facts")).to_contain_text(image_id)
    page.context.close()


def test_a_refused_upload_says_why(browser: Browser, dash: DashCloud, tmp_path: Path) -> None:
    fake = tmp_path / "not-qcow2.img"
    fake.write_bytes(b"plain bytes, not a qcow2 image" * 100)
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/images")
    page.fill("#image-name", "wrong-format")
    page.select_option("#disk_format", "qcow2")
    page.set_input_files("#image-file", str(fake))
    page.click("button:has-text('Upload')")
    expect(page.locator(".error")).to_be_visible()
    expect(page.locator("tr", has_text="wrong-format")).to_have_count(0)
    page.context.close()


def test_key_pairs_create_once_and_import(browser: Browser, dash: DashCloud,
                                          tmp_path: Path) -> None:
    page = log_in(browser, dash)
    page.goto(f"{dash.url}/keypairs")
    page.fill("#new-key-name", "laptop")
    page.click("button:has-text('Create')")
    with page.expect_download() as download:
        page.click("#download-key")
    saved = tmp_path / "laptop.pem"
    download.value.save_as(saved)
    assert saved.read_text().startswith("-----BEGIN")
    shot(page, "keypairs")
    page.goto(f"{dash.url}/keypairs")  # shown once: not on the next visit
    expect(page.locator("#download-key")).to_have_count(0)
    expect(page.locator("tr", has_text="laptop")).to_contain_text("rsa")

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                    str(tmp_path / "mine")], check=True)
    page.fill("#import-key-name", "imported")
    page.fill("#public_key", (tmp_path / "mine.pub").read_text())
    page.click("button:has-text('Import')")
    expect(page.locator("tr", has_text="imported")).to_contain_text("ed25519")
    page.context.close()


def test_add_and_remove_a_security_group_rule(browser: Browser, dash: DashCloud) -> None:
    page = log_in(browser, dash)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{dash.url}/security-groups")
    page.click("a:has-text('default')")
    page.select_option("#protocol", "tcp")
    page.fill("#from_port", "8080")
    page.fill("#to_port", "8090")
    page.fill("#cidr", "10.0.0.0/8")
    page.fill("#description", "web")
    page.click("button:has-text('Add rule')")
    rule = page.locator("#rules-ingress tr", has_text="10.0.0.0/8")
    expect(rule).to_contain_text("8080–8090")
    shot(page, "security-group")
    page.fill("#from_port", "99999")
    page.click("button:has-text('Add rule')")
    expect(page.locator(".error")).to_be_visible()
    rule.locator("button:has-text('Remove')").click()
    expect(page.locator("#rules-ingress tr", has_text="10.0.0.0/8")).to_have_count(0)
    page.context.close()
