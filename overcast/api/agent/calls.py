"""Every AgentStore call a host may make, each limited to the calling host's own work: its
instances (by their host), its specs, its snapshot and volume jobs, its own name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from overcast.agent.store import LocalStore
from overcast.agent.views import AgentInstance, Observation
from overcast.agent.wire import decode
from overcast.cloud.compute import HostCredentials
from overcast.drivers.base import HostCapacity, LaunchSpec
from overcast.drivers.registry import LOCAL_DRIVERS
from overcast.errors import CloudError, Conflict, NotFound
from overcast.lifecycle import AGENT_EVENTS, State


class Refused(Exception):
    """The caller asked for what is not its own."""


@dataclass(frozen=True)
class Caller:
    host_name: str
    host_id: str | None  # None until the host's first heartbeat


def _arg(args: dict[str, Any], name: str, kind: Any, default: Any = ...) -> Any:
    if name not in args:
        if default is ...:
            raise CloudError("MissingArgument", f"the call needs {name!r}")
        return default
    return decode(kind, args[name])


class Calls:
    def __init__(self, store: LocalStore, credentials: HostCredentials) -> None:
        self.store, self.credentials = store, credentials
        self._calls: dict[str, Callable[[Caller, dict[str, Any]], Any]] = {
            "heartbeat": self.heartbeat, "for_host": self.for_host,
            "changed_since": self.changed_since, "rows": self.rows,
            "known_ids": self.known_ids, "launch_specs": self.launch_specs,
            "network": self.network, "observe": self.observe,
            "observe_many": self.observe_many, "reboot_done": self.reboot_done,
            "network_state": self.network_state, "report_addresses": self.report_addresses,
            "snapshot_requests": self.snapshot_requests, "snapshot_jobs": self.snapshot_jobs,
            "snapshot_done": self.snapshot_done, "volume_jobs": self.volume_jobs,
            "volume_report": self.volume_report}

    def known(self, name: str) -> bool:
        return name in self._calls or name == "join"

    def call(self, name: str, caller: Caller, args: dict[str, Any]) -> Any:
        return self._calls[name](caller, args)

    # scope ----------------------------------------------------------------------------------
    @staticmethod
    def _host(caller: Caller, args: dict[str, Any]) -> str:
        """The caller's host ID, which `host_id` (when given) must name."""
        if caller.host_id is None:
            raise Conflict("HostNotRegistered", f"host {caller.host_name} has not sent a "
                           "heartbeat yet")
        asked = _arg(args, "host_id", str, caller.host_id)
        if asked != caller.host_id:
            raise Refused(f"host {caller.host_name} may not act for host {asked}")
        return caller.host_id

    def _own(self, caller: Caller, ids: list[str]) -> list[AgentInstance]:
        """The views of these instances (those that still exist), none of which may be on
        another host."""
        host_id = self._host(caller, {})
        placed = self.credentials.placement(ids)
        foreign = sorted(i for i, host in placed.items() if host != host_id)
        if foreign:
            raise Refused(f"host {caller.host_name} does not run {', '.join(foreign)}")
        return self.store.rows(list(placed)) if placed else []

    def _own_one(self, caller: Caller, instance_id: str) -> AgentInstance:
        found = self._own(caller, [instance_id])
        if not found:
            raise NotFound("InvalidInstanceID.NotFound", f"no instance {instance_id}")
        return found[0]

    # calls ----------------------------------------------------------------------------------
    def heartbeat(self, caller: Caller, args: dict[str, Any]) -> str:
        name, driver = _arg(args, "name", str), _arg(args, "driver", str)
        if name != caller.host_name:
            raise Refused(f"host {caller.host_name} may not heartbeat as {name}")
        if driver not in LOCAL_DRIVERS:
            raise CloudError("InvalidDriver", f"driver {driver!r} cannot join as a host")
        zone = _arg(args, "zone", str, "") or self.store.cloud.catalog.default_zone
        return self.store.heartbeat(name, driver, zone, _arg(args, "capacity", HostCapacity))

    def for_host(self, caller: Caller, args: dict[str, Any]) -> list[AgentInstance]:
        return self.store.for_host(self._host(caller, args))

    def changed_since(self, caller: Caller, args: dict[str, Any]) -> dict[str, float]:
        return self.store.changed_since(self._host(caller, args), _arg(args, "since", float))

    def rows(self, caller: Caller, args: dict[str, Any]) -> list[AgentInstance]:
        return self._own(caller, _arg(args, "ids", list[str]))

    def known_ids(self, caller: Caller, args: dict[str, Any]) -> list[str]:
        return sorted(self.store.known_ids(self._host(caller, args)))

    def launch_specs(self, caller: Caller, args: dict[str, Any]) -> dict[str, Any]:
        """id -> {"spec": …} or {"error": {"code", "message"}} (that launch fails with it)."""
        specs = self.store.launch_specs(self._own(caller, _arg(args, "ids", list[str])))
        return {i: _spec_or_error(spec) for i, spec in specs.items()}

    def network(self, caller: Caller, args: dict[str, Any]) -> Any:
        return self.store.network(self._own_one(caller, _arg(args, "instance_id", str)))

    def observe(self, caller: Caller, args: dict[str, Any]) -> State | None:
        seen = _observation(args)
        self._own(caller, [seen.instance_id])
        return self.store.observe(seen.instance_id, seen.event, seen.reason, seen.expected)

    def observe_many(self, caller: Caller, args: dict[str, Any]) -> None:
        seen = [_observation(one) for one in _arg(args, "seen", list[dict[str, Any]])]
        self._own(caller, sorted({o.instance_id for o in seen}))
        self.store.observe_many(seen)

    def reboot_done(self, caller: Caller, args: dict[str, Any]) -> None:
        self.store.reboot_done(self._own_one(caller, _arg(args, "instance_id", str)).id)

    def network_state(self, caller: Caller, args: dict[str, Any]) -> Any:
        return self.store.network_state(self._host(caller, args))

    def report_addresses(self, caller: Caller, args: dict[str, Any]) -> None:
        row = self._own_one(caller, _arg(args, "instance_id", str))
        self.store.report_addresses(row, _arg(args, "addresses", tuple[str, ...]))

    def snapshot_requests(self, caller: Caller, args: dict[str, Any]) -> int:
        self._host(caller, args)
        return self.store.snapshot_requests()

    def snapshot_jobs(self, caller: Caller, args: dict[str, Any]) -> Any:
        return self.store.snapshot_jobs(self._host(caller, args))

    def snapshot_done(self, caller: Caller, args: dict[str, Any]) -> None:
        image_id = _arg(args, "image_id", str)
        if image_id not in {j.image_id for j in self.store.snapshot_jobs(self._host(caller, {}))}:
            raise Refused(f"host {caller.host_name} is not writing image {image_id}")
        self.store.snapshot_done(image_id, _arg(args, "error", str | None, None))

    def volume_jobs(self, caller: Caller, args: dict[str, Any]) -> Any:
        return self.store.volume_jobs(self._host(caller, args))

    def volume_report(self, caller: Caller, args: dict[str, Any]) -> None:
        volume_id = _arg(args, "volume_id", str)
        jobs = self.store.volume_jobs(self._host(caller, {}))
        if volume_id not in {j.volume_id for j in jobs} | {j.snapshot_id for j in jobs}:
            raise Refused(f"host {caller.host_name} has no job on {volume_id}")
        self.store.volume_report(_arg(args, "kind", str), volume_id,
                                 _arg(args, "path", str, ""), _arg(args, "size_bytes", int, 0),
                                 _arg(args, "reason", str, ""))


def _observation(args: dict[str, Any]) -> Observation:
    seen = decode(Observation, args)
    if seen.event not in AGENT_EVENTS:
        raise CloudError("InvalidEvent", f"an agent cannot report {seen.event!r}")
    return seen


def _spec_or_error(spec: LaunchSpec | Exception) -> dict[str, Any]:
    if isinstance(spec, CloudError):
        return {"error": {"code": spec.code, "message": spec.message}}
    if isinstance(spec, Exception):
        return {"error": {"code": "InternalError", "message": str(spec)}}
    return {"spec": spec}
