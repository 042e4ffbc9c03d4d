"""`overcast host token create NAME`: a one-time join token for a new compute host, printed
once; on that host `overcast agent --controller URL --token T --name NAME` joins with it."""

from __future__ import annotations

import argparse
from datetime import timedelta

from overcast.cli.runtime import add_data_dir, endpoint, open_cloud
from overcast.cloud.compute import HostCredentials


def register(noun: argparse._SubParsersAction) -> None:
    token = noun.add_parser("token", help="join tokens for hosts running `overcast agent`")
    actions = token.add_subparsers(dest="token_action", required=True)
    create = actions.add_parser("create", help="a one-time join token for a host, shown once")
    create.add_argument("name", help="the name the host joins as (`overcast agent --name`)")
    create.add_argument("--expires-in", type=float, default=60.0, metavar="MINUTES",
                        help="minutes the token stays usable (default 60)")
    add_data_dir(create)
    create.set_defaults(func=create_token)


def create_token(args: argparse.Namespace) -> int:
    cloud = open_cloud(args)
    token = HostCredentials(cloud.db).create_token(
        args.name, timedelta(minutes=max(args.expires_in, 0.0)))
    print(token)
    print(f"(one use, for host {args.name}, within {args.expires_in:g} minutes; on that host:\n"
          f"  overcast agent --controller {endpoint(cloud.settings)} --token {token} "
          f"--name {args.name} --data-dir DIR)")
    return 0
