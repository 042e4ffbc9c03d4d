"""The image store cleans up after itself: an upload cut short by kill -9 leaves nothing stuck
after a restart, and a deleted image's file goes once nothing uses it."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from botocore.exceptions import ClientError

from overcast.cloud.images.uploads import NewImage
from overcast.db.models_openstack import GlanceImage
from tests.conftest import RunningCloud, in_process_cloud, start_cloud, wait_for_state

CHUNK = b"\0" * 65536
BIG = 192 * 1024 * 1024


def wait_until(what: str, check: Callable[[], object], timeout: float = 30) -> object:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return found


class Glance:
    """Plain HTTP calls to the Image API with a project's token."""

    def __init__(self, cloud: RunningCloud, project: str = "admin") -> None:
        self.cloud = cloud
        text = cloud.overcast("credentials", "--project", project, "--format",
                              "clouds-yaml").stdout
        [entry] = yaml.safe_load(text)["clouds"].values()
        body = {"auth": {"identity": {"methods": ["application_credential"],
                                      "application_credential": {
                                          "id": entry["auth"]["application_credential_id"],
                                          "secret": entry["auth"][
                                              "application_credential_secret"]}}}}
        status, _, headers = self.call("POST", "/identity/v3/auth/tokens", body, token=False)
        assert status == 201
        self.token = headers["X-Subject-Token"]

    def call(self, method: str, path: str, body: object = None, *, token: bool = True,
             data: bytes | None = None) -> tuple[int, dict, dict]:
        headers = {"X-Auth-Token": self.token} if token else {}
        if data is not None:
            headers["Content-Type"] = "application/octet-stream"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.cloud.endpoint + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}, dict(response.headers)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else {}, dict(exc.headers)

    def create(self, name: str) -> str:
        status, body, _ = self.call("POST", "/image/v2/images", {
            "name": name, "disk_format": "raw", "container_format": "bare"})
        assert status == 201, body
        return body["id"]

    def upload(self, image: str, data: bytes) -> tuple[int, dict]:
        status, body, _ = self.call("PUT", f"/image/v2/images/{image}/file", data=data)
        return status, body

    def show(self, image: str) -> dict:
        status, body, _ = self.call("GET", f"/image/v2/images/{image}")
        assert status == 200, body
        return body


def store(cloud: RunningCloud) -> Path:
    return cloud.data_dir / "images" / "store"


def temp_files(cloud: RunningCloud) -> list[Path]:
    return sorted(store(cloud).glob(".uploading-*"))


def upload_in_background(glance: Glance, image: str, data: bytes) -> threading.Thread:
    def send() -> None:
        with contextlib.suppress(OSError):  # the server dies under it: what tests want
            glance.upload(image, data)
    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = start_cloud(tmp_path_factory.mktemp("store"), terminated_retention=2)
    yield running
    if running.process and running.process.poll() is None:
        running.stop()


def test_upload_cut_by_kill_is_queued_again_after_restart(restartable: RunningCloud) -> None:
    cloud = restartable
    glance = Glance(cloud)
    image = glance.create("cut-upload")
    big = b"\0" * BIG  # the server takes the whole body, then streams it into the store
    thread = upload_in_background(glance, image, big)
    wait_until("the upload streaming into the store", lambda: any(
        0 < f.stat().st_size < BIG for f in temp_files(cloud)), timeout=120)
    assert cloud.process is not None
    cloud.process.kill()  # kill -9 in the middle of writing the image
    cloud.process.wait(30)
    thread.join(30)
    [left] = temp_files(cloud)  # what the dead process left behind
    assert left.stat().st_size < BIG

    cloud.start()
    glance = Glance(cloud)
    assert glance.show(image)["status"] == "queued"
    assert temp_files(cloud) == []
    data = CHUNK * 4
    assert glance.upload(image, data)[0] == 204
    shown = glance.show(image)
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert len(list(store(cloud).glob(f"{image}.*"))) == 1


