"""AgentStore over HTTP: what `overcast agent` on another host uses to reach the controller's
agent API (/agent/v1, overcast.api.agent) with its host credential. Wake-ups come from a
long-poll thread: it holds GET /agent/v1/changes open until the controller has news."""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any

from overcast.agent.views import AgentInstance, Observation
from overcast.agent.wire import decode, encode
from overcast.cloud.compute import SnapshotJob
from overcast.cloud.storage import VolumeJob
from overcast.drivers.base import HostCapacity, LaunchSpec, NetworkSpec
from overcast.drivers.network.spec import DesiredNetwork
from overcast.errors import CloudError
from overcast.lifecycle import State

log = logging.getLogger("overcast.agent")
CALL_TIMEOUT = 60.0
POLL_WAIT = 20.0  # seconds the controller may hold a long-poll
RETRY_AFTER = 1.0  # after a failed long-poll


class ControllerError(CloudError):
    """What the controller answered instead of a result (its code and message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(code, message)
        self.status = status


def _request(url: str, data: bytes | None, headers: dict[str, str], timeout: float) -> Any:
    request = urllib.request.Request(url, data=data, headers=headers,
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read())["result"]
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": f"HTTP{exc.code}", "message": str(exc.reason)}
        raise ControllerError(exc.code, error["code"], error["message"]) from None


def join(controller: str, token: str, host_name: str) -> str:
    """Spend a join token: the host's credential."""
    body = json.dumps({"token": token, "name": host_name}).encode()
    found = _request(f"{controller.rstrip('/')}/agent/v1/join", body,
                     {"Content-Type": "application/json"}, CALL_TIMEOUT)
    return str(found["credential"])


def _spec(found: dict[str, Any]) -> LaunchSpec | Exception:
    if "spec" in found:
        return decode(LaunchSpec, found["spec"])
    error = found.get("error") or {}
    return CloudError(str(error.get("code", "InternalError")), str(error.get("message", "")))


class HttpStore:
    def __init__(self, controller: str, credential: str) -> None:
        self.base = f"{controller.rstrip('/')}/agent/v1/"
        self._headers = {"Authorization": f"Bearer {credential}",
                         "Content-Type": "application/json"}
        self._changed = threading.Event()
        self._closed = threading.Event()
        self._poller: threading.Thread | None = None

    def _call(self, call: str, /, **args: Any) -> Any:
        return _request(self.base + call, json.dumps(encode(args)).encode(), self._headers,
                        CALL_TIMEOUT)

    # what the reconciler asks ---------------------------------------------------------------
    def heartbeat(self, name: str, driver: str, zone: str, capacity: HostCapacity) -> str:
        return str(self._call("heartbeat", name=name, driver=driver, zone=zone,
                              capacity=capacity))

    def for_host(self, host_id: str) -> list[AgentInstance]:
        return decode(list[AgentInstance], self._call("for_host", host_id=host_id))

    def changed_since(self, host_id: str, since: float) -> dict[str, float]:
        return decode(dict[str, float], self._call("changed_since", host_id=host_id,
                                                   since=since))

    def rows(self, ids: list[str]) -> list[AgentInstance]:
        return decode(list[AgentInstance], self._call("rows", ids=ids))

    def known_ids(self, host_id: str) -> set[str]:
        return set(decode(list[str], self._call("known_ids", host_id=host_id)))

    def launch_spec(self, row: AgentInstance) -> LaunchSpec:
        found = self.launch_specs([row])[row.id]
        if isinstance(found, Exception):
            raise found
        return found

    def launch_specs(self, rows: list[AgentInstance]) -> dict[str, LaunchSpec | Exception]:
        found = self._call("launch_specs", ids=[r.id for r in rows])
        return {i: _spec(one) for i, one in found.items()}

    def network(self, row: AgentInstance) -> NetworkSpec:
        return decode(NetworkSpec, self._call("network", instance_id=row.id))

    def observe(self, instance_id: str, event: str, reason: tuple[str, str] | None = None,
                expected: State | None = None) -> State | None:
        found = self._call("observe", **encode(Observation(instance_id, event, expected,
                                                           reason)))
        return decode(State | None, found)

    def observe_many(self, seen: list[Observation]) -> None:
        self._call("observe_many", seen=seen)

    def reboot_done(self, instance_id: str) -> None:
        self._call("reboot_done", instance_id=instance_id)

    def network_state(self, host_id: str) -> DesiredNetwork:
        return decode(DesiredNetwork, self._call("network_state", host_id=host_id))

    def report_addresses(self, row: AgentInstance, addresses: tuple[str, ...]) -> None:
        self._call("report_addresses", instance_id=row.id, addresses=addresses)

    def snapshot_requests(self) -> int:
        return int(self._call("snapshot_requests"))

    def snapshot_jobs(self, host_id: str) -> list[SnapshotJob]:
        return decode(list[SnapshotJob], self._call("snapshot_jobs", host_id=host_id))

    def snapshot_done(self, image_id: str, error: str | None = None) -> None:
        self._call("snapshot_done", image_id=image_id, error=error)

    def volume_jobs(self, host_id: str) -> list[VolumeJob]:
        return decode(list[VolumeJob], self._call("volume_jobs", host_id=host_id))

    def volume_report(self, kind: str, volume_id: str, path: str = "", size_bytes: int = 0,
                      reason: str = "") -> None:
        self._call("volume_report", kind=kind, volume_id=volume_id, path=path,
                   size_bytes=size_bytes, reason=reason)

    # wake-ups -------------------------------------------------------------------------------
    def wait_for_change(self, timeout: float) -> bool:
        if self._poller is None:
            self._poller = threading.Thread(target=self._poll, name="agent-poll", daemon=True)
            self._poller.start()
        if self._changed.wait(timeout):
            self._changed.clear()
            return True
        return False

    def wake(self) -> None:
        self._changed.set()

    def close(self) -> None:
        self._closed.set()
        self._changed.set()

    def _poll(self) -> None:
        """Hold a long-poll open; each answer past the last generation seen wakes the agent
        (the first at once; a restarted controller counts from 0 again: also news)."""
        generation = -1
        while not self._closed.is_set():
            url = f"{self.base}changes?after={generation}&timeout={POLL_WAIT}"
            try:
                answer = _request(url, None, self._headers, POLL_WAIT + CALL_TIMEOUT)
                found, pause = int(answer["generation"]), float(answer.get("wait", 0))
            except (OSError, CloudError, ValueError, KeyError, TypeError) as exc:
                log.warning("waiting for changes: %s", exc)
                self._closed.wait(RETRY_AFTER)
                continue
            if found != generation:
                generation = found
                self._changed.set()
            if pause:  # the controller holds as many long-polls as it can
                self._closed.wait(pause)
