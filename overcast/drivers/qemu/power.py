"""Pause and suspend for QEMU guests.

Pause is QMP `stop` (no vCPU runs; memory and devices stay) and `cont`. Suspend saves the
whole guest, memory and device state, with QEMU's own migration into a file beside the disk
(the open file handed over QMP, `migrate` to `fd:`; QEMU 7 has no `file:` URI, and an
`exec:cat` child could be killed before it has written all), then quits QEMU: the guest holds
no CPU or memory, only that file. The next start runs QEMU with `-incoming defer` and feeds it
the file the same way, so the guest goes on where it stopped; the file is removed once it
does.

Marker files say what the driver did, so `list` reads no QMP: `paused` while frozen by us.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from overcast.drivers.base import DriverError
from overcast.drivers.qemu import process, qmp
from overcast.drivers.qemu.layout import InstanceDir

SAVE_TIMEOUT = 600.0
RESTORE_TIMEOUT = 600.0
POLL = 0.2


def paused_marker(inst: InstanceDir) -> Path:
    return inst.file("paused")


def saved_state(inst: InstanceDir) -> Path:
    """The guest's memory and device state while suspended."""
    return inst.file("saved-state")


def _sock(inst: InstanceDir) -> str:
    return str(inst.qmp_socket)


def _qmp(inst: InstanceDir, command: str, args: dict[str, object] | None = None) -> object:
    try:
        return qmp.execute(_sock(inst), command, args)
    except qmp.QmpFailure as exc:
        raise DriverError(f"{command} of {inst.name} failed: {exc}") from exc


def pause(inst: InstanceDir) -> None:
    if process.running_pid(inst) is None:
        raise DriverError(f"instance {inst.name} is not running")
    _qmp(inst, "stop")
    paused_marker(inst).touch()


def unpause(inst: InstanceDir) -> None:
    if process.running_pid(inst) is None:
        raise DriverError(f"instance {inst.name} is not running")
    _qmp(inst, "cont")
    paused_marker(inst).unlink(missing_ok=True)


def suspend(inst: InstanceDir) -> None:
    """Save the guest to its state file and end QEMU; the caller holds the instance lock."""
    pid = process.running_pid(inst)
    if pid is None:
        if saved_state(inst).exists():
            return
        raise DriverError(f"instance {inst.name} is not running")
    part = saved_state(inst).with_name("saved-state.part")
    part.unlink(missing_ok=True)
    _qmp(inst, "stop")
    try:
        _with_file(inst, part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "migrate")
        _wait_migration(inst, "completed", SAVE_TIMEOUT)
        with open(part, "rb") as written:
            os.fsync(written.fileno())
    except DriverError:
        part.unlink(missing_ok=True)
        if not paused_marker(inst).exists():
            _qmp(inst, "cont")  # it runs on as before
        raise
    part.replace(saved_state(inst))
    inst.started_marker.unlink(missing_ok=True)  # its end is no crash
    paused_marker(inst).unlink(missing_ok=True)
    # the migration ended with the disks flushed and let go: nothing is lost by ending it so
    process.kill(pid, inst)
    process.wait_exit_status(inst, 1.0)


def incoming_args(inst: InstanceDir) -> list[str]:
    """What a start adds to restore a suspended guest (nothing for a plain boot)."""
    if not saved_state(inst).exists():
        return []
    return ["-incoming", "defer"]


def finish_restore(inst: InstanceDir) -> None:
    """After a start from the state file: wait until the guest runs on, then drop the file.
    A restore that fails leaves the file for the next try."""
    paused_marker(inst).unlink(missing_ok=True)
    if not saved_state(inst).exists():
        return
    _with_file(inst, saved_state(inst), os.O_RDONLY, "migrate-incoming")
    deadline = time.monotonic() + RESTORE_TIMEOUT
    while time.monotonic() < deadline:
        status = _qmp(inst, "query-status")
        if isinstance(status, dict) and status.get("status") == "running":
            saved_state(inst).unlink(missing_ok=True)
            return
        migration = _qmp(inst, "query-migrate")
        if isinstance(migration, dict) and migration.get("status") == "completed":
            _qmp(inst, "cont")  # saved while stopped: it comes back stopped
            continue
        if process.running_pid(inst) is None:
            raise DriverError(f"qemu of {inst.name} ended while restoring: "
                              f"{process.log_tail(inst)}")
        time.sleep(POLL)
    raise DriverError(f"{inst.name} was not restored in {RESTORE_TIMEOUT:.0f}s")


def _with_file(inst: InstanceDir, path: Path, flags: int, command: str) -> None:
    """Run `command` (migrate or migrate-incoming) on `path` opened here with `flags`."""
    fd = os.open(path, flags, 0o600)
    try:
        qmp.execute_with_fd(_sock(inst), fd, "overcast-state", command,
                            {"uri": "fd:overcast-state"})
    except qmp.QmpFailure as exc:
        raise DriverError(f"{command} of {inst.name} failed: {exc}") from exc
    finally:
        os.close(fd)


def _wait_migration(inst: InstanceDir, wanted: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _qmp(inst, "query-migrate")
        status = info.get("status") if isinstance(info, dict) else None
        if status == wanted:
            return
        if status in ("failed", "cancelled"):
            detail = info.get("error-desc", status) if isinstance(info, dict) else status
            raise DriverError(f"saving {inst.name} failed: {detail}")
        time.sleep(POLL)
    _qmp(inst, "migrate_cancel")
    raise DriverError(f"saving {inst.name} took longer than {timeout:.0f}s")
