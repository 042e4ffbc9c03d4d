"""Shared CLI plumbing: which cloud a command means, opening it, where `up` listens.

A command means the cloud in --data-dir (or $OVERCAST_DATA_DIR); without either, the one a
running `overcast up` recorded (overcast.cli.pointer); failing that, the default data dir.
Read-only commands open it with `open_existing_cloud`, which creates and migrates nothing
and says exactly what is missing."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from sqlalchemy.exc import ArgumentError, OperationalError

from overcast.cli.pointer import running_ups, stopped_ups
from overcast.cli.preflight import CliError, database_problem
from overcast.cloud.service import Cloud
from overcast.config import ENV_PREFIX, Settings, load_settings


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where the cloud keeps its state (default: "
                        "$OVERCAST_DATA_DIR, else the running `overcast up`'s, else "
                        "~/.local/share/overcast)")


def _named_data_dir(args: argparse.Namespace) -> str | None:
    return getattr(args, "data_dir", None) or os.environ.get(ENV_PREFIX + "DATA_DIR")


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of the cloud a command means (see the module's docstring)."""
    named = _named_data_dir(args)
    if named:
        return load_settings(data_dir=named)
    running = running_ups()
    if len(running) > 1:
        dirs = ", ".join(str(up.data_dir) for up in running)
        raise CliError(f"several clouds are running ({dirs}): say which with --data-dir")
    if running:
        return load_settings(data_dir=str(running[0].data_dir),
                             database_url=running[0].database_url or None)
    return load_settings()


def _missing(settings: Settings) -> str | None:
    """What the data dir lacks to hold a cloud, or None."""
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        return "no such directory"
    if not settings.database_url and not (data_dir / "overcast.db").is_file():
        return "it holds no overcast.db"
    if not (data_dir / "secret.key").is_file():
        return "it holds no secret.key"
    return None


def _no_cloud(settings: Settings, why: str, named: bool) -> CliError:
    data_dir = settings.data_dir
    if named:
        return CliError(f"no cloud in {data_dir}: {why}; start one with overcast up "
                        f"--data-dir {data_dir}")
    stopped = "".join(f" (the one on {up.data_dir} has stopped)" for up in stopped_ups()[-1:])
    return CliError(f"no cloud found: no overcast up is running{stopped}, and the default "
                    f"data dir {data_dir} has none ({why}); start one with overcast up, or "
                    "name one with --data-dir")


def _require_cloud(settings: Settings, named: bool) -> None:
    why = _missing(settings)
    if why:
        raise _no_cloud(settings, why, named)


def open_existing_cloud(args: argparse.Namespace) -> Cloud:
    """The cloud a read-only command looks at: it must exist; nothing is created or migrated."""
    settings = settings_from(args)
    named = bool(_named_data_dir(args))
    _require_cloud(settings, named)
    cloud = Cloud(settings)
    try:
        state = cloud.db.schema_state()
    except (OperationalError, ArgumentError) as exc:
        cloud.db.dispose()
        raise CliError(database_problem(settings.sqlalchemy_url, exc)) from None
    if state == "empty":
        raise _no_cloud(settings, "its database was never set up", named)
    if state != "current":
        raise CliError(f"the database of {settings.data_dir} is not at this overcast's "
                       f"schema: start overcast up --data-dir {settings.data_dir} once to "
                       "migrate it")
    return cloud


def open_cloud(args: argparse.Namespace) -> Cloud:
    """The cloud a command changes, migrated first. A data dir named on the command line is
    set up if new; an implicit one must hold a cloud already."""
    settings = settings_from(args)
    if not _named_data_dir(args):
        _require_cloud(settings, named=False)
    cloud = Cloud(settings)
    try:
        cloud.prepare()
    except (OperationalError, ArgumentError) as exc:
        raise CliError(database_problem(settings.sqlalchemy_url, exc)) from None
    return cloud


def run_file(settings: Settings) -> Path:
    return settings.data_dir / "run.json"


def endpoint(settings: Settings) -> str:
    """The EC2 endpoint of the running cloud (or where it would listen)."""
    listen = settings.listen
    path = run_file(settings)
    if path.exists():
        listen = json.loads(path.read_text()).get("listen", listen)
    return f"http://{listen}"
