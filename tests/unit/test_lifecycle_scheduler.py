"""The state table and the scheduler, as plain functions."""

from __future__ import annotations

import pytest

from overcast.lifecycle import IncorrectInstanceState, State, next_state
from overcast.scheduler import Demand, HostSnapshot, Ratios, place


@pytest.mark.parametrize(("state", "event", "after"), [
    (State.STOPPED, "start", State.PENDING),
    (State.RUNNING, "start", State.RUNNING),
    (State.RUNNING, "stop", State.STOPPING),
    (State.STOPPED, "stop", State.STOPPED),
    (State.RUNNING, "reboot", State.RUNNING),
    (State.STOPPED, "terminate", State.SHUTTING_DOWN),
    (State.TERMINATED, "terminate", State.TERMINATED),
    (State.PENDING, "booted", State.RUNNING),
    (State.SHUTTING_DOWN, "destroyed", State.TERMINATED),
])
def test_allowed_transitions(state: State, event: str, after: State) -> None:
    assert next_state("i-0", state, event) == after


@pytest.mark.parametrize(("state", "event"), [
    (State.TERMINATED, "start"), (State.STOPPING, "start"), (State.SHUTTING_DOWN, "stop"),
    (State.STOPPED, "reboot"), (State.PENDING, "reboot"), (State.TERMINATED, "stop"),
    (State.STOPPED, "booted"),
])
def test_illegal_transitions(state: State, event: str) -> None:
    with pytest.raises(IncorrectInstanceState) as exc:
        next_state("i-0", state, event)
    assert exc.value.code == "IncorrectInstanceState"
    assert "i-0" in exc.value.message


def _host(name: str, vcpus: int = 4, memory: int = 4096, zone: str = "z1", **kw) -> HostSnapshot:
    return HostSnapshot(name, name, zone, vcpus, memory, 100, **kw)


def test_place_spreads_by_free_memory_and_respects_capacity() -> None:
    hosts = [_host("a"), _host("b", used_memory_mib=2048)]
    placed = place(hosts, Demand(1, 1024, 8), 4, Ratios(1.0, 1.0))
    assert [h.name for h in placed] == ["a", "a", "a", "b"]  # ties go to the first name
    assert len(place(hosts, Demand(1, 1024, 8), 10, Ratios(1.0, 1.0))) == 6


def test_place_filters_zone_dead_and_disabled_hosts() -> None:
    hosts = [_host("a", zone="z2"), _host("b", alive=False), _host("c", enabled=False),
             _host("d")]
    assert [h.name for h in place(hosts, Demand(1, 512, 1), 1, Ratios())] == ["a"]
    assert [h.name for h in place(hosts, Demand(1, 512, 1, "z1"), 1, Ratios())] == ["d"]
    assert place(hosts, Demand(1, 512, 1, "z9"), 1, Ratios()) == []


def test_cpu_overcommit_ratio() -> None:
    assert len(place([_host("a", vcpus=2)], Demand(2, 1, 1), 10, Ratios(4.0, 1.0))) == 4


def test_an_image_may_ask_for_a_driver() -> None:
    hosts = [_host("big", memory=65536, driver="qemu"), _host("hv", driver="hyperv")]
    assert [h.name for h in place(hosts, Demand(1, 512, 1), 1, Ratios())] == ["big"]
    wanted = Demand(1, 512, 1, driver="hyperv")
    assert [h.name for h in place(hosts, wanted, 1, Ratios())] == ["hv"]
    assert place(hosts, Demand(1, 512, 1, driver="ec2"), 1, Ratios()) == []
