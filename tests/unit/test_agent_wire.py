"""The agent API's JSON: what the store hands out and takes survives the trip unchanged, and
input that does not fit the expected types is refused."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from overcast.agent.views import AgentInstance, Observation
from overcast.agent.wire import WireError, decode, encode
from overcast.cloud.compute.changes import ChangeSignal
from overcast.drivers.base import BootImage, LaunchSpec, NetworkSpec, PortForward, VolumeDisk
from overcast.lifecycle import State


def _trip(kind: Any, value: Any) -> Any:
    return decode(kind, json.loads(json.dumps(encode(value))))


def test_a_launch_spec_crosses_unchanged() -> None:
    spec = LaunchSpec(
        name="i-1", vcpus=2, memory_mib=512, disk_gib=8,
        image=BootImage("/images/a.qcow2", properties={"os_type": "linux"}),
        network=NetworkSpec("02:00:00:00:00:01", "172.31.0.5", "172.31.0.0/20", "172.31.0.1",
                            public_ip="127.100.0.5",
                            forwards=(PortForward("tcp", "127.100.0.5", 22, 22),)),
        user_data=b"\x00\xffcloud-config", metadata_endpoint=("127.0.0.1", 8775),
        config_drive={"openstack/latest/meta_data.json": b"{}"},
        volumes=(VolumeDisk("vol-1", "/volumes/vol-1.qcow2"),))
    assert _trip(LaunchSpec, spec) == spec


def test_views_and_observations_cross_unchanged() -> None:
    view = AgentInstance(id="i-1", project_id="p", state="pending", updated_at=12.5,
                         image_id="ami-1", instance_type="t2.micro", vcpus=1, memory_mib=512,
                         disk_gib=8, mac_address="02:00:00:00:00:01", key_name=None)
    seen = [Observation("i-1", "booted", State.PENDING),
            Observation("i-2", "powered_off", State.RUNNING, ("Server.X", "why"))]
    assert _trip(list[AgentInstance], [view]) == [view]
    assert _trip(list[Observation], seen) == seen
    assert _trip(State | None, None) is None


@pytest.mark.parametrize(("kind", "data"), [
    (list[str], "i-1"), (Observation, {"instance_id": "i-1"}),
    (Observation, {"instance_id": "i-1", "event": "booted", "expected": "sideways"}),
    (Observation, {"instance_id": "i-1", "event": "booted", "extra": 1}),
    (bytes, "not base64!"), (int, True), (tuple[str, str], ["a"])])
def test_input_that_does_not_fit_is_refused(kind: Any, data: Any) -> None:
    with pytest.raises(WireError):
        decode(kind, data)


def test_every_waiter_sees_a_change_whoever_clears_the_event() -> None:
    signal = ChangeSignal()
    start = signal.generation
    assert signal.wait_past(start, 0.01) == start  # nothing yet: timed out
    signal.set()
    signal.clear()  # the in-process agent took it
    assert signal.wait_past(start, 0.01) == start + 1
    seen: list[int] = []
    waiter = threading.Thread(target=lambda: seen.append(signal.wait_past(start + 1, 10)))
    waiter.start()
    signal.set()
    waiter.join(timeout=10)
    assert seen == [start + 2]
