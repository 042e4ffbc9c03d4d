"""Cinder v3 through openstacksdk (conn.block_storage) against a running cloud on the fake
driver: the catalog entry, volumes and snapshots from create to delete, the same volume seen by
EC2, metadata, extend, types, limits, quotas, zones, paging, tenancy and refusals in Cinder's
fault format."""

from __future__ import annotations

import time

import pytest
import requests
from openstack import exceptions

from tests.openstack.conftest import OsCloud

ZONE = "overcast-1a"


def wait_volume(conn, volume_id: str, status: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        found = conn.block_storage.get_volume(volume_id)
        if found.status == status:
            return found
        assert time.monotonic() < deadline, f"volume {volume_id} is {found.status}"
        time.sleep(0.1)


def wait_gone(get, item_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            get(item_id)
        except exceptions.NotFoundException:
            return
        assert time.monotonic() < deadline, f"{item_id} is still there"
        time.sleep(0.1)


def wait_snapshot(conn, snapshot_id: str, status: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        found = conn.block_storage.get_snapshot(snapshot_id)
        if found.status == status:
            return found
        assert time.monotonic() < deadline, f"snapshot {snapshot_id} is {found.status}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def alice(osc: OsCloud):
    return osc.user("alice", "p2")


def _raw(conn, method: str, path: str, **kwargs) -> requests.Response:
    url = conn.block_storage.get_endpoint() + path
    return requests.request(method, url, headers={"X-Auth-Token": conn.auth_token},
                            timeout=10, **kwargs)


def test_catalog_and_versions(osc: OsCloud, alice) -> None:
    endpoint = alice.block_storage.get_endpoint()
    assert endpoint.endswith(f"/volume/v3/{alice.current_project_id}")
    versions = requests.get(f"{osc.cloud.endpoint}/volume/", timeout=10)
    assert versions.status_code == 300
    assert versions.json()["versions"][0]["id"] == "v3.0"


def test_volume_life_cycle_seen_by_ec2_too(osc: OsCloud, alice) -> None:
    made = alice.block_storage.create_volume(size=1, name="data1", description="first",
                                             metadata={"team": "blue"})
    assert (made.size, made.name, made.availability_zone) == (1, "data1", ZONE)
    found = wait_volume(alice, made.id, "available")
    assert (found.description, found.metadata, found.volume_type) == (
        "first", {"team": "blue"}, "gp2")
    ec2 = osc.cloud.client(osc.cloud.project_credentials("p2"))
    tagged = ec2.describe_volumes(Filters=[{"Name": "tag:Name", "Values": ["data1"]}])
    assert [v["Size"] for v in tagged["Volumes"]] == [1]
    assert {"Key": "team", "Value": "blue"} in tagged["Volumes"][0]["Tags"]
    assert made.id in [v.id for v in alice.block_storage.volumes(details=False)]
    alice.block_storage.update_volume(made, name="data1b", description="renamed")
    again = alice.block_storage.get_volume(made.id)
    assert (again.name, again.description) == ("data1b", "renamed")
    alice.block_storage.extend_volume(made, 3)
    assert alice.block_storage.get_volume(made.id).size == 3
    alice.block_storage.delete_volume(made)
    wait_gone(alice.block_storage.get_volume, made.id)
    assert tagged["Volumes"][0]["VolumeId"] not in [
        v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]]


def test_metadata_calls(alice) -> None:
    made = alice.block_storage.create_volume(size=1, name="meta")
    wait_volume(alice, made.id, "available")
    assert _raw(alice, "POST", f"/volumes/{made.id}/metadata",
                json={"metadata": {"a": "1", "b": "2"}}).json() == {
        "metadata": {"a": "1", "b": "2"}}
    assert _raw(alice, "PUT", f"/volumes/{made.id}/metadata",
                json={"metadata": {"c": "3"}}).json() == {"metadata": {"c": "3"}}
    assert _raw(alice, "PUT", f"/volumes/{made.id}/metadata/d",
                json={"meta": {"d": "4"}}).status_code == 200
    assert _raw(alice, "GET", f"/volumes/{made.id}/metadata/d").json() == {"meta": {"d": "4"}}
    assert _raw(alice, "DELETE", f"/volumes/{made.id}/metadata/c").status_code == 200
    assert alice.block_storage.get_volume(made.id).metadata == {"d": "4"}
    assert _raw(alice, "GET", f"/volumes/{made.id}/metadata/c").status_code == 404
    alice.block_storage.delete_volume(made)


def test_snapshot_and_volume_from_it(alice) -> None:
    volume = alice.block_storage.create_volume(size=2, name="source")
    wait_volume(alice, volume.id, "available")
    snap = alice.block_storage.create_snapshot(volume_id=volume.id, name="s1",
                                               description="copy")
    assert (snap.volume_id, snap.size, snap.name) == (volume.id, 2, "s1")
    done = wait_snapshot(alice, snap.id, "available")
    assert done.description == "copy"
    assert snap.id in [s.id for s in alice.block_storage.snapshots()]
    alice.block_storage.update_snapshot(snap, name="s1b")
    assert alice.block_storage.get_snapshot(snap.id).name == "s1b"
    restored = alice.block_storage.create_volume(snapshot_id=snap.id, name="restored")
    found = wait_volume(alice, restored.id, "available")
    assert (found.snapshot_id, found.size) == (snap.id, 2)
    alice.block_storage.delete_volume(restored)
    alice.block_storage.delete_snapshot(snap)
    wait_gone(alice.block_storage.get_snapshot, snap.id)
    alice.block_storage.delete_volume(volume)


def test_paging_and_filters(alice) -> None:
    made = [alice.block_storage.create_volume(size=1, name=f"page{i}") for i in range(3)]
    for volume in made:
        wait_volume(alice, volume.id, "available")
    first = _raw(alice, "GET", "/volumes?limit=2&sort=name:asc").json()
    names = [v["name"] for v in first["volumes"]]
    assert len(names) == 2 and names == sorted(names)
    assert first["volumes_links"][0]["rel"] == "next"
    everything = [v.name for v in alice.block_storage.volumes(name="page1")]
    assert everything == ["page1"]
    assert {v.id for v in made} <= {v.id for v in alice.block_storage.volumes(limit=1)}
    assert _raw(alice, "GET", "/volumes?sort_key=nonsense").status_code == 400
    for volume in made:
        alice.block_storage.delete_volume(volume)


def test_types_limits_zones_and_quotas(admin, alice) -> None:
    names = {t.name for t in alice.block_storage.types()}
    assert {"gp2", "gp3", "standard"} <= names
    gp3 = next(t for t in alice.block_storage.types() if t.name == "gp3")
    assert alice.block_storage.get_type(gp3.id).name == "gp3"
    absolute = _raw(alice, "GET", "/limits").json()["limits"]["absolute"]
    assert absolute["maxTotalVolumes"] > 0 and "totalGigabytesUsed" in absolute
    zones = [z.name for z in alice.block_storage.availability_zones()]
    assert zones == [ZONE]
    quotas = alice.block_storage.get_quota_set(alice.current_project_id)
    assert quotas.volumes > 0 and quotas.gigabytes > 0
    with pytest.raises(exceptions.ForbiddenException):
        alice.block_storage.update_quota_set(alice.current_project_id, volumes=1)


def test_refusals_in_cinders_format(osc: OsCloud, admin, alice) -> None:
    mine = alice.block_storage.create_volume(size=1, name="private")
    wait_volume(alice, mine.id, "available")
    with pytest.raises(exceptions.NotFoundException):
        admin.block_storage.get_volume(mine.id)  # another project's volume
    zero = _raw(alice, "POST", "/volumes", json={"volume": {"size": 0}})
    assert zero.status_code == 400 and "badRequest" in zero.json()
    missing = _raw(alice, "GET", "/volumes/0d4b1c39-1111-4a5b-9c8d-2e2f3a4b5c6d")
    assert missing.status_code == 404 and "itemNotFound" in missing.json()
    assert _raw(alice, "POST", "/volumes", json={"volume": {
        "size": 1, "volume_type": "no-such"}}).status_code == 404
    shrink = _raw(alice, "POST", f"/volumes/{mine.id}/action",
                  json={"os-extend": {"new_size": 1}})
    assert shrink.status_code == 400
    other = requests.get(alice.block_storage.get_endpoint().rsplit("/", 1)[0] + "/abc/volumes",
                         headers={"X-Auth-Token": alice.auth_token}, timeout=10)
    assert other.status_code == 400
    project = alice.current_project_id
    admin.block_storage.update_quota_set(project, gigabytes=3)
    try:
        over = _raw(alice, "POST", "/volumes", json={"volume": {"size": 5}})
        assert over.status_code == 413 and "overLimit" in over.json()
    finally:
        admin.block_storage.update_quota_set(project, gigabytes=1000)
    alice.block_storage.delete_volume(mine)
