"""Where a running `overcast up` can be found: while it runs, it leaves a small pointer file
(its data dir, listen address, pid and database URL) in the user's runtime directory, so that
`overcast credentials` and the other commands find it without --data-dir.

    $XDG_RUNTIME_DIR/overcast/up-PID.json      (else $XDG_STATE_HOME or ~/.local/state)

The pointer is removed when `up` stops; one whose process is gone (killed, crashed) is
ignored. Pointers are read without creating anything."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from overcast.config import Settings

log = logging.getLogger("overcast")


@dataclass(frozen=True)
class RunningUp:
    data_dir: Path
    listen: str
    pid: int
    database_url: str = ""


def pointer_dir() -> Path:
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "overcast"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "overcast"


def _path(pid: int) -> Path:
    return pointer_dir() / f"up-{pid}.json"


def leave_pointer(settings: Settings, listen: str) -> Path:
    """Record this process as the running cloud of `settings.data_dir` (private: the database
    URL may hold a password)."""
    path = _path(os.getpid())
    record = {"data_dir": str(settings.data_dir.resolve()), "listen": listen,
              "pid": os.getpid(), "database_url": settings.database_url}
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for gone in (up for up in _recorded() if not _alive(up.pid)):
            _path(gone.pid).unlink(missing_ok=True)  # left by a killed `up`
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
    except OSError as exc:  # the cloud runs anyway; commands then need --data-dir
        log.warning("cannot leave a pointer to this cloud in %s: %s", path.parent, exc)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def _read(path: Path) -> RunningUp | None:
    try:
        record = json.loads(path.read_text())
        return RunningUp(Path(record["data_dir"]), str(record["listen"]), int(record["pid"]),
                         str(record.get("database_url") or ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None  # half-written or not ours: not a pointer


def _recorded() -> list[RunningUp]:
    found = (_read(p) for p in sorted(pointer_dir().glob("up-*.json")))
    return [up for up in found if up is not None]


def _still_serves(up: RunningUp) -> bool:
    """Its process lives and is the one its data dir names (not a reused pid)."""
    if not _alive(up.pid):
        return False
    try:
        return json.loads((up.data_dir / "run.json").read_text()).get("pid") == up.pid
    except (OSError, ValueError):
        return False


def running_ups() -> list[RunningUp]:
    return [up for up in _recorded() if _still_serves(up)]


def stopped_ups() -> list[RunningUp]:
    """Pointers left by an `up` that is gone (killed): hints, never used."""
    return [up for up in _recorded() if not _still_serves(up)]
