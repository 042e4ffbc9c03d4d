"""A launch's block-device mappings as the agent serves them (fake driver, local backend, a
real SQLite database): the VM is created once its volumes exist, with them (cold attach);
an instance that ends before its volumes are made leaves them as DeleteOnTermination says."""

from __future__ import annotations

from pathlib import Path

from overcast.agent.reconciler import Agent
from overcast.agent.store import LocalStore
from overcast.cloud.block_devices import BlockDevice
from overcast.cloud.compute import RunRequest
from overcast.drivers.base import HostCapacity, LaunchSpec
from overcast.drivers.fake import FakeDriver
from overcast.drivers.storage.local import LocalBackend
from tests.conftest import in_process_cloud
from tests.unit.test_volume_agent import _volume, until


class RecordingDriver(FakeDriver):
    def __init__(self) -> None:
        super().__init__(HostCapacity(16, 65536, 500))
        self.created: list[LaunchSpec] = []

    def create(self, spec: LaunchSpec) -> None:
        self.created.append(spec)
        super().create(spec)


def _mapped(cloud, ctx, iid: str) -> list[str]:
    return [a.volume_id for a in cloud.volume_attachments.of_instances(ctx, [iid])[iid]]


def test_the_vm_is_created_with_its_mapped_volumes(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path)
    driver, backend = RecordingDriver(), LocalBackend(tmp_path / "volumes")
    agent = Agent(LocalStore(cloud), driver, "h1", "overcast-1a", storage=backend)
    agent.register()
    request = RunRequest(image, "t3.micro", block_devices=(
        BlockDevice("/dev/sdf", size_gib=1), BlockDevice("/dev/sdg", size_gib=2)))
    iid = cloud.run_instances(ctx, request).instances[0].id
    first, second = _mapped(cloud, ctx, iid)
    until(agent, lambda: cloud.instances.get(ctx, iid).state == "running"
          and _volume(cloud, ctx, second).attachment.state == "attached")
    assert driver.created  # (the fake may be asked again while its VM appears)
    for spec in driver.created:
        assert [(v.volume_id, v.path) for v in spec.volumes] == [
            (first, str(backend.path(first))), (second, str(backend.path(second)))]
    assert backend.path(first).exists() and _volume(cloud, ctx, first).state == "in-use"


def test_an_instance_ended_before_its_volumes_were_made(tmp_path: Path) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(4, 4096, 50))
    request = RunRequest(image, "t3.micro", block_devices=(
        BlockDevice("/dev/sdf", size_gib=1, delete_on_termination=False),
        BlockDevice("/dev/sdg", size_gib=1)))
    iid = cloud.run_instances(ctx, request).instances[0].id
    kept, gone = _mapped(cloud, ctx, iid)
    cloud.instances.change(ctx, [iid], "terminate")
    cloud.instances.observe(iid, "destroyed")  # as its host reports: it never ran
    assert (_volume(cloud, ctx, kept).state, _volume(cloud, ctx, gone).state) == \
        ("creating", "deleting")
    cloud.volume_jobs.created(kept, str(tmp_path / "kept.qcow2"), 1024**3)  # its host reports
    view = _volume(cloud, ctx, kept)
    assert view.state == "available" and view.attachment is None
