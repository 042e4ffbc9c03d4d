"""The `overcast` command."""

from __future__ import annotations

import argparse
import sys

from overcast.cli import (
    agent,
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
from overcast.cli.preflight import CliError
from overcast.config import SettingsError
from overcast.errors import CloudError


def _mark_parsers(parser: argparse.ArgumentParser) -> None:
    """Let every (sub)command's parser be found from the arguments it parsed, so that an
    unknown flag is reported with that subcommand's usage, not the top level's."""
    parser.set_defaults(command_parser=parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _mark_parsers(child)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="overcast", description="A private cloud on your hosts.")
    sub = top.add_subparsers(dest="command", required=True)
    for module in (up, credentials, projects, status, instance_types, image, users, burst,
                   hosts, agent):
        module.register(sub)
    _mark_parsers(top)
    return top


def main(argv: list[str] | None = None) -> int:
    args, unknown = parser().parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return int(args.func(args) or 0)
    except CloudError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except (CliError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