def test_a_deleted_image_file_goes_once_no_instance_uses_it(restartable: RunningCloud) -> None:
    cloud = restartable
    glance = Glance(cloud)
    unused, used = glance.create("unused-image"), glance.create("used-image")
    for image in (unused, used):
        assert glance.upload(image, CHUNK * 2)[0] == 204
    files = {i: wait_until("the image file", lambda i=i: list(store(cloud).glob(f"{i}.*")))
             for i in (unused, used)}
    ec2 = cloud.client()
    ami = ec2.describe_images(Filters=[{"Name": "name", "Values": ["used-image"]}])[
        "Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_for_state(ec2, [iid], "running")

    assert glance.call("DELETE", f"/image/v2/images/{unused}")[0] == 204
    assert not files[unused][0].exists()  # nothing used it: gone at once
    assert glance.call("DELETE", f"/image/v2/images/{used}")[0] == 204
    assert files[used][0].exists()  # the instance's disk is backed by it
    ec2.terminate_instances(InstanceIds=[iid])
    wait_until("the file of the image the terminated instance used",
               lambda: not files[used][0].exists())


def test_image_quotas_on_glance_and_ec2(restartable: RunningCloud) -> None:
    cloud = restartable
    cloud.overcast("project", "create", "imgquota")
    limit = 3 * len(CHUNK) * 8  # 1.5 MiB
    cloud.overcast("project", "set-quota", "imgquota", "--images", "2", "--image-gib",
                   repr(limit / 2**30))
    listing = cloud.overcast("project", "list").stdout.splitlines()
    row = next(line for line in listing if line.startswith("imgquota")).split()
    assert row[-2] == "2" and float(row[-1]) * 2**30 == pytest.approx(limit, rel=1e-3)
    glance = Glance(cloud, "imgquota")
    first, second = glance.create("q-first"), glance.create("q-second")
    assert glance.upload(first, CHUNK * 16)[0] == 204  # 1 MiB of 1.5
    status, body = glance.upload(second, CHUNK * 16)  # would make 2 MiB
    assert status == 413 and body["code"] == "413 Request Entity Too Large", body
    assert "quota" in body["message"]
    assert glance.show(second)["status"] == "queued" and temp_files(cloud) == []
    assert not list(store(cloud).glob(f"{second}.*"))
    assert glance.upload(second, CHUNK * 4)[0] == 204  # 1.25 MiB: fits
    status, body, _ = glance.call("GET", "/image/v2/info/usage")
    assert status == 200 and body["usage"]["image_count_total"] == {"limit": 2, "usage": 2}
    assert body["usage"]["image_size_total"] == {"limit": 1, "usage": 1}  # MiB, rounded down
    status, body, _ = glance.call("POST", "/image/v2/images", {
        "name": "q-third", "disk_format": "raw", "container_format": "bare"})
    assert status == 413 and body["title"] == "Request Entity Too Large", body

    ec2 = cloud.client(cloud.project_credentials("imgquota"))
    with pytest.raises(ClientError) as exc:
        ec2.register_image(Name="q-registered", ImageLocation=f"{first}.raw")
    assert exc.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    builtin = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=builtin, MinCount=1, MaxCount=1)["Instances"][0][
        "InstanceId"]
    wait_for_state(ec2, [iid], "running")
    with pytest.raises(ClientError) as exc:
        ec2.create_image(InstanceId=iid, Name="q-snapshot")
    assert exc.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert glance.call("DELETE", f"/image/v2/images/{second}")[0] == 204
    with pytest.raises(ClientError) as exc:  # a count is free; 1 MiB more is not
        ec2.register_image(Name="q-registered", ImageLocation=f"{first}.raw")
    assert exc.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert "storage quota" in exc.value.response["Error"]["Message"]
    cloud.overcast("project", "set-quota", "imgquota", "--image-gib", "1")
    made = ec2.register_image(Name="q-registered", ImageLocation=f"{first}.raw")["ImageId"]
    assert ec2.describe_images(ImageIds=[made])["Images"][0]["State"] == "available"
    ec2.terminate_instances(InstanceIds=[iid])


def test_recovery_spares_live_uploads_and_removes_dead_ones(tmp_path: Path) -> None:
    """In one process: a temporary file whose upload still holds its lock stays, with its
    image `saving`; an unlocked one (its upload died, its image maybe deleted) goes."""
    cloud, ctx, _image = in_process_cloud(tmp_path)
    live = cloud.image_uploads.create(ctx, NewImage(name="live", disk_format="raw",
                                                    container_format="bare")).image
    dead_dir = cloud.image_store.path
    assert dead_dir is not None
    dead_dir.mkdir(parents=True, exist_ok=True)
    dead = dead_dir / ".uploading-ami-0123456789abcdef0-x1y2z3"  # a deleted image's leftover
    dead.write_bytes(b"partial")
    with cloud.image_store.spool(live.id) as (_fd, held):
        with cloud.db.session() as s:
            s.get(GlanceImage, live.id).status = "saving"
        assert cloud.image_store.recover_uploads() == 0
        assert held.exists() and not dead.exists()
        assert cloud.image_uploads.record(live.id).attrs.status == "saving"
    assert cloud.image_store.recover_uploads() == 1  # its upload is gone now
    assert cloud.image_uploads.record(live.id).attrs.status == "queued"
    assert not list(dead_dir.glob(".uploading-*"))
