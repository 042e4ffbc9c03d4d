"""The fake driver's journal: VMs outlive a restart, destroyed ones stay gone, compaction
keeps what is live, and a line cut short by a crash is skipped."""

from __future__ import annotations

import json
from pathlib import Path

from overcast.drivers.base import BootImage, HostCapacity, LaunchSpec, NetworkSpec, PowerState
from overcast.drivers.fake import FakeDriver

CAPACITY = HostCapacity(8, 8192, 100)


def spec(name: str) -> LaunchSpec:
    return LaunchSpec(name=name, vcpus=1, memory_mib=256, disk_gib=1,
                      image=BootImage(disk_path=None),
                      network=NetworkSpec(mac_address="52:54:00:00:00:01", private_ip="",
                                          subnet_cidr="", gateway_ip=""))


def test_restart_reads_the_journal_back(tmp_path: Path) -> None:
    state = tmp_path / "vms.json"
    driver = FakeDriver(CAPACITY, state_file=state)
    for name in ("i-1", "i-2", "i-3"):
        driver.create(spec(name))
    driver.stop("i-2")
    driver.destroy("i-3")
    with open(state, "a") as journal:
        journal.write('["i-4", "runn')  # a crash in the middle of a write
    again = FakeDriver(CAPACITY, state_file=state)
    assert {n: vm.state for n, vm in again.list().items()} == {
        "i-1": PowerState.RUNNING, "i-2": PowerState.STOPPED}


def test_compaction_keeps_the_live_vms(tmp_path: Path) -> None:
    state = tmp_path / "vms.json"
    driver = FakeDriver(CAPACITY, state_file=state)
    driver.create(spec("i-keep"))
    for number in range(300):  # many changes to few VMs: the journal is rewritten
        driver.create(spec(f"i-{number}"))
        driver.destroy(f"i-{number}")
    assert len(state.read_text().splitlines()) < 200
    assert list(FakeDriver(CAPACITY, state_file=state).list()) == ["i-keep"]


def test_the_earlier_whole_file_format_is_read(tmp_path: Path) -> None:
    state = tmp_path / "vms.json"
    state.write_text(json.dumps({"i-a": "running", "i-b": "stopped"}))
    driver = FakeDriver(CAPACITY, state_file=state)
    driver.destroy("i-a")
    assert {n: vm.state for n, vm in FakeDriver(CAPACITY, state_file=state).list().items()} \
        == {"i-b": PowerState.STOPPED}


def test_image_of_a_diskless_vm_is_a_blank_disk_of_its_size(tmp_path: Path) -> None:
    """The fake driver needs no qemu-img: a VM that booted from no disk images to a sparse
    raw disk of its size, which the cloud's own image checks accept."""
    from overcast.images.probe import probe

    driver = FakeDriver(CAPACITY, state_file=tmp_path / "vms.json")
    driver.create(spec("i-1"))
    dest = tmp_path / "image"
    driver.snapshot("i-1", str(dest))
    info = probe(dest)
    assert (info.format, info.virtual_size) == ("raw", 1024**3)
    assert dest.stat().st_blocks == 0  # sparse: nothing written
