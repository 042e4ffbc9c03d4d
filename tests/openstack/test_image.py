"""Image v2 through openstacksdk: streamed upload and download with checksums, the same
safety checks as the EC2 face, patch, tags, visibility and delete."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
import requests
from openstack import exceptions

from tests.openstack.conftest import OsCloud


def _qcow2(path: Path, backing: Path | None = None) -> Path:
    argv = ["qemu-img", "create", "-q", "-f", "qcow2"]
    if backing is not None:
        argv += ["-b", str(backing), "-F", "raw"]
    subprocess.run([*argv, str(path), "16M"], check=True)
    return path


def test_upload_download_round_trip(osc: OsCloud, admin, tmp_path: Path) -> None:
    source = _qcow2(tmp_path / "disk.qcow2")
    image = admin.image.create_image(name="sdk-upload", disk_format="qcow2",
                                     container_format="bare", filename=str(source),
                                     wait=True, validate_checksum=False)
    image = admin.image.get_image(image.id)
    data = source.read_bytes()
    assert image.status == "active" and image.size == len(data)
    assert image.checksum == hashlib.md5(data).hexdigest()
    assert image.hash_value == hashlib.sha512(data).hexdigest()
    assert image.virtual_size == 16 * 1024**2
    downloaded = admin.image.download_image(image)
    assert downloaded.content == data
    ec2 = osc.cloud.client()
    ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["sdk-upload"]}])["Images"]
    assert len(ami) == 1 and ami[0]["State"] == "available"
    admin.image.delete_image(image)
    with pytest.raises(exceptions.NotFoundException):
        admin.image.get_image(image.id)


def test_unsafe_or_mislabelled_data_is_refused(admin, tmp_path: Path) -> None:
    backing = tmp_path / "host-file"
    backing.write_bytes(b"\0" * 4096)
    unsafe = _qcow2(tmp_path / "unsafe.qcow2", backing)
    image = admin.image.create_image(name="unsafe", disk_format="qcow2",
                                     container_format="bare")
    token = admin.session.get_token()
    url = admin.image.get_endpoint().rstrip("/")
    if not url.endswith("/v2"):
        url += "/v2"
    put = requests.put(f"{url}/images/{image.id}/file", data=unsafe.read_bytes(),
                       headers={"X-Auth-Token": token,
                                "Content-Type": "application/octet-stream"}, timeout=30)
    assert put.status_code == 400 and "backing file" in put.json()["message"]
    raw = requests.put(f"{url}/images/{image.id}/file", data=b"\1" * 8192,
                       headers={"X-Auth-Token": token,
                                "Content-Type": "application/octet-stream"}, timeout=30)
    assert raw.status_code == 400  # declared qcow2, the data is raw
    assert admin.image.get_image(image.id).status == "queued"
    admin.image.delete_image(image)


def test_patch_tags_and_visibility(osc: OsCloud, admin) -> None:
    image = admin.image.create_image(name="meta-image", disk_format="raw",
                                     container_format="bare", tags=["a"])
    admin.image.update_image(image, name="renamed", min_ram=128, os_distro="debian")
    admin.image.add_tag(image, "b")
    admin.image.remove_tag(image, "a")
    found = admin.image.get_image(image.id)
    assert (found.name, found.min_ram, found.tags) == ("renamed", 128, ["b"])
    assert found.properties.get("os_distro") == "debian" or found.os_distro == "debian"
    assert [i.id for i in admin.image.images(tag="b")] == [image.id]
    alice = osc.user("alice", "p2")
    assert image.id not in {i.id for i in alice.image.images()}
    mine = alice.image.create_image(name="alice-image", disk_format="raw",
                                    container_format="bare")
    with pytest.raises(exceptions.ForbiddenException):
        alice.image.update_image(mine, visibility="public")
    admin.image.update_image(image, visibility="public")
    assert image.id in {i.id for i in alice.image.images()}
    with pytest.raises(exceptions.ForbiddenException):
        alice.image.delete_image(image, ignore_missing=False)
    admin.image.update_image(image, protected=True)
    with pytest.raises(exceptions.ForbiddenException):
        admin.image.delete_image(image, ignore_missing=False)
    admin.image.update_image(image, protected=False)
    admin.image.delete_image(image)
    alice.image.delete_image(mine)


def test_listing_paging_and_faults(osc: OsCloud, admin) -> None:
    made = [admin.image.create_image(name=f"page-{n}", disk_format="raw",
                                     container_format="bare") for n in range(3)]
    names = [i.name for i in admin.image.images(sort_key="name", sort_dir="asc",
                                                limit=1) if i.name.startswith("page-")]
    assert names == ["page-0", "page-1", "page-2"]
    headers = {"X-Auth-Token": admin.session.get_token()}
    base = f"{osc.cloud.endpoint}/image/v2/images"
    assert requests.get(f"{base}?marker=nope", headers=headers, timeout=10).status_code == 400
    assert requests.get(f"{base}?sort_key=evil", headers=headers, timeout=10).status_code == 400
    assert requests.post(base, data=b"{", headers=headers, timeout=10).status_code == 400
    assert requests.post(base, json={"status": "active"}, headers=headers,
                         timeout=10).status_code == 403
    assert requests.get(f"{base}/00000000-0000-0000-0000-000000000000", headers=headers,
                        timeout=10).status_code == 404
    for image in made:
        admin.image.delete_image(image)


def test_members_share_an_image_with_another_project(osc: OsCloud, admin) -> None:
    alice = osc.user("alice", "p2")
    p2 = alice.current_project_id
    image = admin.image.create_image(name="shared-image", disk_format="raw",
                                     container_format="bare", visibility="shared")
    admin.image.add_member(image, member_id=p2)
    assert image.id not in {i.id for i in alice.image.images()}
    assert [i.id for i in alice.image.images(member_status="pending",
                                             visibility="shared")] == [image.id]
    with pytest.raises(exceptions.ForbiddenException):
        admin.image.update_member(p2, image, status="accepted")
    alice.image.update_member(p2, image, status="accepted")
    assert image.id in {i.id for i in alice.image.images()}
    ec2 = osc.cloud.client(osc.cloud.project_credentials("p2"))
    ami = ec2.describe_images(ExecutableUsers=["self"])["Images"]
    assert "shared-image" in {i["Name"] for i in ami}
    admin.image.remove_member(p2, image)
    assert image.id not in {i.id for i in alice.image.images(member_status="all")}
    admin.image.delete_image(image)


def test_deactivated_image_data_is_not_served(admin, tmp_path: Path) -> None:
    source = tmp_path / "raw.img"
    source.write_bytes(b"\0" * 65536)
    image = admin.image.create_image(name="deactivated", disk_format="raw",
                                     container_format="bare", filename=str(source),
                                     wait=True, validate_checksum=False)
    admin.image.deactivate_image(image)
    assert admin.image.get_image(image.id).status == "deactivated"
    admin.image.reactivate_image(image)
    assert admin.image.download_image(image).content == source.read_bytes()
    admin.image.delete_image(image)


def test_metadata_definitions(osc: OsCloud, admin) -> None:
    namespace = admin.image.create_metadef_namespace(
        namespace="OS::Overcast::Test", visibility="public", protected=True,
        resource_type_associations=[{"name": "OS::Glance::Image"}])
    admin.image.create_metadef_property(namespace, name="hw_rng", title="RNG",
                                        type="string", enum=["on", "off"])
    alice = osc.user("alice", "p2")
    seen = alice.image.get_metadef_namespace("OS::Overcast::Test")
    assert seen.visibility == "public"
    assert "hw_rng" in {p.name for p in alice.image.metadef_properties(seen)}
    with pytest.raises(exceptions.ForbiddenException):
        alice.image.create_metadef_namespace(namespace="OS::Alice::Mine")
    with pytest.raises(exceptions.ForbiddenException):
        admin.image.delete_metadef_namespace(namespace)
    admin.image.update_metadef_namespace(namespace, namespace="OS::Overcast::Test",
                                         protected=False, visibility="private")
    assert "OS::Overcast::Test" not in {n.namespace
                                        for n in alice.image.metadef_namespaces()}
    admin.image.delete_metadef_namespace(namespace)


def test_administrator_sets_the_owner(osc: OsCloud, admin) -> None:
    """Any string as Glance takes it; an existing project's ID hands the image over."""
    alice = osc.user("alice", "p2")
    p2 = alice.current_project_id
    image = admin.image.create_image(name="owned-elsewhere", disk_format="raw",
                                     container_format="bare", owner="0123456789abcdef")
    assert admin.image.get_image(image.id).owner == "0123456789abcdef"
    admin.image.update_image(image, owner=p2)
    assert alice.image.get_image(image.id).owner == p2
    alice.image.update_image(image, name="now-alices")
    with pytest.raises(exceptions.ForbiddenException):
        alice.image.update_image(image, owner=admin.current_project_id)
    ec2 = osc.cloud.client(osc.cloud.project_credentials("p2"))
    assert [i["Name"] for i in ec2.describe_images(Owners=["self"])["Images"]] == ["now-alices"]
    admin.image.delete_image(image)
