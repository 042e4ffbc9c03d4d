"""Transports that replay and record request/response pairs, for tests without Windows.

A cassette is a JSON document: {"interactions": [...]} where each interaction is
  {"script": NAME, "params": {...}, "output": [...], "errors": [{...}]}   a script that ran,
  {"script": NAME, "params": {...}, "timeout": true}                      a host that hung,
  {"copy": REMOTE_PATH}                                                   a file upload.
"params" in a cassette may hold only some of the parameters: those are matched exactly,
the rest are ignored. Replay is strict: calls must come in the recorded order.
RecordingTransport wraps a real transport and writes such a cassette, so a run against a real
Hyper-V host (docs/hyperv.md) can be kept and replayed.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from overcast.drivers.hyperv.scripts import Script
from overcast.drivers.hyperv.transport import (
    HostTimeout,
    PsError,
    RunResult,
    Transport,
    check_params,
)


class ReplayMismatch(AssertionError):
    """The driver sent something the cassette did not record."""


class ReplayTransport:
    def __init__(self, interactions: list[dict[str, Any]]) -> None:
        self.pending = list(interactions)
        self.sent: list[tuple[str, dict[str, Any]]] = []  # every call, in order
        self.timeouts: list[float] = []  # the deadline given with each call
        self.copied: dict[str, bytes] = {}  # remote path -> content uploaded
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> ReplayTransport:
        return cls(json.loads(path.read_text())["interactions"])

    def _next(self, kind: str, what: str) -> dict[str, Any]:
        if not self.pending:
            raise ReplayMismatch(f"unexpected {kind} {what}: the cassette is used up")
        entry = self.pending.pop(0)
        recorded = entry.get(kind)
        if recorded != what:
            raise ReplayMismatch(f"expected {kind} {recorded!r}, got {what!r}")
        return entry

    def run(self, script: Script, params: dict[str, Any], timeout: float) -> RunResult:
        check_params(script, params)
        with self._lock:
            self.sent.append((script.name, dict(params)))
            self.timeouts.append(timeout)
            entry = self._next("script", script.name)
        for key, value in entry.get("params", {}).items():
            if params.get(key) != value:
                raise ReplayMismatch(f"{script.name}: parameter {key} is "
                                     f"{params.get(key)!r}, recorded {value!r}")
        if entry.get("timeout"):
            raise HostTimeout(f"Hyper-V host: {script.name} did not finish in time")
        return RunResult(output=list(entry.get("output", [])),
                         errors=[PsError(**e) for e in entry.get("errors", [])])

    def copy(self, local: Path, remote: str, timeout: float) -> None:
        with self._lock:
            self.timeouts.append(timeout)
            entry = self._next("copy", remote)
        if entry.get("timeout"):
            raise HostTimeout(f"Hyper-V host: copying {local.name} did not finish in time")
        self.copied[remote] = local.read_bytes()

    def close(self) -> None:
        pass

    def assert_done(self) -> None:
        if self.pending:
            raise ReplayMismatch(f"{len(self.pending)} recorded call(s) never made, "
                                 f"next: {self.pending[0]}")


class RecordingTransport:
    """Passes calls to a real transport and keeps each pair for a cassette."""

    def __init__(self, inner: Transport, path: Path) -> None:
        self.inner, self.path = inner, path
        self.interactions: list[dict[str, Any]] = []

    def run(self, script: Script, params: dict[str, Any], timeout: float) -> RunResult:
        entry: dict[str, Any] = {"script": script.name, "params": _jsonable(params)}
        try:
            result = self.inner.run(script, params, timeout)
        except HostTimeout:
            entry["timeout"] = True
            self._keep(entry)
            raise
        entry["output"] = [o if isinstance(o, str | int | float | bool) else str(o)
                           for o in result.output]
        entry["errors"] = [asdict(e) for e in result.errors]
        self._keep(entry)
        return result

    def copy(self, local: Path, remote: str, timeout: float) -> None:
        self.inner.copy(local, remote, timeout)
        self._keep({"copy": remote})

    def _keep(self, entry: dict[str, Any]) -> None:
        self.interactions.append(entry)
        self.path.write_text(json.dumps({"interactions": self.interactions}, indent=1))

    def close(self) -> None:
        self.inner.close()


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    # The console reader's text is long and constant: left out to keep cassettes readable.
    return {k: v for k, v in params.items() if k != "ReaderScript"}
