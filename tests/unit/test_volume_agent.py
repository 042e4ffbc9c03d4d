"""The agent's volume work against the fake driver, the local backend and a real SQLite
database: what a failing driver or a guest that holds on leaves behind (never a
half-attached disk), and what a VM is started with."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from overcast.agent import volumes as agent_volumes
from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore
from overcast.cloud.compute import RunRequest
from overcast.cloud.filters import Filter
from overcast.cloud.storage.attachments import device_key
from overcast.cloud.storage.volumes import VolumeRequest
from overcast.drivers.base import DriverError, HostCapacity, VolumeDisk
from overcast.drivers.fake import FakeDriver
from overcast.drivers.storage.local import LocalBackend
from overcast.errors import Conflict, InvalidParameter
from overcast.lifecycle import VolumeState, next_volume_state
from tests.conftest import in_process_cloud


class StubbornDriver(FakeDriver):
    """A fake host whose attaches can fail and whose guests can refuse to let go."""

    def __init__(self) -> None:
        super().__init__(HostCapacity(16, 65536, 500))
        self.fail_attach = False
        self.holding: set[str] = set()

    def attach_volume(self, name: str, disk: VolumeDisk) -> None:
        if self.fail_attach:
            raise DriverError("device_add failed")
        super().attach_volume(name, disk)

    def detach_volume(self, name: str, volume_id: str, force: bool = False) -> None:
        if volume_id in self.holding:
            raise DriverError(f"the guest did not let go of {volume_id}")
        super().detach_volume(name, volume_id, force)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(agent_volumes, "RETRY_HELD_AFTER", 0.0)
    cloud, ctx, image = in_process_cloud(tmp_path)
    driver = StubbornDriver()
    backend = LocalBackend(tmp_path / "volumes")
    agent = Agent(LocalStore(cloud), driver, "h1", "overcast-1a", storage=backend)
    agent.register()
    iid = cloud.run_instances(ctx, RunRequest(image, "t3.micro")).instances[0].id
    until(agent, lambda: cloud.instances.get(ctx, iid).state == "running")
    return cloud, ctx, driver, backend, agent, iid


def until(agent: Agent, check: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "never settled"
        agent.tick()
        time.sleep(0.02)


def _volume(cloud, ctx, vid: str):
    items, _ = cloud.volumes.describe(ctx, [vid], [], None, None)
    return items[0].item


def _available(world) -> str:
    cloud, ctx, _driver, _backend, agent, _iid = world
    vid = cloud.volumes.create(ctx, VolumeRequest("overcast-1a", 1)).id
    until(agent, lambda: _volume(cloud, ctx, vid).state == "available")
    return vid


def test_failed_attach_leaves_the_volume_available(world) -> None:
    cloud, ctx, driver, _backend, agent, iid = world
    vid = _available(world)
    driver.fail_attach = True
    cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")
    until(agent, lambda: _volume(cloud, ctx, vid).state == "available")
    assert _volume(cloud, ctx, vid).attachment is None
    assert driver.volumes[iid] == {}
    driver.fail_attach = False
    cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")  # and it can be tried again
    until(agent, lambda: driver.volumes[iid].keys() == {vid})


def test_detach_waits_for_the_guest(world) -> None:
    cloud, ctx, driver, _backend, agent, iid = world
    vid = _available(world)
    cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")
    until(agent, lambda: (a := _volume(cloud, ctx, vid).attachment) is not None
          and a.state == "attached")
    driver.holding.add(vid)
    cloud.volume_attachments.detach(ctx, vid, force=True)
    for _ in range(5):
        agent.tick()
        time.sleep(0.05)
    view = _volume(cloud, ctx, vid)
    assert view.state == "in-use" and view.attachment and view.attachment.state == "detaching"
    assert vid in driver.volumes[iid]
    driver.holding.clear()
    until(agent, lambda: _volume(cloud, ctx, vid).state == "available")
    assert driver.volumes[iid] == {}


def test_a_vm_starts_with_its_attached_volumes(world) -> None:
    cloud, ctx, _driver, backend, agent, iid = world
    vid = _available(world)
    cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")
    until(agent, lambda: _volume(cloud, ctx, vid).attachment.state == "attached")
    spec = LocalStore(cloud).launch_spec(cloud.instances.get(ctx, iid))
    assert spec.volumes == (VolumeDisk(vid, str(backend.path(vid))),)


def test_a_volume_that_cannot_be_made_is_error_and_can_be_deleted(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path)
    agent = Agent(LocalStore(cloud), FakeDriver(HostCapacity(4, 4096, 50)), "h1",
                  "overcast-1a", storage=LocalBackend(tmp_path / "v", "/nonexistent/qemu-img"))
    agent.register()
    iid = cloud.run_instances(ctx, RunRequest(image, "t3.micro")).instances[0].id
    vid = cloud.volumes.create(ctx, VolumeRequest("overcast-1a", 1)).id
    until(agent, lambda: _volume(cloud, ctx, vid).state == "error"
          and cloud.instances.get(ctx, iid).state == "running")
    with pytest.raises(Conflict) as refused:
        cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")
    assert refused.value.code == "IncorrectState"
    cloud.volumes.delete(ctx, vid)
    until(agent, lambda: not cloud.volumes.describe(
        ctx, [], [Filter("volume-id", (vid,))], None, None)[0])


def test_device_names_and_volume_transitions() -> None:
    assert device_key("/dev/sdf") == device_key("/dev/xvdf") == device_key("xvdf") == "f"
    assert device_key("/dev/sda1") == device_key("/dev/xvda")
    assert next_volume_state("vol-1", VolumeState.AVAILABLE, "attach") == VolumeState.IN_USE
    with pytest.raises(Conflict):
        next_volume_state("vol-1", VolumeState.CREATING, "attach")


def test_attach_across_zones_is_a_zone_mismatch(world) -> None:
    cloud, ctx, _driver, _backend, _agent, iid = world
    cloud.hosts.heartbeat("h2", "fake", "overcast-1b", HostCapacity(4, 4096, 50))
    vid = cloud.volumes.create(ctx, VolumeRequest("overcast-1b", 1)).id
    cloud.volume_jobs.created(vid, "/nowhere/vol.qcow2", 1024**3)  # as h2's agent reports
    with pytest.raises(InvalidParameter) as refused:
        cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")
    assert refused.value.code == "InvalidVolume.ZoneMismatch"
    assert _volume(cloud, ctx, vid).state == "available"


def test_forgetting_terminated_instances_releases_their_volumes(tmp_path: Path) -> None:
    """Without any agent: the housekeeping pass lets go of the volume before the instance's
    row is purged (the attachment's foreign key would refuse the purge)."""
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(4, 4096, 50),
                                         terminated_retention=0)
    iid = cloud.run_instances(ctx, RunRequest(image, "t3.micro")).instances[0].id
    vid = cloud.volumes.create(ctx, VolumeRequest("overcast-1a", 1)).id
    cloud.volume_jobs.created(vid, str(tmp_path / "v.qcow2"), 1024**3)
    cloud.instances.observe(iid, "booted")
    cloud.volume_attachments.attach(ctx, vid, iid, "/dev/sdf")
    cloud.instances.change(ctx, [iid], "terminate")
    cloud.instances.observe(iid, "destroyed")
    cloud.tidy()
    view = _volume(cloud, ctx, vid)
    assert view.state == "available" and view.attachment is None
    assert cloud.instances.describe(ctx, [], [])[0] == []
