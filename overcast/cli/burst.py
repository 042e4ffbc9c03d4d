"""`overcast burst …`: remote EC2-compatible clouds that take instances local hosts cannot."""

from __future__ import annotations

import argparse
import getpass
import os

from overcast.cli.runtime import add_data_dir, open_cloud, open_existing_cloud
from overcast.cloud.compute import KEEP, NewTarget, TargetChange

SECRET_ENV = "OVERCAST_BURST_SECRET_KEY"


def register(sub: argparse._SubParsersAction) -> None:
    noun = sub.add_parser("burst", help="manage burst targets (remote EC2 clouds)")
    actions = noun.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a burst target")
    add.add_argument("name")
    add.add_argument("--endpoint", required=True, help="the remote EC2 endpoint URL")
    add.add_argument("--region", required=True)
    add.add_argument("--access-key", required=True)
    add.add_argument("--secret-key", help=f"(default: ${SECRET_ENV}, else asked for)")
    add.add_argument("--max-instances", type=int)
    add.add_argument("--max-vcpus", type=int)
    add.add_argument("--zone", help="the availability zone users name to ask for it "
                     "(default REGION-burst-NAME)")
    add.set_defaults(func=add_target)
    change = actions.add_parser("set", help="change a target's limits or credentials")
    change.add_argument("name")
    change.add_argument("--max-instances", type=_limit_arg, default=KEEP,
                        help="a number, or 'none' to lift the limit")
    change.add_argument("--max-vcpus", type=_limit_arg, default=KEEP,
                        help="a number, or 'none' to lift the limit")
    change.add_argument("--access-key", help="a new access key (its secret: --secret-key, "
                        f"${SECRET_ENV}, else asked for)")
    change.add_argument("--secret-key")
    change.set_defaults(func=change_target)
    listing = actions.add_parser("list", help="list burst targets")
    listing.set_defaults(func=list_targets)
    remove = actions.add_parser("remove", help="remove a burst target (none may run there)")
    remove.add_argument("name")
    remove.set_defaults(func=remove_target)
    allow = actions.add_parser("allow", help="let a project burst to a target")
    disallow = actions.add_parser("disallow", help="stop a project bursting to a target")
    for parser, func in ((allow, allow_project), (disallow, disallow_project)):
        parser.add_argument("--project", required=True)
        parser.add_argument("name")
        parser.set_defaults(func=func)
    map_image = actions.add_parser("map-image", help="the remote AMI for a local image")
    map_type = actions.add_parser("map-type",
                                  help="the remote instance type for a local one "
                                  "(default: the same name)")
    for parser, func, what in ((map_image, set_image, "image ID"),
                               (map_type, set_type, "instance type")):
        parser.add_argument("name")
        parser.add_argument("local", help=f"the local {what}")
        parser.add_argument("remote", help=f"the remote {what}")
        parser.set_defaults(func=func)
    for parser in (add, change, listing, remove, allow, disallow, map_image, map_type):
        add_data_dir(parser)


def _secret(args: argparse.Namespace) -> str:
    return args.secret_key or os.environ.get(SECRET_ENV) or getpass.getpass("Secret key: ")


def add_target(args: argparse.Namespace) -> int:
    target = open_cloud(args).burst.add(NewTarget(
        name=args.name, endpoint=args.endpoint, region=args.region,
        access_key_id=args.access_key, secret_access_key=_secret(args),
        max_instances=args.max_instances, max_vcpus=args.max_vcpus, zone=args.zone))
    print(f"burst target {target.name} added: {target.endpoint} ({target.region}), "
          f"zone {target.zone}\nNext: `overcast burst allow --project P {target.name}` and "
          f"`overcast burst map-image {target.name} LOCAL-AMI REMOTE-AMI`.")
    return 0


def _limit_arg(text: str) -> int | None:
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number or 'none': {text}") from None


def change_target(args: argparse.Namespace) -> int:
    secret = _secret(args) if args.access_key else None
    target = open_cloud(args).burst.update(args.name, TargetChange(
        max_instances=args.max_instances, max_vcpus=args.max_vcpus,
        access_key_id=args.access_key, secret_access_key=secret))
    print(f"burst target {target.name}: instances {_limit(target.max_instances)}, vCPUs "
          f"{_limit(target.max_vcpus)}, access key {target.access_key_id} (a running cloud "
          "takes the change within seconds)")
    return 0


def _limit(value: int | None) -> str:
    return "-" if value is None else str(value)


def list_targets(args: argparse.Namespace) -> int:
    print(f"{'NAME':<14} {'ZONE':<26} {'REGION':<12} {'INSTANCES':>9} {'VCPUS':>9}  "
          f"{'ENDPOINT':<28} PROJECTS / IMAGES / TYPES")
    for use in open_existing_cloud(args).burst.usage():
        t = use.target
        images = ",".join(f"{k}={v}" for k, v in sorted(use.images.items())) or "-"
        types = ",".join(f"{k}={v}" for k, v in sorted(use.types.items())) or "same names"
        print(f"{t.name:<14} {t.zone:<26} {t.region:<12} "
              f"{use.instances:>4}/{_limit(t.max_instances):<4} "
              f"{use.vcpus:>4}/{_limit(t.max_vcpus):<4}  {t.endpoint:<28} "
              f"{','.join(use.projects) or '-'} / {images} / {types}")
    return 0


def remove_target(args: argparse.Namespace) -> int:
    open_cloud(args).burst.remove(args.name)
    print(f"burst target {args.name} removed")
    return 0


def allow_project(args: argparse.Namespace) -> int:
    open_cloud(args).burst.allow(args.name, args.project)
    print(f"project {args.project} may burst to {args.name}")
    return 0


def disallow_project(args: argparse.Namespace) -> int:
    open_cloud(args).burst.allow(args.name, args.project, allowed=False)
    print(f"project {args.project} may no longer burst to {args.name}")
    return 0


def set_image(args: argparse.Namespace) -> int:
    open_cloud(args).burst.map_image(args.name, args.local, args.remote)
    print(f"{args.name}: image {args.local} runs as {args.remote}")
    return 0


def set_type(args: argparse.Namespace) -> int:
    open_cloud(args).burst.map_type(args.name, args.local, args.remote)
    print(f"{args.name}: instance type {args.local} runs as {args.remote}")
    return 0
