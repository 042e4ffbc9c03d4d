"""A launch that fails shows as ERROR with its fault, and deleting it hides it: the faces
run in-process on a cloud whose agent we play by hand (what it records on a failure)."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import Client

from overcast.api.app import App
from overcast.cloud.images.images import ImageFiles
from overcast.cloud.service import Cloud
from overcast.config import load_settings
from overcast.drivers.base import HostCapacity
from overcast.lifecycle import State

PASSWORD = "in-process password"


@pytest.fixture()
def faces(tmp_path: Path) -> tuple[Cloud, Client, dict[str, str]]:
    cloud = Cloud(load_settings(data_dir=tmp_path / "data", driver="fake"))
    cloud.prepare()
    cloud.identity.bootstrap()
    cloud.identity.roles.set_password("admin", PASSWORD)
    cloud.images.register_public("img", ImageFiles(disk_path=None))
    cloud.hosts.heartbeat("local", "fake", cloud.catalog.default_zone,
                          HostCapacity(vcpus=8, memory_mib=8192, disk_gib=100))
    client = Client(App(cloud))
    issued = client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin", "password": PASSWORD,
                                                       "domain": {"id": "default"}}}}}})
    assert issued.status_code == 201
    return cloud, client, {"X-Auth-Token": issued.headers["X-Subject-Token"]}


def test_failed_launch_is_error_until_deleted(faces) -> None:
    cloud, client, headers = faces
    image = client.get("/compute/v2.1/images", headers=headers).json["images"][0]["id"]
    made = client.post("/compute/v2.1/servers", headers=headers, json={"server": {
        "name": "doomed", "imageRef": image, "flavorRef": "m1.tiny"}})
    assert made.status_code == 202
    server_id = made.json["server"]["id"]
    caller = cloud.identity.tokens.validate(headers["X-Auth-Token"]).context()
    (instance,), _ = cloud.instances.describe(caller, [], [])
    assert instance.item.uuid == server_id
    cloud.instances.observe(instance.item.id, "launch_failed",
                            ("Server.InternalError", "no disk"), expected=State.PENDING)
    shown = client.get(f"/compute/v2.1/servers/{server_id}", headers=headers).json["server"]
    assert shown["status"] == "ERROR"
    assert shown["fault"]["message"].endswith("no disk") and shown["fault"]["code"] == 500
    listed = client.get("/compute/v2.1/servers?status=ERROR", headers=headers).json
    assert [s["id"] for s in listed["servers"]] == [server_id]
    assert client.delete(f"/compute/v2.1/servers/{server_id}",
                         headers=headers).status_code == 204
    assert client.get(f"/compute/v2.1/servers/{server_id}", headers=headers).status_code == 404
    assert client.get("/compute/v2.1/servers", headers=headers).json["servers"] == []
