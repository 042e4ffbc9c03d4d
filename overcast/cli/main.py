"""The `overcast` command."""

from __future__ import annotations

import argparse
import sys

from overcast.cli import (
    burst,
    credentials,
    hosts,
    image,
    instance_types,
    projects,
    status,
    up,
    users,
)
from overcast.errors import CloudError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="overcast", description="A private cloud on your hosts.")
    sub = top.add_subparsers(dest="command", required=True)
    for module in (up, credentials, projects, status, instance_types, image, users, burst,
                   hosts):
        module.register(sub)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CloudError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
