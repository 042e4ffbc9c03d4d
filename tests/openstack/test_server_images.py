"""Nova's createImage through openstacksdk: Glance shows the image saving then active, with the
properties Nova gives a snapshot; servers boot from it; EC2 sees the same image."""

from __future__ import annotations

from tests.openstack.conftest import OsCloud


def test_server_image_is_a_glance_snapshot_that_boots(osc: OsCloud, admin, image_id) -> None:
    server = admin.compute.create_server(networks="auto", name="snap-source", image_id=image_id,
                                         flavor_id="m1.tiny")
    server = admin.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)
    image = admin.compute.create_server_image(server, "sdk-snapshot",
                                              metadata={"purpose": "test"}, wait=True,
                                              timeout=60)
    assert image.status == "active" and image.name == "sdk-snapshot"
    assert image.disk_format == "qcow2" and image.visibility == "private"
    assert image.properties["image_type"] == "snapshot"
    assert image.instance_uuid == server.id
    assert image.properties["purpose"] == "test"
    assert image.size > 0 and image.checksum
    copy = admin.compute.create_server(networks="auto", name="snap-copy", image_id=image.id,
                                       flavor_id="m1.tiny")
    copy = admin.compute.wait_for_server(copy, status="ACTIVE", wait=30, interval=0.2)
    assert copy.image.id == image.id
    found = osc.cloud.client().describe_images(Owners=["self"], Filters=[
        {"Name": "name", "Values": ["sdk-snapshot"]}])["Images"]
    assert [i["State"] for i in found] == ["available"]
    for made in (server, copy):
        admin.compute.delete_server(made)
    admin.image.delete_image(image)


def test_create_image_faults(admin, image_id) -> None:
    server = admin.compute.create_server(networks="auto", name="snap-faults", image_id=image_id,
                                         flavor_id="m1.tiny")
    server = admin.compute.wait_for_server(server, status="ACTIVE", wait=30, interval=0.2)
    url = f"/servers/{server.id}/action"
    for body in ({"createImage": {}}, {"createImage": {"name": ""}},
                 {"createImage": {"name": "x", "metadata": {"k": 1}}}):
        assert admin.compute.post(url, json=body).status_code == 400
    missing = "/servers/00000000-0000-0000-0000-000000000000/action"
    assert admin.compute.post(missing, json={"createImage": {"name": "x"}}).status_code == 404
    admin.compute.delete_server(server)
    admin.compute.wait_for_delete(server, wait=30)
    assert admin.compute.post(url, json={"createImage": {"name": "x"}}).status_code == 404
