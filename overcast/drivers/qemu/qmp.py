"""A small synchronous face over the `qemu.qmp` library, one short session per call.

QEMU's QMP socket serves one client at a time, so every call connects, runs its commands and
disconnects; the driver serializes calls per instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from qemu.qmp import EventListener, ExecuteError, QMPClient, QMPError

T = TypeVar("T")
Session = Callable[[QMPClient], Awaitable[T]]


class QmpFailure(Exception):
    """QMP could not be reached or a command failed."""


def _run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion, also from code that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())  # type: ignore[arg-type]
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()  # type: ignore[arg-type]


async def _session(path: str, work: Session[T], timeout: float) -> T:
    if not os.path.exists(path):
        # QEMU not started yet, or gone: the caller expects this (a start polls until the
        # socket answers); the library would log each attempt as an ERROR
        raise QmpFailure(f"cannot reach QMP at {path}: no socket there")
    client = QMPClient("overcast")
    try:
        await asyncio.wait_for(client.connect(path), timeout)
    except (TimeoutError, QMPError, OSError) as exc:
        raise QmpFailure(f"cannot reach QMP at {path}: {exc!r}") from exc
    try:
        return await work(client)
    except (QMPError, OSError, TimeoutError) as exc:
        raise QmpFailure(str(exc)) from exc
    finally:
        await client.disconnect()


def execute(
    path: str, command: str, args: dict[str, Any] | None = None, timeout: float = 10.0
) -> Any:
    """Run one QMP command and return its result."""

    async def work(client: QMPClient) -> Any:
        return await asyncio.wait_for(client.execute(command, args), timeout)

    return _run_sync(lambda: _session(path, work, timeout))


def human(path: str, command_line: str, timeout: float = 10.0) -> str:
    """Run one HMP command through QMP's human-monitor-command; return its text output."""
    out = execute(path, "human-monitor-command", {"command-line": command_line}, timeout)
    return str(out or "")


def execute_and_wait(
    path: str, command: str, args: dict[str, Any] | None, event: str, timeout: float
) -> bool:
    """Run a command, then wait up to `timeout` for `event`; True when the event came."""

    async def work(client: QMPClient) -> bool:
        listener = EventListener(event)
        with client.listen(listener):
            await asyncio.wait_for(client.execute(command, args), 10.0)
            try:
                await asyncio.wait_for(listener.get(), timeout)
            except TimeoutError:
                return False
        return True

    return _run_sync(lambda: _session(path, work, 10.0))


def request_and_wait(path: str, command: str, args: dict[str, Any], event: str,
                     match: Callable[[dict[str, Any]], bool], timeout: float,
                     pending: str = "") -> bool:
    """Run a command that asks the guest for something, then wait up to `timeout` for the
    `event` whose data `match`es; True when it came. A command error holding `pending` (the
    request is already under way) is waited on like a fresh request."""

    async def work(client: QMPClient) -> bool:
        listener = EventListener(event)
        with client.listen(listener):
            try:
                await asyncio.wait_for(client.execute(command, args), 10.0)
            except ExecuteError as exc:
                if not pending or pending not in str(exc):
                    raise
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                try:
                    found = await asyncio.wait_for(listener.get(), left)
                except TimeoutError:
                    return False
                data = cast(dict[str, Any], found.get("data") or {})
                if match(data):
                    return True
        return False

    return _run_sync(lambda: _session(path, work, 10.0))


def reachable(path: str, timeout: float = 2.0) -> bool:
    try:
        execute(path, "query-status", timeout=timeout)
    except QmpFailure:
        return False
    return True


def run_job(path: str, command: str, args: dict[str, Any], job_id: str, timeout: float,
            poll: float = 0.5) -> None:
    """Start a block job that stays until dismissed, wait for it to conclude (polling in short
    sessions: QMP serves one client at a time), dismiss it, and raise what it failed with.
    On timeout the job is cancelled."""
    with contextlib.suppress(QmpFailure):  # a job of that ID left by an attempt that died
        execute(path, "job-dismiss", {"id": job_id})
    execute(path, command, {**args, "job-id": job_id, "auto-dismiss": False})
    deadline = time.monotonic() + timeout
    cancelled = False
    while True:
        job = next((j for j in execute(path, "query-jobs") if j.get("id") == job_id), None)
        if job is None:
            raise QmpFailure(f"block job {job_id} vanished")
        if job.get("status") == "concluded":
            execute(path, "job-dismiss", {"id": job_id})
            if cancelled:
                raise QmpFailure(f"{command} took longer than {timeout:.0f}s")
            if job.get("error"):
                raise QmpFailure(str(job["error"]))
            return
        if not cancelled and time.monotonic() > deadline:
            execute(path, "job-cancel", {"id": job_id})
            cancelled = True
        time.sleep(poll)


def execute_with_fd(path: str, fd: int, fdname: str, command: str, args: dict[str, Any],
                    timeout: float = 10.0) -> Any:
    """Hand QEMU an open file (SCM_RIGHTS, QMP `getfd` as `fdname`), then run one command
    that uses it (e.g. migrate to `fd:<fdname>`), in one session."""

    async def work(client: QMPClient) -> Any:
        client.send_fd_scm(fd)
        await asyncio.wait_for(client.execute("getfd", {"fdname": fdname}), timeout)
        return await asyncio.wait_for(client.execute(command, args), timeout)

    return _run_sync(lambda: _session(path, work, timeout))
