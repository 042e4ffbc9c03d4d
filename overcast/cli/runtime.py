"""Shared CLI plumbing: settings from the common flags, the cloud, where `up` listens."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from overcast.cloud.service import Cloud
from overcast.config import Settings, load_settings


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where the cloud keeps its state "
                        "(default: $OVERCAST_DATA_DIR or ~/.local/share/overcast)")


def settings_from(args: argparse.Namespace, **extra: object) -> Settings:
    return load_settings(data_dir=getattr(args, "data_dir", None), **extra)


def open_cloud(args: argparse.Namespace) -> Cloud:
    cloud = Cloud(settings_from(args))
    cloud.prepare()
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
